"""Byte-level variants of a genuine signed permit, one per strictness rule of docs/format.md §3-§4.

Each takes the QR text of a real permit (and, where the variant must carry a valid signature over a
non-deterministic payload, the signing key) and returns the variant's QR text. Used by the
conformance-kit generator and by the tests that try each malleation against the verifier.
"""

from __future__ import annotations

import cbor2

from keys import algorithms, base45, cbor
from keys.algorithms import ES256, P256_ORDER, PrivateKey
from keys.cose import COSE_SIGN1_TAG, decode_sign1, sig_structure, sign1
from keys.permit import CLAIM_ISS, CLAIM_PERMIT, P_SURNAME, PREFIX


def cose_of(text: str) -> bytes:
    return base45.decode(text[len(PREFIX):])


def text_of(cose: bytes) -> str:
    return PREFIX + base45.encode(cose)


def _parts(text: str) -> list:
    envelope = decode_sign1(cose_of(text))
    return [envelope.protected_raw, {}, envelope.payload, envelope.signature]


def _array_body(parts: list) -> bytes:
    """The four items of the COSE array, each deterministically encoded, without the array head."""
    return b"".join(cbor.dumps(part) for part in parts)


def high_s(text: str) -> str:
    """ES256: s replaced by n - s. The signature still verifies mathematically."""
    parts = _parts(text)
    signature = parts[3]
    s = int.from_bytes(signature[32:], "big")
    parts[3] = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    return text_of(cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, parts)))


def trailing_bytes(text: str, extra: bytes = b"\x00") -> str:
    return text_of(cose_of(text) + extra)


def second_cose_appended(text: str) -> str:
    return text_of(cose_of(text) * 2)


def unprotected_header(text: str) -> str:
    """The unprotected header carries the kid again (outside the signature)."""
    parts = _parts(text)
    parts[1] = {4: decode_sign1(cose_of(text)).kid}
    return text_of(cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, parts)))


def indefinite_array(text: str) -> str:
    """The outer array as an indefinite-length array (0x9f ... 0xff)."""
    return text_of(b"\xd2\x9f" + _array_body(_parts(text)) + b"\xff")


def non_minimal_head(text: str) -> str:
    """The protected header's byte-string length written in a one-byte argument it does not need."""
    parts = _parts(text)
    protected = parts[0]
    assert len(protected) < 24
    body = bytes((0x58, len(protected))) + protected + _array_body(parts[1:])
    return text_of(b"\xd2\x84" + body)


def untagged(text: str) -> str:
    return text_of(cose_of(text)[1:])


def self_described(text: str) -> str:
    """Wrapped in the self-describe tag 55799."""
    return text_of(b"\xd9\xd9\xf7" + cose_of(text))


def _resign(text: str, payload: bytes, key: PrivateKey) -> str:
    return text_of(sign1(payload, key, algorithms.key_id(key.public_key())))


def _claims(text: str) -> dict:
    return cbor.loads(decode_sign1(cose_of(text)).payload, "permit claims")


def _map(pairs: list[tuple[object, bytes]]) -> bytes:
    """A map from (key, encoded value) pairs in the order given, duplicates kept."""
    assert len(pairs) < 24
    return bytes((0xA0 | len(pairs),)) + b"".join(cbor.dumps(k) + v for k, v in pairs)


def _claims_with_permit_map(claims: dict, permit_map: bytes) -> bytes:
    return _map([(k, permit_map if k == CLAIM_PERMIT else cbor.dumps(v)) for k, v in claims.items()])


def duplicate_claim_key(text: str, key: PrivateKey, second_surname: str = "SMITH") -> str:
    """Signed claims whose permit map carries the surname twice (a lax decoder shows the second)."""
    claims = _claims(text)
    pairs: list[tuple[object, bytes]] = []
    for k, v in claims[CLAIM_PERMIT].items():
        pairs.append((k, cbor.dumps(v)))
        if k == P_SURNAME:
            pairs.append((k, cbor.dumps(second_surname)))
    return _resign(text, _claims_with_permit_map(claims, _map(pairs)), key)


