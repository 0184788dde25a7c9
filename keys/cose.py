"""COSE_Sign1 (RFC 9052): the signed envelope around permits, trust lists and status lists.

Signing always covers the exact protected-header and payload bytes that travel; nothing is
re-serialised before verification. Decoding turns untrusted bytes into a checked `Sign1` or raises
`FormatError`; no exception from the CBOR library escapes. One text per envelope (docs/format.md §3):
tag 18 and deterministic CBOR (keys.cbor), an empty unprotected header, a deterministic protected
header carrying alg and kid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from keys import algorithms, cbor
from keys.algorithms import PrivateKey, PublicKey
from keys.errors import FormatError

# COSE header labels (RFC 9052 section 3.1).
HEADER_ALG = 1
HEADER_KID = 4
HEADER_TYP = 16  # RFC 9596
COSE_SIGN1_TAG = 18
MAX_ENVELOPE = 64 * 1024 * 1024  # status lists of 10M entries stay far below this


def _bstr_head(n: int) -> bytes:
    """The CBOR head of a byte string of length n (major type 2)."""
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x5a" + n.to_bytes(4, "big")
    return b"\x5b" + n.to_bytes(8, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers: ["Signature1", protected, h'', payload]."""
    return b"\x84\x6aSignature1" + _bstr_head(len(protected)) + protected + b"\x40" + _bstr_head(len(payload)) + payload


@dataclass(frozen=True, slots=True)
class Sign1:
    """A decoded COSE_Sign1 whose signature has not been checked yet."""

    protected_raw: bytes
    alg: int
    kid: bytes
    typ: str | None
    payload: bytes
    signature: bytes

    def verify(self, key: PublicKey) -> None:
        """Verify with one candidate key; raises SignatureError."""
        algorithms.verify(key, self.alg, self.signature, sig_structure(self.protected_raw, self.payload))


def sign1(payload: bytes, key: PrivateKey, kid: bytes, typ: str | None = None) -> bytes:
    """Sign payload bytes into a tagged COSE_Sign1, with alg, kid (and typ) in the protected header."""
    header: dict[int, Any] = {HEADER_ALG: algorithms.algorithm_of(key), HEADER_KID: kid}
    if typ is not None:
        header[HEADER_TYP] = typ
    protected = cbor.dumps(header)
    signature = algorithms.sign(key, sig_structure(protected, payload))
    return cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def decode_sign1(data: bytes, max_size: int = MAX_ENVELOPE) -> Sign1:
    """Parse untrusted bytes as a COSE_Sign1: tag 18 around an array of 4, deterministic CBOR with
    nothing after it, and an empty unprotected header (so no byte outside the signature is free)."""
    if not isinstance(data, bytes | bytearray):
        raise FormatError("COSE_Sign1 must be bytes")
    if len(data) > max_size:
        raise FormatError(f"COSE_Sign1 is {len(data)} bytes, more than the {max_size} allowed")
    data = bytes(data)
    parts = _layout(data)
    if parts is None:  # not the one layout: the generic strict decoder says which rule is broken
        obj = cbor.loads(data, "COSE_Sign1", tag=COSE_SIGN1_TAG)
        if type(obj) is not list or len(obj) != 4:
            raise FormatError("COSE_Sign1 must be an array of 4 items")
        if not (type(obj[0]) is bytes and type(obj[2]) is bytes and type(obj[3]) is bytes):
            raise FormatError("COSE_Sign1 protected header, payload and signature must be byte strings")
        raise FormatError("COSE_Sign1 unprotected header must be the empty map")
    protected_raw, payload, signature = parts
    alg, kid, typ = _protected_header(protected_raw)
    return Sign1(protected_raw, alg, kid, typ, payload, signature)


def _bstr(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """The deterministically encoded byte string at `pos` and the position after it, or None."""
    if pos >= len(data):
        return None
    head = data[pos]
    if 0x40 <= head <= 0x57:
        n, pos = head - 0x40, pos + 1
    elif head == 0x58 and pos + 1 < len(data) and data[pos + 1] >= 24:
        n, pos = data[pos + 1], pos + 2
    elif head == 0x59 and pos + 2 < len(data) and data[pos + 1]:
        n, pos = int.from_bytes(data[pos + 1:pos + 3], "big"), pos + 3
    elif head == 0x5A and pos + 4 < len(data) and (data[pos + 1] or data[pos + 2]):
        n, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
    else:
        return None
    end = pos + n
    return (data[pos:end], end) if end <= len(data) else None


def _layout(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The one deterministic layout of our COSE_Sign1 - D2 84 bstr A0 bstr bstr, nothing after -
    read directly (the verify hot path); None for anything else."""
    if data[:2] != b"\xd2\x84":
        return None
    protected = _bstr(data, 2)
    if protected is None or protected[1] >= len(data) or data[protected[1]] != 0xA0:
        return None
    payload = _bstr(data, protected[1] + 1)
    signature = _bstr(data, payload[1]) if payload is not None else None
    if signature is None or signature[1] != len(data):
        return None
    return protected[0], payload[0], signature[0]


_HEADER_CACHE: dict[bytes, tuple[int, bytes, str | None]] = {}
_HEADER_CACHE_MAX = 1024


def _protected_header(protected_raw: bytes) -> tuple[int, bytes, str | None]:
    """alg, kid and typ of a protected header. Every permit from one key carries the same header
    bytes, so parsed headers are kept (a bounded cache keyed by the exact bytes)."""
    cached = _HEADER_CACHE.get(protected_raw)
    if cached is not None:
        return cached
    header = cbor.loads(protected_raw, "protected header")
    if type(header) is not dict:
        raise FormatError("protected header must be a map")
    if set(header) - {HEADER_ALG, HEADER_KID, HEADER_TYP}:
        raise FormatError("protected header may carry only alg, kid and typ")
    alg = header.get(HEADER_ALG)
    kid = header.get(HEADER_KID)
    typ = header.get(HEADER_TYP)
    if type(alg) is not int or alg not in algorithms.ALGORITHMS:
        raise FormatError(f"unsupported or missing algorithm in protected header: {alg!r}")
    if not isinstance(kid, bytes) or not 1 <= len(kid) <= 32:
        raise FormatError("protected header must carry a kid of 1 to 32 bytes")
    if typ is not None and not isinstance(typ, str):
        raise FormatError("typ header must be text")
    if len(_HEADER_CACHE) >= _HEADER_CACHE_MAX:
        _HEADER_CACHE.clear()
    _HEADER_CACHE[protected_raw] = (alg, kid, typ)
    return alg, kid, typ
