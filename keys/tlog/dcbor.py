"""Deterministic CBOR (RFC 8949 §4.2.1) for the few types log leaves use.

Encoded: unsigned integers, byte strings, UTF-8 text, arrays, and maps with unsigned integer keys; always
the shortest head, definite lengths, map keys in bytewise order of their encodings, no duplicate keys.
Decoding accepts exactly one encoding per value: anything else (longer heads, indefinite lengths,
unsorted or repeated keys, other major types, trailing bytes) is refused. So a leaf has one byte string,
and its hash in the log names exactly one act.
"""

from __future__ import annotations

import struct

from keys.errors import LogError, Reason

Value = int | bytes | str | list["Value"] | dict[int, "Value"]
MAX_DEPTH = 8


def _head(major: int, value: int) -> bytes:
    if value < 0 or value > 0xFFFFFFFFFFFFFFFF:
        raise LogError(f"integer {value} cannot be encoded in a leaf", Reason.LOG_MALFORMED)
    if value < 24:
        return bytes([major << 5 | value])
    if value <= 0xFF:
        return bytes([major << 5 | 24, value])
    if value <= 0xFFFF:
        return bytes([major << 5 | 25]) + struct.pack(">H", value)
    if value <= 0xFFFFFFFF:
        return bytes([major << 5 | 26]) + struct.pack(">I", value)
    return bytes([major << 5 | 27]) + struct.pack(">Q", value)


def encode(value: Value) -> bytes:
    if isinstance(value, bool):
        raise LogError("booleans are not used in leaves", Reason.LOG_MALFORMED)
    if isinstance(value, int):
        return _head(0, value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, int) or key < 0:
                raise LogError(f"map key {key!r} is not an unsigned integer", Reason.LOG_MALFORMED)
            items.append((_head(0, key), encode(item)))
        items.sort(key=lambda kv: kv[0])
        return _head(5, len(items)) + b"".join(k + v for k, v in items)
    raise LogError(f"type {type(value).__name__} is not used in leaves", Reason.LOG_MALFORMED)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise LogError("CBOR ends early", Reason.LOG_MALFORMED)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def head(self) -> tuple[int, int]:
        first = self.take(1)[0]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise LogError("indefinite lengths and reserved CBOR heads are refused", Reason.LOG_MALFORMED)
        value = int.from_bytes(self.take(sizes[info]), "big")
        if _head(major, value) != bytes([first]) + value.to_bytes(sizes[info], "big"):
            raise LogError("a CBOR integer or length is not in its shortest form", Reason.LOG_MALFORMED)
        return major, value

    def value(self, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            raise LogError("CBOR nested too deeply", Reason.LOG_MALFORMED)
        major, arg = self.head()
        if major == 0:
            return arg
        if major == 2:
            return self.take(arg)
        if major == 3:
            try:
                return self.take(arg).decode("utf-8")
            except UnicodeDecodeError:
                raise LogError("CBOR text is not valid UTF-8", Reason.LOG_MALFORMED) from None
        if major == 4:
            if arg > len(self.data):
                raise LogError("CBOR array longer than its input", Reason.LOG_MALFORMED)
            return [self.value(depth + 1) for _ in range(arg)]
        if major == 5:
            if arg > len(self.data):
                raise LogError("CBOR map longer than its input", Reason.LOG_MALFORMED)
            out: dict[int, Value] = {}
            previous = b""
            for _ in range(arg):
                start = self.pos
                key = self.value(depth + 1)
                encoded_key = self.data[start:self.pos]
                if not isinstance(key, int):
                    raise LogError("a leaf map key is not an unsigned integer", Reason.LOG_MALFORMED)
                if out and encoded_key <= previous:
                    raise LogError("CBOR map keys are repeated or not in deterministic order", Reason.LOG_MALFORMED)
                previous = encoded_key
                out[key] = self.value(depth + 1)
            return out
        raise LogError(f"CBOR major type {major} is not used in leaves", Reason.LOG_MALFORMED)


def decode(data: bytes) -> Value:
    """The one value in `data`, refusing any non-deterministic encoding and trailing bytes."""
    reader = _Reader(bytes(data))
    value = reader.value()
    if reader.pos != len(reader.data):
        raise LogError("trailing bytes after the CBOR value", Reason.LOG_MALFORMED)
    return value
