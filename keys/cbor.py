"""Deterministic CBOR (RFC 8949 §4.2.1): the one encoder and the one strict decoder of every signed
structure (permit claims, COSE headers and envelope, trust list, status list).

One text per value: map keys in the bytewise order of their encodings, no duplicate keys, the shortest
head for every integer and length, definite lengths only, no floating-point or undefined values, no
tags except the one a caller names at the top, and nothing after the item. `loads` refuses anything
else with a `FormatError` that names the rule broken, so a verifier in another language reaches the
same verdict on every input.

Decoded values are plain `dict`, `list`, `int`, `bytes`, `str`, `bool` and `None` whatever the cbor2
version (cbor2 6 returns immutable maps and tuples inside tags; 5 returns dicts and lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cbor2

from keys.errors import FormatError

MAX_DEPTH = 16  # our structures nest at most 4 deep; deeper input is refused before it is walked


def dumps(value: Any) -> bytes:
    """The deterministic encoding of a value built from dict, list/tuple, int, bytes, str, bool, None and
    a top-level cbor2.CBORTag."""
    return cbor2.dumps(_canonical(value, 0, allow_tag=True))


def loads(data: bytes, what: str, tag: int | None = None) -> Any:
    """Decode untrusted bytes that must be the deterministic encoding of one item (tagged `tag` at the
    top if given; the tag is removed). Raises FormatError naming `what` and the rule broken."""
    try:
        # cbor2's C code does the heavy part: re-encoding the decoded value (which keeps the map order
        # read) gives back the input only if every head is minimal, every length definite, no key
        # repeated and nothing trails. _plain then checks each map's key order and the types.
        value = cbor2.loads(data)
        if cbor2.dumps(value) == data:
            if tag is None:
                return _plain(value, 0)
            if type(value) is cbor2.CBORTag and value.tag == tag:
                return _plain(value.value, 1)
    except Exception:  # cbor2's errors, RecursionError, MemoryError, ours: the scan below names the rule
        pass
    rule = first_violation(data, tag)
    raise FormatError(f"{what} is not deterministic CBOR: {rule}")


def loads_checked_by_caller(data: bytes, what: str) -> Any:
    """The verify hot path's decoder, for a caller that itself checks the exact sequence of keys of
    every map and the exact type of every item (permit claims): only the byte-level rules - minimal
    heads, definite lengths, no repeated key, nothing after - are checked here, by re-encoding."""
    try:
        value = cbor2.loads(data)
        if cbor2.dumps(value) == data:
            return value
    except Exception:  # cbor2's errors, RecursionError, MemoryError: the scan below names the rule
        pass
    raise FormatError(f"{what} is not deterministic CBOR: {first_violation(data)}")


_SCALARS = frozenset((int, bytes, str, bool, type(None)))


def _order_key(key: Any) -> tuple:
    """Where a map key's encoding sorts bytewise (RFC 8949 §4.2.1): unsigned integers ascending, then
    negative ones by -1 - key, then text by encoded length and bytes. Other key types are refused."""
    kind = type(key)
    if kind is int:
        return (0, key) if key >= 0 else (1, -1 - key)
    if kind is str:
        encoded = key.encode()
        return (3, len(encoded), encoded)
    raise FormatError("map keys must be integers or text strings")


def _keys_in_order(keys: list) -> bool:
    # the common case: unsigned integer keys only (exactly int: a boolean key `true` equals 1 in Python but
    # is another CBOR item, so it must reach _order_key below and be refused)
    if all(type(k) is int for k in keys) and keys[0] >= 0 and keys == sorted(keys):
        return True
    order = [_order_key(k) for k in keys]
    return order == sorted(order)


def _plain(value: Any, depth: int) -> Any:
    """A value decoded by cbor2, as plain dicts, lists and scalars (cbor2 6 gives immutable maps and
    tuples inside tags; the decoded object is ours, so plain containers are fixed in place). Refuses
    map keys out of bytewise order and what our structures never hold: floats, undefined, tags below
    the top, keys other than integers and text."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if depth > MAX_DEPTH:
        raise FormatError(f"nested more than {MAX_DEPTH} deep")
    if kind is list or kind is tuple:
        items = value if kind is list else list(value)
        for i, item in enumerate(items):
            if type(item) not in _SCALARS:
                items[i] = _plain(item, depth + 1)
        return items
    if kind is not dict and not isinstance(value, Mapping):
        raise FormatError(f"a value of type {kind.__name__} is not allowed")
    mapping = value if kind is dict else dict(value)
    if mapping and not _keys_in_order(list(mapping)):
        raise FormatError("map keys not in deterministic order")
    for key, item in mapping.items():
        if type(item) not in _SCALARS:
            mapping[key] = _plain(item, depth + 1)
    return mapping


