"""Property-based: no single-byte change of a valid permit passes, and no input of any shape makes
the verifier raise anything but return a verdict."""

from __future__ import annotations

import pytest
from helpers import NOW, Issuer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import base45
from keys.cose import decode_sign1
from keys.errors import FormatError, Reason
from keys.permit import PREFIX
from keys.trustlist import TrustList
from verifier.check import Verdict, check

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_issuer = Issuer()
_trust: TrustList = _issuer.trust()
_valid = _issuer.sign()
_raw = base45.decode(_valid[len(PREFIX):])


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, len(_raw) - 1), flip=st.integers(1, 255))
def test_any_changed_byte_is_rejected(position: int, flip: int) -> None:
    raw = bytearray(_raw)
    raw[position] ^= flip
    result = check(PREFIX + base45.encode(bytes(raw)), _trust, NOW)
    assert result.verdict is not Verdict.VALID
    assert result.reason in {Reason.MALFORMED, Reason.BAD_SIGNATURE, Reason.UNKNOWN_KEY}


@settings(max_examples=300)
@given(position=st.integers(len(PREFIX), len(_valid) - 1), char=st.sampled_from(ALNUM))
def test_any_changed_character_is_rejected(position: int, char: str) -> None:
    text = _valid[:position] + char + _valid[position + 1:]
    if text != _valid:
        assert check(text, _trust, NOW).verdict is not Verdict.VALID


@settings(max_examples=1000)
@given(st.text(max_size=400))
def test_random_text_only_gives_verdicts(text: str) -> None:
    assert check(text, _trust, NOW).verdict is not Verdict.VALID


@settings(max_examples=1000)
@given(st.text(alphabet=ALNUM, max_size=400))
def test_random_prefixed_base45_only_gives_verdicts(body: str) -> None:
    assert check(PREFIX + body, _trust, NOW).reason is Reason.MALFORMED


@settings(max_examples=1000)
@given(st.binary(max_size=300))
def test_random_bytes_only_give_verdicts(data: bytes) -> None:
    assert check(PREFIX + base45.encode(data), _trust, NOW).verdict is not Verdict.VALID


_cbor = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=20) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.integers(-70000, 70000) | st.text(max_size=5),
                                                                inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500)
@given(_cbor)
def test_random_cbor_structures_only_give_verdicts(obj: object) -> None:
    import cbor2

    for data in (cbor2.dumps(obj), cbor2.dumps(cbor2.CBORTag(18, obj))):
        assert check(PREFIX + base45.encode(data), _trust, NOW).reason in {Reason.MALFORMED, Reason.UNKNOWN_KEY}


def test_deeply_nested_cbor_is_malformed() -> None:
    data = b"\x81" * 100_000 + b"\x00"
    assert check(PREFIX + base45.encode(data[:2900]), _trust, NOW).reason is Reason.MALFORMED
    with pytest.raises(FormatError):
        decode_sign1(data)


@settings(max_examples=500)
@given(st.dictionaries(st.integers(-70000, 10) | st.text(max_size=3), _cbor, max_size=6),
       st.dictionaries(st.integers(0, 12), _cbor, max_size=11))
def test_signed_but_strange_claims_are_malformed(claims: dict, permit_map: dict) -> None:
    """Claims reach the decoder only behind a valid signature; whatever they hold, a verdict comes back."""
    import cbor2

    from keys import algorithms
    from keys.cose import sign1

    kid = algorithms.key_id(_issuer.permit_key.public_key())
    for body in (claims, {**claims, -65537: permit_map}):
        text = PREFIX + base45.encode(sign1(cbor2.dumps(body), _issuer.permit_key, kid))
        if len(text) <= 4296:
            assert check(text, _trust, NOW).reason is Reason.MALFORMED
