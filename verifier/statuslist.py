"""Status list bit arrays (IETF OAuth Token Status List, CWT form): decode and look up.

A status list is a CBOR map {"bits": 1|2|4|8, "lst": zlib(DEFLATE) of the packed array}. Entry i
lives in byte i*bits // 8, at bit offset (i*bits) % 8 counted from the least significant bit.
Untrusted input: inflating is capped, so a zlib bomb is refused instead of exhausting memory.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

ALLOWED_BITS = (1, 2, 4, 8)
DEFAULT_MAX_ENTRIES = 2**26


class StatusListError(ValueError):
    """The status list is malformed, too large, or the index is outside it."""


@dataclass(frozen=True, slots=True)
class StatusList:
    bits: int
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, idx: int) -> int:
        if not 0 <= idx < self.size:
            raise StatusListError(f"index {idx} is outside the status list of {self.size} entries")
        bit = idx * self.bits
        return (self.data[bit >> 3] >> (bit & 7)) & ((1 << self.bits) - 1)


def decode_status_list(obj: object, max_entries: int = DEFAULT_MAX_ENTRIES) -> StatusList:
    """The already CBOR-decoded map -> StatusList. Raises StatusListError for anything wrong."""
    if not isinstance(obj, dict):
        raise StatusListError("status list must be a map")
    bits, lst = obj.get("bits"), obj.get("lst")
    if type(bits) is not int or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}")
    if not isinstance(lst, bytes):
        raise StatusListError("lst must be a byte string")
    limit = max_entries * bits // 8
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(lst, limit)
    except zlib.error as exc:
        raise StatusListError(f"lst is not valid zlib data: {exc}") from None
    if inflater.unconsumed_tail:
        raise StatusListError(f"status list inflates to more than {max_entries} entries")
    if not inflater.eof:
        raise StatusListError("lst is truncated zlib data")
    if not data:
        raise StatusListError("status list is empty")
    return StatusList(bits, data)
