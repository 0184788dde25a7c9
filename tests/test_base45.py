"""base45 (RFC 9285): the RFC's examples, round trips, and a clear error for every malformed text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.base45 import ALPHABET, Base45Error, decode, encode

RFC_EXAMPLES = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"),
                (b"", "")]


@pytest.mark.parametrize(("data", "text"), RFC_EXAMPLES)
def test_rfc_examples(data: bytes, text: str) -> None:
    assert encode(data) == text
    assert decode(text) == data


@given(st.binary(max_size=600))
def test_round_trip(data: bytes) -> None:
    assert decode(encode(data)) == data


def _slow_decode(text: str) -> bytes:
    """The RFC's algorithm, group by group, as an independent reference."""
    out = bytearray()
    for i in range(0, len(text), 3):
        group = [ALPHABET.index(ch) for ch in text[i:i + 3]]
        value = sum(v * 45**k for k, v in enumerate(group))
        out += value.to_bytes(2 if len(group) == 3 else 1, "big")
    return bytes(out)


@given(st.text(alphabet=ALPHABET, max_size=300))
def test_agrees_with_the_reference_or_refuses(text: str) -> None:
    try:
        expected: bytes | None = _slow_decode(text) if len(text) % 3 != 1 else None
    except OverflowError:
        expected = None
    if expected is None:
        with pytest.raises(Base45Error):
            decode(text)
    else:
        assert decode(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("GGW", "above 65535"),
    ("A", "single character"),
    ("ABCD", "single character"),
    ("::", "above 255"),
    ("ab", "not base45"),
    ("AB\u00e9", "ASCII"),
    ("AB\ud800", "ASCII"),
    ("000GGW000", "offset 3"),
])
def test_clear_errors(text: str, message: str) -> None:
    with pytest.raises(Base45Error, match=message):
        decode(text)


@given(st.text(max_size=200))
def test_any_text_decodes_exactly_or_raises_base45_error(text: str) -> None:
    try:
        data = decode(text)
    except Base45Error:
        return
    assert encode(data) == text  # base45 is one-to-one: whatever decodes, encodes back the same