def unsorted_claims(text: str, key: PrivateKey) -> str:
    """Signed claims whose permit map has given names before surname."""
    claims = _claims(text)
    pairs = [(k, cbor.dumps(v)) for k, v in claims[CLAIM_PERMIT].items()]
    i = next(n for n, (k, _) in enumerate(pairs) if k == P_SURNAME)
    pairs[i], pairs[i + 1] = pairs[i + 1], pairs[i]
    return _resign(text, _claims_with_permit_map(claims, _map(pairs)), key)


def trailing_bytes_in_payload(text: str, key: PrivateKey) -> str:
    """Signed claims followed by one more byte inside the payload."""
    return _resign(text, decode_sign1(cose_of(text)).payload + b"\x00", key)


def indefinite_claims(text: str, key: PrivateKey) -> str:
    """Signed claims as an indefinite-length map."""
    claims = _claims(text)
    body = _map([(k, cbor.dumps(v)) for k, v in claims.items()])[1:]
    return _resign(text, b"\xbf" + body + b"\xff", key)


def typ_header(text: str, key: PrivateKey) -> str:
    """The same claims signed with a typ in the protected header (a permit carries alg and kid only)."""
    return text_of(sign1(decode_sign1(cose_of(text)).payload, key, algorithms.key_id(key.public_key()),
                         typ="application/permit+cwt"))


def boolean_claim_key(text: str, key: PrivateKey) -> str:
    """Signed claims whose issuer claim has the key `true` (0xF5) instead of 1: equal in Python, another
    CBOR item, so a lax decoder reads the same permit from a second text."""
    claims = _claims(text)
    return _resign(text, _map([(True if k == CLAIM_ISS else k, cbor.dumps(v)) for k, v in claims.items()]), key)


def boolean_header_key(text: str, key: PrivateKey) -> str:
    """The same claims signed under a protected header whose alg label is `true` instead of 1."""
    header = bytes((0xA2, 0xF5)) + cbor.dumps(ES256) + cbor.dumps(4) + cbor.dumps(
        algorithms.key_id(key.public_key()))
    payload = decode_sign1(cose_of(text)).payload
    signature = algorithms.sign(key, sig_structure(header, payload))
    return text_of(bytes((0xD2, 0x84)) + cbor.dumps(header) + b"\xa0" + cbor.dumps(payload) + cbor.dumps(signature))


# Every variant of one genuine permit that a verifier must refuse, with the reason it must give.
UNSIGNED = {
    "high-s": (high_s, "BAD_SIGNATURE"),
    "trailing-bytes": (trailing_bytes, "MALFORMED"),
    "second-cose-appended": (second_cose_appended, "MALFORMED"),
    "unprotected-header": (unprotected_header, "MALFORMED"),
    "indefinite-length": (indefinite_array, "MALFORMED"),
    "non-minimal-head": (non_minimal_head, "MALFORMED"),
    "missing-tag": (untagged, "MALFORMED"),
    "self-describe-tag": (self_described, "MALFORMED"),
}
SIGNED = {
    "duplicate-claim-key": (duplicate_claim_key, "MALFORMED"),
    "unsorted-claims": (unsorted_claims, "MALFORMED"),
    "trailing-bytes-in-payload": (trailing_bytes_in_payload, "MALFORMED"),
    "indefinite-length-claims": (indefinite_claims, "MALFORMED"),
    "typ-header": (typ_header, "MALFORMED"),
}
# Signed, with a map key that is not an integer or a text string (kept apart: the kit lists them last, so
# the vectors named before they were found keep their numbers).
SIGNED_KEY_TYPES = {
    "boolean-claim-key": (boolean_claim_key, "MALFORMED"),
    "boolean-header-key": (boolean_header_key, "MALFORMED"),
}
