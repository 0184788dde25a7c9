"""Status list bit arrays (IETF OAuth Token Status List, draft-ietf-oauth-status-list-18, CWT form).

The CBOR Status List (draft section 4.3) is a map {"bits": 1|2|4|8, "lst": bstr, ? "aggregation_uri": tstr}
where `lst` is the packed byte array compressed with DEFLATE in the ZLIB format (RFC 1951 / RFC 1950).
Entry i takes `bits` bits starting at bit (i * bits) % 8 of byte (i * bits) // 8, counted from the least
significant bit; so with bits = 1, entry 0 is 0x01 of byte 0 and entry 7 is 0x80 of byte 0.
Status values (draft section 7.1): 0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED, 0x03 application-specific.

This module only decodes and looks up; the signed envelope (Status List Token: COSE_Sign1 with typ
"application/statuslist+cwt", claims sub 2, iat 6, exp 4, ttl 65534, status_list 65533) is checked elsewhere.

The input is untrusted: inflating is capped at `max_entries`, so a zlib bomb is refused after producing at most
that much output, and every malformed input raises StatusListError (a ValueError) and nothing else.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

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
