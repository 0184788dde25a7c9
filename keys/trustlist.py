"""The signed trust list: which issuing keys a verifier accepts, for what, and in which window.

A CWT (RFC 8392) in a COSE_Sign1 signed by the root key, which verifiers pin. Claims: iss (1),
iat (6), exp (4), plus the text-keyed claims "version" (monotonic), "status_uri" (template of the
status-list addresses, with "{id}") and "keys". The kid of each entry is only a lookup hint: every
entry carrying a kid is tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keys import algorithms, cbor
from keys.algorithms import PrivateKey, PublicKey
from keys.cose import decode_sign1, sign1
from keys.errors import FormatError, Reason, SignatureError, TrustError
from keys.times import iso

TYP = "application/permit-trust-list+cwt"
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT = 1, 4, 6
MAX_TRUST_LIST = 1024 * 1024
MAX_KEYS = 10_000


class KeyState(StrEnum):
    ACTIVE = "active"  # signs now
    RETIRED = "retired"  # signs no more; what it signed within its window still verifies
    COMPROMISED = "compromised"  # nothing it ever signed is accepted


class KeyUse(StrEnum):
    PERMIT = "permit"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One issuing key as the trust list states it. The window bounds the dates it may sign for."""

    kid: bytes
    alg: int
    use: KeyUse
    spki: bytes
    not_before: int
    not_after: int | None
    state: KeyState

    @property
    def public_key(self) -> PublicKey:
        return algorithms.load_public_key(self.spki)

    def covers(self, when: int) -> bool:
        """Whether `when` (epoch seconds) falls inside the key's signing window [nbf, exp]: the end is
        the last second the key signed, so a card signed in the second of a rotation stays valid."""
        return self.not_before <= when and (self.not_after is None or when <= self.not_after)

    def describe(self) -> dict[str, Any]:
        """The key as the commands print it (registry keys list, verifier trust show): one JSON shape."""
        return {
            "kid": self.kid.hex(),
            "algorithm": algorithms.ALGORITHMS[self.alg],
            "use": self.use.value,
            "state": self.state.value,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "public_key_pem": algorithms.public_pem(self.public_key),
        }

    def to_cbor(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kid": self.kid,
            "alg": self.alg,
            "use": self.use.value,
            "key": self.spki,
            "nbf": self.not_before,
            "state": self.state.value,
        }
        if self.not_after is not None:
            entry["exp"] = self.not_after
        return entry

    @classmethod
    def from_cbor(cls, entry: object) -> TrustedKey:
        if type(entry) is not dict:
            raise FormatError("trust list key entry must be a map")
        if not _ENTRY_REQUIRED <= entry.keys() <= _ENTRY_KEYS:
            raise FormatError(f"trust list key entry must hold {sorted(_ENTRY_REQUIRED)} and may hold 'exp'")
        try:
            kid, alg, spki, nbf, exp = entry["kid"], entry["alg"], entry["key"], entry["nbf"], entry.get("exp")
            if not (isinstance(entry["use"], str) and isinstance(entry["state"], str) and _is_int(alg)):
                raise ValueError("use and state must be text, alg an integer")
            use, state = KeyUse(entry["use"]), KeyState(entry["state"])
        except (KeyError, ValueError, TypeError) as exc:
            raise FormatError(f"trust list key entry is incomplete or has a bad value: {exc!r}") from None
        if not isinstance(kid, bytes) or not isinstance(spki, bytes) or alg not in algorithms.ALGORITHMS:
            raise FormatError("trust list key entry has a bad kid, key or algorithm")
        if not _is_int(nbf) or not (exp is None or _is_int(exp)):
            raise FormatError("trust list key window must be integers")
        key = algorithms.load_public_key(spki)
        if algorithms.algorithm_of(key) != alg:
            raise FormatError("trust list key entry: algorithm does not match the key")
        if kid != algorithms.key_id(key):
            raise FormatError(f"trust list key entry: kid {kid.hex()} is not the key's own id (SHA-256 of its key)")
        return cls(kid, alg, use, spki, nbf, exp, state)


def _is_int(value: object) -> bool:
    return type(value) is int


_ENTRY_KEYS = {"kid", "alg", "use", "key", "nbf", "state", "exp"}
_ENTRY_REQUIRED = _ENTRY_KEYS - {"exp"}
_CLAIM_KEYS = {CLAIM_ISS, CLAIM_IAT, CLAIM_EXP, "version", "status_uri", "keys"}


