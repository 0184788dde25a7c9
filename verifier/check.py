"""The one verification entry point: untrusted payload text in, one verdict with one reason out.

Order of checks (the first failure decides): format -> trust list freshness -> key lookup by kid
(the key's own id) -> signature -> key state and window -> the permit's dates ->
revocation status. The validation time is always passed in, never read from a clock here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from keys.errors import PermitError, Reason, SignatureError, StatusError, TrustError
from keys.permit import Permit, decode_claims, parse_text
from keys.trustlist import KeyState, KeyUse, TrustedKey, TrustList
from verifier import i18n


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


# Which verdict each reason gives. Indeterminate: this verifier cannot decide (it needs newer
# software, a newer trust list or fresh status) - never a silent "valid".
VERDICTS: dict[Reason, Verdict] = {
    Reason.VALID: Verdict.VALID,
    Reason.UNSUPPORTED_VERSION: Verdict.INDETERMINATE,
    Reason.UNKNOWN_KEY: Verdict.INDETERMINATE,
    Reason.NO_TRUST_LIST: Verdict.INDETERMINATE,
    Reason.TRUST_LIST_STALE: Verdict.INDETERMINATE,
    Reason.STATUS_STALE: Verdict.INDETERMINATE,
    Reason.STATUS_UNKNOWN: Verdict.INDETERMINATE,
}

# The plain-words message of each reason, in English (the library's default); the catalog holds every
# locale's (verifier/messages/), chosen per caller by verifier.desk.
MESSAGES: dict[Reason, str] = {reason: i18n.text(f"reason.{reason.value}", "en") for reason in Reason}


def verdict_for(reason: Reason) -> Verdict:
    return VERDICTS.get(reason, Verdict.INVALID)


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """What a status source says of one permit: the reason (VALID, REVOKED, ...) and the list's age."""

    reason: Reason
    age: int
    stale: bool = False


class StatusLookup(Protocol):
    """Source of revocation status (cached signed status lists). Raises StatusError when it cannot tell."""

    def status_of(self, permit: Permit, trust: TrustList, at: int) -> StatusAnswer: ...


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one check. `permit` is set only when the signature held."""

    verdict: Verdict
    reason: Reason
    message: str
    detail: str = ""
    permit: Permit | None = None
    kid: bytes | None = None
    checked: tuple[str, ...] = ()
    status_age: int | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self, fields: frozenset[str] | None = None, disclose: bool = True) -> dict[str, Any]:
        """JSON-ready dict; `fields` limits which permit fields are disclosed (None: all); disclose=False gives
        `permit` null."""
        permit = None if self.permit is None or not disclose else self.permit.to_json(fields)
        return {
            "verdict": self.verdict.value,
            "reason": self.reason.value,
            "message": self.message,
            "detail": self.detail,
            "permit": permit,
            "kid": self.kid.hex() if self.kid is not None else None,
            "checked": list(self.checked),
            "status_age": self.status_age,
        }


def _find_signer(trust: TrustList, envelope: Any) -> TrustedKey:
    candidates = trust.candidates(envelope.kid, KeyUse.PERMIT)
    if not candidates:
        raise TrustError(f"no permit key with kid {envelope.kid.hex()} in trust list version {trust.version}")
    why = "signature does not verify"
    for key in candidates:
        try:
            envelope.verify(key.public_key)
        except SignatureError as exc:
            why = exc.message
            continue
        return key
    raise SignatureError(f"{why} (with the key listed under kid {envelope.kid.hex()})")


def check(text: str, trust: TrustList | None, at: int, status: StatusLookup | None = None) -> Result:
    """Verify one untrusted payload at validation time `at` (epoch seconds). Never raises for bad input."""
    checked: list[str] = []
    permit: Permit | None = None
    kid: bytes | None = None
    age: int | None = None
    try:
        envelope = parse_text(text)
        checked.append("format")
        kid = envelope.kid
        if trust is None:
            raise TrustError("no trust list loaded", Reason.NO_TRUST_LIST)
        if at >= trust.expires_at:
            raise TrustError(f"trust list version {trust.version} has expired", Reason.TRUST_LIST_STALE)
        key = _find_signer(trust, envelope)
        checked.append("signature")
        permit = decode_claims(envelope.payload)
        if key.state is KeyState.COMPROMISED:
            raise TrustError("signing key is compromised", Reason.KEY_COMPROMISED)
        if not key.covers(permit.signed_at):
            raise TrustError("permit was signed outside the key's validity window", Reason.KEY_NOT_VALID)
        checked.append("key")
        if at < permit.valid_from:
            raise PermitError("permit is not valid yet", Reason.NOT_YET_VALID)
        if at >= permit.valid_until:
            raise PermitError("permit has expired", Reason.EXPIRED)
        checked.append("validity")
        if status is not None:
            answer = status.status_of(permit, trust, at)
            age = answer.age
            checked.append("status")
            if answer.reason is not Reason.VALID:
                raise StatusError(f"status list says {answer.reason.value}", answer.reason)
    except PermitError as exc:
        return failure(exc, permit, kid, tuple(checked), age)
    return Result(Verdict.VALID, Reason.VALID, MESSAGES[Reason.VALID], "", permit, kid, tuple(checked), age)


def failure(
    exc: PermitError,
    permit: Permit | None = None,
    kid: bytes | None = None,
    checked: tuple[str, ...] = (),
    age: int | None = None,
) -> Result:
    """The result for an error: its reason's verdict, plain words for the clerk, the technical detail."""
    message = MESSAGES.get(exc.reason, exc.message)
    return Result(verdict_for(exc.reason), exc.reason, message, exc.message, permit, kid, checked, age)
