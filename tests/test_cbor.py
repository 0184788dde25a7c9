"""keys.cbor: the one deterministic encoder and strict decoder, under the cbor2 version the lock pins."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import cbor
from keys.errors import FormatError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lock", ["dev.txt", "verifier.txt", "server.txt", "registry.txt"])
def test_tests_run_under_the_cbor2_the_lock_pins(lock: str) -> None:
    """cbor2 6 changed the decoded types (immutable maps, tuples); the suite must run the decoders under
    exactly the version every install gets, not whatever a machine happens to have."""
    pinned = re.search(r"^cbor2==(\S+)", (ROOT / "requirements" / lock).read_text(), re.M)
    assert pinned is not None and pinned.group(1) == version("cbor2")


def test_decoded_containers_are_plain_whatever_the_cbor2_version() -> None:
    # cbor2 6 gives frozendict and tuple inside a tag; callers must see dict and list.
    data = cbor.dumps(cbor2.CBORTag(18, [b"", {}, [1, {2: [3]}]]))
    value = cbor.loads(data, "x", tag=18)
    assert type(value) is list and type(value[1]) is dict and type(value[2]) is list and type(value[2][1]) is dict


def test_map_keys_sort_bytewise_not_length_first() -> None:
    """RFC 8949 §4.2.1: 24 (0x18 0x18) sorts before -1 (0x20); the old RFC 7049 rule put -1 first."""
    assert cbor.dumps({-1: 0, 24: 0}) == bytes.fromhex("a2181800" "2000")
    assert cbor.loads(bytes.fromhex("a2181800" "2000"), "x") == {24: 0, -1: 0}
    with pytest.raises(FormatError, match="not in deterministic order"):
        cbor.loads(bytes.fromhex("a2200018 1800".replace(" ", "")), "x")


@pytest.mark.parametrize(("hex_input", "rule"), [
    ("a201010101", "duplicate map key"),
    ("a202010101", "not in deterministic order"),
    ("9f01ff", "indefinite-length"),
    ("bf0101ff", "indefinite-length"),
    ("5f41014102ff", "indefinite-length"),
    ("1801", "non-minimal head"),
    ("190001", "non-minimal head"),
    ("5801" "00", "non-minimal head"),
    ("0100", "1 bytes after the end"),
    ("d9d9f701", "tag 55799 not allowed"),
    ("c24101", "tag 2 not allowed"),
    ("f93c00", "floating-point"),
    ("fb3ff0000000000000", "floating-point"),
    ("f7", "simple value 23"),
    ("62c328", "not valid UTF-8"),
    ("83010203" "04", "bytes after the end"),
    ("8301", "truncated"),
    ("ff", "unexpected break"),
    ("", "no data"),
])
def test_each_non_deterministic_form_is_refused_naming_its_rule(hex_input: str, rule: str) -> None:
    with pytest.raises(FormatError, match=rule):
        cbor.loads(bytes.fromhex(hex_input), "thing")


def test_tag_is_required_where_named_and_refused_elsewhere() -> None:
    with pytest.raises(FormatError, match="must be tagged 18"):
        cbor.loads(cbor.dumps([1]), "COSE_Sign1", tag=18)
    with pytest.raises(FormatError, match="tag 61 not allowed"):
        cbor.loads(cbor.dumps(cbor2.CBORTag(61, [1])), "COSE_Sign1", tag=18)
    with pytest.raises(FormatError, match="tag 18 not allowed"):
        cbor.loads(cbor.dumps(cbor2.CBORTag(18, [1])), "claims")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(FormatError, match="nested"):
        cbor.loads(b"\x81" * 100_000 + b"\x00", "thing")


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.binary(max_size=40) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.integers(-300, 300) | st.text(max_size=6), children, max_size=5),
    max_leaves=20,
)


@given(values)
@settings(max_examples=300, deadline=None)
def test_every_value_has_one_encoding_that_decodes_back(value: object) -> None:
    data = cbor.dumps(value)
    assert cbor.loads(data, "x") == _plain(value)
    assert cbor.dumps(cbor.loads(data, "x")) == data


@given(st.dictionaries(st.integers(-1000, 1000) | st.text(max_size=4), st.integers(), min_size=2, max_size=8),
       st.randoms())
@settings(max_examples=200, deadline=None)
def test_key_order_given_does_not_change_the_encoding(mapping: dict, rng) -> None:
    items = list(mapping.items())
    rng.shuffle(items)
    assert cbor.dumps(dict(items)) == cbor.dumps(mapping)


@given(st.binary(max_size=64))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_give_a_value_or_a_format_error(data: bytes) -> None:
    try:
        value = cbor.loads(data, "x")
    except FormatError as exc:
        assert "is not deterministic CBOR" in exc.message
    else:
        assert cbor.dumps(value) == data


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
