"""Signed status lists (IETF OAuth Token Status List, CWT form) and the status answer for a permit.

A Status List Token is a COSE_Sign1 with typ "application/statuslist+cwt", signed by a key the trust
list gives the use "status", whose claims are: sub (2) = the list's URI, iat (6), exp (4), ttl
(65534) and status_list (65533) = {"bits": 2, "lst": zlib(packed entries)}. Entry values: 0 valid,
1 invalid (revoked, surrendered, deceased), 2 suspended, 3 superseded by a newer card.

Freshness: a list's age is the time since the newest TUF timestamp that vouched for it (`vouched_at`,
set by the cache from the last sync; the list's own iat only for a list added by hand). Within ttl (or
the caller's allowance) the list's word stands; past it a "valid" entry is reported STATUS_STALE, and so
is every "valid" entry once that timestamp itself has expired (a frozen source). Past the list's exp,
or with no list, the status is STATUS_UNKNOWN. A revocation seen in a stale list is still reported:
staleness never turns a "no" into a "yes".

A status key vouches only for lists dated inside its window: a retired key's signature on a list
issued after its window closed is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys import cbor
from keys.cose import decode_sign1
from keys.errors import FormatError, Reason, SignatureError, StatusError
from keys.trustlist import KeyState, KeyUse, TrustList
from verifier.check import StatusAnswer
from verifier.permit import Permit
from verifier.statuslist import StatusList, StatusListError, decode_status_list

TYP = "application/statuslist+cwt"
CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_TTL, CLAIM_STATUS_LIST = 2, 4, 6, 65534, 65533
_CLAIM_KEYS = {CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_TTL, CLAIM_STATUS_LIST}
MAX_STATUS_TOKEN = 64 * 1024 * 1024
VALUE_REASONS = (Reason.VALID, Reason.REVOKED, Reason.SUSPENDED, Reason.SUPERSEDED)


@dataclass(frozen=True)
class SignedStatusList:
    """A status list whose signature and URI were checked against a trust list."""

    list_id: int
    uri: str
    issued_at: int
    expires_at: int
    ttl: int
    entries: StatusList
    raw: bytes
    vouched_at: int | None = None  # issued time of the newest TUF timestamp that vouched for this list
    vouch_expires: int | None = None  # when that timestamp expires


def verify_status_list(data: bytes, trust: TrustList, list_id: int) -> SignedStatusList:
    """Check a Status List Token: a status key of the trust list signed it, and it is the list the
    trust list's URI template names for `list_id`. Raises StatusError (STATUS_UNKNOWN) saying why."""
    try:
        envelope = decode_sign1(data, MAX_STATUS_TOKEN)
        if envelope.typ != TYP:
            raise FormatError(f"not a status list token (typ {envelope.typ!r})")
        signer = None
        for key in trust.candidates(envelope.kid, KeyUse.STATUS):
            try:
                envelope.verify(key.public_key)
            except SignatureError:
                continue
            signer = key
            break
        if signer is None:
            raise SignatureError("no status key of the trust list signed this status list")
        if signer.state is KeyState.COMPROMISED:
            raise SignatureError("the status list was signed by a compromised key")
        claims = cbor.loads(envelope.payload, "status list claims")
        if type(claims) is not dict:
            raise FormatError("status list claims must be a map")
        if claims.keys() != _CLAIM_KEYS:
            raise FormatError(f"status list claims must be exactly {sorted(_CLAIM_KEYS)}")
        sub, iat, exp, ttl = claims.get(CLAIM_SUB), claims.get(CLAIM_IAT), claims.get(CLAIM_EXP), claims.get(CLAIM_TTL)
        if not all(type(v) is int and v >= 0 for v in (iat, exp, ttl)):
            raise FormatError("status list iat, exp and ttl must be non-negative integers")
        if not signer.covers(iat):  # type: ignore[arg-type]
            raise SignatureError(f"the status list is dated {iat}, outside the window of its {signer.state.value} "
                                 "key: a retired key vouches only for what it signed while in force")
        expected = trust.status_uri_for(list_id)
        if sub != expected:
            raise FormatError(f"status list is for {sub!r}, not {expected!r}")
        entries = decode_status_list(claims.get(CLAIM_STATUS_LIST))
        if entries.bits != 2:
            raise FormatError("permit status lists use 2 bits per entry")
    except (FormatError, SignatureError, StatusListError) as exc:
        detail = exc.message if isinstance(exc, FormatError | SignatureError) else str(exc)
        raise StatusError(f"status list {list_id} refused: {detail}", Reason.STATUS_UNKNOWN) from None
    return SignedStatusList(list_id, expected, iat, exp, ttl, entries, bytes(data))  # type: ignore[arg-type]


class CachedStatus:
    """The status of permits from status lists held in memory (see verifier.cache for loading)."""

    def __init__(self, lists: dict[int, SignedStatusList], max_age: int | None = None) -> None:
        self.lists = lists
        self.max_age = max_age

    def status_of(self, permit: Permit, trust: TrustList, at: int) -> StatusAnswer:
        held = self.lists.get(permit.status_list)
        if held is None:
            raise StatusError(f"no status list {permit.status_list} held; sync the verifier")
        if at >= held.expires_at:
            raise StatusError(f"status list {permit.status_list} expired; sync the verifier")
        age = max(0, at - (held.issued_at if held.vouched_at is None else held.vouched_at))
        try:
            value = held.entries.get(permit.status_index)
        except StatusListError as exc:  # the draft: a reference outside the list MUST be rejected
            raise StatusError(str(exc), Reason.STATUS_INDEX_INVALID) from None
        reason = VALUE_REASONS[value]
        if reason is Reason.VALID and held.vouch_expires is not None and at >= held.vouch_expires:
            raise StatusError(f"the timestamp that last vouched for status list {permit.status_list} expired "
                              f"{at - held.vouch_expires} s ago: the source has stopped moving (a frozen mirror?) "
                              "or this verifier has not synced; sync from a live source", Reason.STATUS_STALE)
        allowed = held.ttl if self.max_age is None else self.max_age
        if reason is Reason.VALID and age > allowed:
            return StatusAnswer(Reason.STATUS_STALE, age, stale=True)
        return StatusAnswer(reason, age, stale=age > allowed)
