"""Status lists, both sides: the bit array (IETF OAuth Token Status List, draft-18, CWT form), the signed
Status List Token that carries it, and the status values. The office encodes with these functions and
every verifier decodes with them, so the format and the values cannot drift (docs/format.md §5).

The CBOR Status List (draft section 4.3) is a map {"bits": 1|2|4|8, "lst": bstr, ? "aggregation_uri": tstr}
where `lst` is the packed byte array compressed with DEFLATE in the ZLIB format (RFC 1951 / RFC 1950).
Entry i takes `bits` bits starting at bit (i * bits) % 8 of byte (i * bits) // 8, counted from the least
significant bit; so with bits = 1, entry 0 is 0x01 of byte 0 and entry 7 is 0x80 of byte 0.

A Status List Token is a COSE_Sign1 with typ "application/statuslist+cwt", signed by a key the trust
list gives the use "status", whose claims are exactly: sub (2) = the list's URI, iat (6), exp (4), ttl
(65534) and status_list (65533) = {"bits": 2, "lst": zlib(packed entries)}. A status key vouches only
for lists dated inside its window: a retired key's signature on a list issued after its window closed
is refused.

The input is untrusted: inflating is capped at `max_entries`, so a zlib bomb is refused after producing at
most that much output; every malformed list raises StatusListError (a ValueError), and a refused token
StatusError (STATUS_UNKNOWN for the permits that point at it).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import IntEnum

from keys import algorithms, cbor
from keys.algorithms import PrivateKey
from keys.cose import decode_sign1, sign1
from keys.errors import FormatError, Reason, SignatureError, StatusError
from keys.trustlist import KeyState, KeyUse, TrustList


class StatusValue(IntEnum):
    """The 2-bit value of a card's entry (draft section 7.1; 3 is ours, as the draft allows)."""

    VALID = 0
    INVALID = 1  # revoked, surrendered, the holder died
    SUSPENDED = 2
    SUPERSEDED = 3  # a newer card of the same permit exists


TYP = "application/statuslist+cwt"
CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_TTL, CLAIM_STATUS_LIST = 2, 4, 6, 65534, 65533
_CLAIM_KEYS = {CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_TTL, CLAIM_STATUS_LIST}
MAX_STATUS_TOKEN = 64 * 1024 * 1024
ALLOWED_BITS = (1, 2, 4, 8)
DEFAULT_MAX_ENTRIES = 2**26
_MAX_ENTRIES_LIMIT = 2**40  # a sanity bound on the caller's cap itself (2**40 8-bit entries is 1 TiB)


class StatusListError(ValueError):
    """The status list is malformed, too large, or the index is outside it."""


@dataclass(frozen=True, slots=True)
class StatusList:
    """An inflated status list: `bits` per entry, the packed bytes `data`, and `size` entries."""

    bits: int
    data: bytes
    aggregation_uri: str | None = None
    size: int = field(init=False, compare=False)
    _mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.bits) is not int or self.bits not in ALLOWED_BITS:
            raise StatusListError(f"bits must be one of {ALLOWED_BITS}, not {self.bits!r}")
        if isinstance(self.data, bytearray | memoryview):
            object.__setattr__(self, "data", bytes(self.data))
        if not isinstance(self.data, bytes):
            raise StatusListError("status list data must be bytes")
        if self.aggregation_uri is not None and not isinstance(self.aggregation_uri, str):
            raise StatusListError("aggregation_uri must be a text string")
        object.__setattr__(self, "size", len(self.data) * 8 // self.bits)
        object.__setattr__(self, "_mask", (1 << self.bits) - 1)

    def get(self, idx: int) -> int:
        """The status value of entry `idx`; StatusListError if `idx` is not an index of this list."""
        if type(idx) is not int or not 0 <= idx < self.size:
            raise StatusListError(f"index {idx!r} is outside the status list of {self.size} entries")
        bit = idx * self.bits
        return (self.data[bit >> 3] >> (bit & 7)) & self._mask


def decode_status_list(obj: object, max_entries: int = DEFAULT_MAX_ENTRIES) -> StatusList:
    """The already CBOR-decoded Status List map -> StatusList. Raises StatusListError for anything wrong,
    including a list that would inflate to more than `max_entries` entries."""
    if type(max_entries) is not int or not 0 < max_entries <= _MAX_ENTRIES_LIMIT:
        raise StatusListError(f"max_entries must be an integer from 1 to {_MAX_ENTRIES_LIMIT}")
    if type(obj) is not dict:
        raise StatusListError(f"status list must be a map, not {type(obj).__name__}")
    if not {"bits", "lst"} <= obj.keys() <= {"bits", "lst", "aggregation_uri"}:
        raise StatusListError("status list must hold bits and lst, and may hold aggregation_uri, nothing else")
    bits, lst, uri = obj.get("bits"), obj.get("lst"), obj.get("aggregation_uri")
    if type(bits) is not int or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}, not {bits!r}")
    if type(lst) is not bytes:
        raise StatusListError(f"lst must be a byte string, not {type(lst).__name__}")
    if uri is not None and type(uri) is not str:
        raise StatusListError("aggregation_uri must be a text string")

    limit = max_entries * bits // 8  # whole bytes only, so the list never holds more than max_entries entries
    inflater = zlib.decompressobj()  # zlib (RFC 1950) wrapper required: raw DEFLATE or gzip is refused
    try:
        # One byte past the cap tells "exactly at the cap" from "more to come" without inflating further.
        data = inflater.decompress(lst, limit + 1)
    except (zlib.error, OverflowError, MemoryError) as exc:
        raise StatusListError(f"lst is not valid zlib data: {exc}") from None
    if len(data) > limit:
        raise StatusListError(f"status list inflates to more than {max_entries} entries of {bits} bits")
    if not inflater.eof:
        raise StatusListError("lst is truncated zlib data")
    if inflater.unused_data:
        raise StatusListError(f"lst has {len(inflater.unused_data)} bytes after the end of the zlib stream")
    if not data:
        raise StatusListError("status list is empty")
    return StatusList(bits, data, uri)


# ---- the encode side (the office) ----------------------------------------------------------------------------

def pack_entries(size: int, entries: list[tuple[int, int]]) -> bytearray:
    """A 2-bit status array of `size` entries with the given (index, value) pairs set (others 0).
    Index i lives in byte i // 4 at bit (i % 4) * 2, least significant first."""
    raw = bytearray(size // 4)
    for idx, value in entries:
        raw[idx >> 2] |= value << ((idx & 3) << 1)
    return raw


def status_token(uri: str, raw: bytes | bytearray, now: int, ttl: int, expires_at: int, key: PrivateKey) -> bytes:
    """Sign a Status List Token (CWT) over a packed 2-bit array."""
    claims = {
        CLAIM_SUB: uri,
        CLAIM_IAT: now,
        CLAIM_EXP: expires_at,
        CLAIM_TTL: ttl,
        CLAIM_STATUS_LIST: {"bits": 2, "lst": zlib.compress(bytes(raw), 9)},
    }
    return sign1(cbor.dumps(claims), key, algorithms.key_id(key.public_key()), typ=TYP)


# ---- the signed token, decode side -----------------------------------------------------------------------------

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