@dataclass(frozen=True)
class TrustList:
    """A verified trust list. Build one with `parse_trust_list` (after the signature check) only."""

    version: int
    issuer: str
    issued_at: int
    expires_at: int
    status_uri: str
    keys: tuple[TrustedKey, ...]
    raw: bytes = field(repr=False)
    _index: dict[tuple[bytes, KeyUse], tuple[TrustedKey, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[bytes, KeyUse], list[TrustedKey]] = {}
        for key in self.keys:
            if (key.kid, key.use) in index:
                raise FormatError(f"trust list lists key {key.kid.hex()} twice for {key.use.value}")
            index.setdefault((key.kid, key.use), []).append(key)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    def candidates(self, kid: bytes, use: KeyUse) -> tuple[TrustedKey, ...]:
        """The key listed under this kid for this use, if any (a kid is its key's own id, and a key is
        listed at most once per use)."""
        return self._index.get((kid, use), ())

    def status_uri_for(self, list_id: int) -> str:
        return self.status_uri.replace("{id}", str(list_id))


def build_trust_list(
    *,
    version: int,
    issuer: str,
    issued_at: int,
    expires_at: int,
    status_uri: str,
    keys: list[TrustedKey],
    root_key: PrivateKey,
) -> bytes:
    """Sign a trust list with the root key."""
    if "{id}" not in status_uri:
        raise FormatError("status_uri must contain the placeholder {id}")
    claims = {
        CLAIM_ISS: issuer,
        CLAIM_IAT: issued_at,
        CLAIM_EXP: expires_at,
        "version": version,
        "status_uri": status_uri,
        "keys": [k.to_cbor() for k in keys],
    }
    root_kid = algorithms.key_id(root_key.public_key())
    return sign1(cbor.dumps(claims), root_key, root_kid, typ=TYP)


def parse_trust_list(payload: bytes, raw: bytes) -> TrustList:
    """Turn a signed trust list's payload into the model; raises FormatError."""
    claims = cbor.loads(payload, "trust list")
    if type(claims) is not dict:
        raise FormatError("trust list payload must be a map")
    if claims.keys() != _CLAIM_KEYS:
        raise FormatError(f"trust list claims must be exactly {sorted(map(str, _CLAIM_KEYS))}")
    version, issuer = claims.get("version"), claims.get(CLAIM_ISS)
    iat, exp = claims.get(CLAIM_IAT), claims.get(CLAIM_EXP)
    status_uri, keys = claims.get("status_uri"), claims.get("keys")
    if not (_is_int(version) and version >= 0 and _is_int(iat) and _is_int(exp)):
        raise FormatError("trust list version, iat and exp must be non-negative integers")
    if not isinstance(issuer, str) or not isinstance(status_uri, str) or "{id}" not in status_uri:
        raise FormatError("trust list needs an issuer and a status_uri with {id}")
    if type(keys) is not list or len(keys) > MAX_KEYS:
        raise FormatError("trust list keys must be an array")
    return TrustList(version, issuer, iat, exp, status_uri, tuple(TrustedKey.from_cbor(k) for k in keys), raw)


def verify_trust_list(data: bytes, root: PublicKey, at: int, current: TrustList | None = None) -> TrustList:
    """Accept a trust list only if the pinned root signed it, it has not expired at `at`, and it is not
    older than the list already held (no rollback). Each refusal is a TrustError with its own reason."""
    try:
        envelope = decode_sign1(data, MAX_TRUST_LIST)
        if envelope.typ != TYP:
            raise FormatError(f"not a trust list (typ {envelope.typ!r})")
        if envelope.kid != algorithms.key_id(root):
            raise SignatureError(f"trust list names signing key {envelope.kid.hex()}, not the pinned one")
        envelope.verify(root)
    except SignatureError:
        raise TrustError("trust list is not signed by the pinned root key", Reason.TRUST_LIST_BAD_SIGNATURE) from None
    except FormatError as exc:
        raise TrustError(f"trust list is malformed: {exc.message}", Reason.TRUST_LIST_INVALID) from None
    try:
        trust = parse_trust_list(envelope.payload, bytes(data))
    except FormatError as exc:
        raise TrustError(f"trust list is malformed: {exc.message}", Reason.TRUST_LIST_INVALID) from None
    if at >= trust.expires_at:
        raise TrustError(f"trust list version {trust.version} expired", Reason.TRUST_LIST_EXPIRED)
    if current is not None:
        if trust.version < current.version:
            raise TrustError(
                f"trust list version {trust.version} is older than the version {current.version} already held",
                Reason.TRUST_LIST_ROLLBACK,
            )
        if trust.version == current.version and trust.raw != current.raw:
            raise TrustError(
                f"trust list version {trust.version} differs from the list of the same version already held",
                Reason.TRUST_LIST_ROLLBACK,
            )
    return trust