def _canonical(value: Any, depth: int, allow_tag: bool = False) -> Any:
    """The value with plain containers and map keys in deterministic order (for encoding)."""
    if depth > MAX_DEPTH:
        raise FormatError(f"nested more than {MAX_DEPTH} deep")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, Mapping):
        keys = list(value)
        if keys and not _keys_in_order(keys):
            keys.sort(key=_order_key)
        return {k: (v if type(v) in _SCALARS else _canonical(v, depth + 1)) for k in keys for v in (value[k],)}
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else _canonical(v, depth + 1) for v in value]
    if kind is cbor2.CBORTag and allow_tag and depth == 0:
        return cbor2.CBORTag(value.tag, _canonical(value.value, depth + 1))
    raise FormatError(f"a value of type {kind.__name__} is not allowed")


# The slow path: only for input already refused, to say which rule it breaks.

_MIN_FOR_WIDTH = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}
_WIDTH = {24: 1, 25: 2, 26: 4, 27: 8}


class _Violation(Exception):
    pass


def first_violation(data: bytes, tag: int | None = None) -> str:
    """The first deterministic-encoding rule `data` breaks, in words (with the byte offset)."""
    if not isinstance(data, bytes | bytearray):
        return "input is not bytes"
    if not data:
        return "no data"
    try:
        end = _scan(bytes(data), 0, 0, tag)
    except _Violation as exc:
        return str(exc)
    except RecursionError:
        return f"nested more than {MAX_DEPTH} deep"
    if end != len(data):
        return f"{len(data) - end} bytes after the end of the item (at byte {end})"
    if tag is not None and data[0] >> 5 != 6:
        return f"the item must be tagged {tag}"
    return "not the deterministic encoding of its value"


def _head(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(major type, additional info, argument, position after the head)."""
    if pos >= len(data):
        raise _Violation(f"truncated at byte {pos}")
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        return major, info, info, pos + 1
    if info == 31:
        if major == 7:
            raise _Violation(f"unexpected break code at byte {pos}")
        if major in (0, 1, 6):
            raise _Violation(f"reserved encoding at byte {pos}")
        raise _Violation(f"indefinite-length item at byte {pos}")
    if info > 27:
        raise _Violation(f"reserved additional information {info} at byte {pos}")
    width = _WIDTH[info]
    if pos + 1 + width > len(data):
        raise _Violation(f"truncated at byte {pos}")
    argument = int.from_bytes(data[pos + 1:pos + 1 + width], "big")
    if major != 7 and argument < _MIN_FOR_WIDTH[info]:
        raise _Violation(f"non-minimal head (argument {argument} in {width} bytes) at byte {pos}")
    return major, info, argument, pos + 1 + width


def _scan(data: bytes, pos: int, depth: int, top_tag: int | None) -> int:
    """Check one item at `pos`; return the position after it."""
    if depth > MAX_DEPTH:
        raise _Violation(f"nested more than {MAX_DEPTH} deep")
    start = pos
    major, info, argument, pos = _head(data, pos)
    if major in (0, 1):
        return pos
    if major in (2, 3):
        if pos + argument > len(data):
            raise _Violation(f"truncated string at byte {start}")
        if major == 3:
            try:
                data[pos:pos + argument].decode("utf-8")
            except UnicodeDecodeError:
                raise _Violation(f"text string is not valid UTF-8 at byte {start}") from None
        return pos + argument
    if major == 4:
        for _ in range(argument):
            pos = _scan(data, pos, depth + 1, None)
        return pos
    if major == 5:
        previous: bytes | None = None
        for _ in range(argument):
            key_start = pos
            if pos < len(data) and data[pos] >> 5 not in (0, 1, 3):
                raise _Violation(f"map key at byte {key_start} is not an integer or a text string")
            pos = _scan(data, pos, depth + 1, None)
            key = data[key_start:pos]
            if previous is not None and key == previous:
                raise _Violation(f"duplicate map key at byte {key_start}")
            if previous is not None and key < previous:
                raise _Violation(f"map keys not in deterministic order at byte {key_start}")
            previous = key
            pos = _scan(data, pos, depth + 1, None)
        return pos
    if major == 6:
        if depth != 0 or argument != top_tag:
            expected = f"; only tag {top_tag} at the top" if top_tag is not None else ""
            raise _Violation(f"tag {argument} not allowed at byte {start}{expected}")
        return _scan(data, pos, depth + 1, None)
    if info in (20, 21, 22):  # false, true, null
        return pos
    if info in (25, 26, 27):
        raise _Violation(f"floating-point value at byte {start}")
    raise _Violation(f"simple value {argument} not allowed at byte {start}")
