"""Signature primitives: COSE's r||s to DER, key ids, and refusing mismatched keys."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from keys import algorithms
from keys.algorithms import EDDSA, ES256
from keys.errors import SignatureError


@given(st.binary(min_size=64, max_size=64), st.integers(0, 40))
def test_der_signature_matches_the_library(raw: bytes, zeros: int) -> None:
    raw = (b"\x00" * zeros + raw)[:64] if zeros < 32 else raw[:32] + (b"\x00" * (zeros - 32) + raw[32:])[:32]
    expected = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert algorithms._der_signature(raw) == expected


def test_key_id_is_sha256_of_spki_prefix() -> None:
    key = algorithms.generate_private_key(ES256).public_key()
    assert algorithms.key_id(key) == hashlib.sha256(algorithms.spki_der(key)).digest()[:8]


@pytest.mark.parametrize(("sign_alg", "verify_with"), [(ES256, EDDSA), (EDDSA, ES256)])
def test_mismatched_key_and_algorithm(sign_alg: int, verify_with: int) -> None:
    signer = algorithms.generate_private_key(sign_alg)
    other = algorithms.generate_private_key(verify_with)
    with pytest.raises(SignatureError):
        algorithms.verify(other.public_key(), sign_alg, algorithms.sign(signer, b"data"), b"data")


def test_signing_is_deterministic_and_verifies() -> None:
    key = algorithms.generate_private_key(ES256)
    sig = algorithms.sign(key, b"data")
    assert sig == algorithms.sign(key, b"data") and len(sig) == 64
    algorithms.verify(key.public_key(), ES256, sig, b"data")
    with pytest.raises(SignatureError):
        algorithms.verify(key.public_key(), ES256, sig, b"datb")
    with pytest.raises(SignatureError):
        algorithms.verify(key.public_key(), ES256, sig[:63], b"data")
