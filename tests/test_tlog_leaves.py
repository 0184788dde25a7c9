"""Log leaves: one deterministic CBOR encoding per act, no personal data in clear, strict decoding."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import cbor
from keys.errors import LogError, Reason
from keys.tlog.leaves import (
    _FIELDS,
    ApprovalLeaf,
    CardLeaf,
    KeyLeaf,
    Kind,
    Leaf,
    OperatorLeaf,
    OrganisationLeaf,
    PublishLeaf,
    TransitionLeaf,
    decode_leaf,
    encode_leaf,
    operator_pseudonym,
    subject_id,
)

SECRET = b"office log secret, 32 bytes long"
NUMBER = "110101199001011234"
SUBJECT = subject_id(SECRET, NUMBER, 1)
OP = operator_pseudonym(SECRET, "clerk-7")
CHIEF = operator_pseudonym(SECRET, "chief-1")
COSE = b"\xd2\x84" + b"signed permit bytes"

LEAVES: list[Leaf] = [
    CardLeaf(time=1_790_000_000, operator=OP, subject=SUBJECT, cose_sha256=hashlib.sha256(COSE).digest(),
             status_list=3, status_index=70_001, kid="issuing-2026-1", valid_from=1_790_000_000,
             valid_until=2_105_000_000, cause="issue"),
    TransitionLeaf(time=1_790_000_100, operator=OP, approver=CHIEF, subject=SUBJECT, from_state="valid",
                   to_state="revoked", ground="Art. 28(1)", decision="ENT-2026-0042", status=1),
    KeyLeaf(time=1_790_000_200, operator=CHIEF, event="rotate", kid="issuing-2026-2", role="issuing",
            public_key_sha256=bytes(32)),
    PublishLeaf(time=1_790_000_300, operator=OP, version=17, manifest_sha256=b"\x01" * 32),
    OperatorLeaf(time=1_790_000_400, operator=CHIEF, action="add", target=OP, role="clerk"),
    OrganisationLeaf(time=1_790_000_500, operator=CHIEF, action="rename", unit="Office 3"),
    ApprovalLeaf(time=1_790_000_600, operator=CHIEF, request="REQ-19", decision="approve"),
]


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: type(leaf).__name__)
def test_every_kind_round_trips(leaf: Leaf) -> None:
    data = encode_leaf(leaf)
    assert decode_leaf(data) == leaf
    assert encode_leaf(decode_leaf(data)) == data


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: type(leaf).__name__)
def test_encoding_is_what_an_independent_canonical_encoder_writes(leaf: Leaf) -> None:
    data = encode_leaf(leaf)
    assert cbor2.dumps(cbor2.loads(data), canonical=True) == data


def test_no_permit_number_name_or_serial_in_clear() -> None:
    data = encode_leaf(LEAVES[0])
    assert NUMBER.encode() not in data and b"clerk-7" not in data
    assert subject_id(SECRET, NUMBER, 2) != SUBJECT  # each card its own subject
    assert subject_id(b"another office secret 32 bytes!!", NUMBER, 1) != SUBJECT
    with pytest.raises(LogError):
        subject_id(b"short", NUMBER, 1)


@pytest.mark.parametrize(("name", "data"), [
    ("integer_not_shortest", bytes.fromhex("a1001801")),
    ("indefinite_map", bytes.fromhex("bf0001ff")),
    ("keys_out_of_order", bytes.fromhex("a201010001")),
    ("duplicate_key", bytes.fromhex("a200010001")),
    ("trailing_bytes", cbor.dumps({0: 1}) + b"\x00"),
    ("float", bytes.fromhex("a100f93c00")),
    ("tag", bytes.fromhex("a100c101")),
    ("negative_integer", bytes.fromhex("a10020")),
    ("text_key", bytes.fromhex("a1616101")),
    ("truncated", bytes.fromhex("a3000101")),
    ("invalid_utf8", bytes.fromhex("a10061ff")),
])
def test_non_deterministic_cbor_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(LogError) as caught:
        decode_leaf(data)
    assert caught.value.reason == Reason.LOG_MALFORMED


@pytest.mark.parametrize(("name", "changes"), [
    ("unknown_version", {0: 2}),
    ("unknown_kind", {1: 99}),
    ("unknown_key", {99: 1}),
    ("key_of_another_kind", {30: "rotate"}),
    ("missing_required_field", {10: None}),
    ("missing_operator", {3: None}),
    ("missing_subject", {5: None}),
    ("hash_of_wrong_length", {10: b"\x00" * 31}),
    ("text_where_integer", {11: "3"}),
    ("operator_with_spaces", {3: "clerk seven"}),
    ("control_character_in_text", {16: "issue\x1b[31m"}),
    ("empty_text", {16: ""}),
])
def test_bad_card_leaf_is_refused(name: str, changes: dict) -> None:
    with pytest.raises(LogError) as caught:
        decode_leaf(_raw(changes))
    assert caught.value.reason == Reason.LOG_MALFORMED


def _raw(changes: dict) -> bytes:
    value = cbor2.loads(encode_leaf(LEAVES[0]))
    for key, item in changes.items():
        if item is None:
            value.pop(key, None)
        else:
            value[key] = item
    return cbor2.dumps(value, canonical=True)


def test_bad_values_are_refused_when_building_a_leaf() -> None:
    with pytest.raises(LogError, match="one of"):
        KeyLeaf(time=1, operator=OP, event="steal", kid="k", role="issuing")
    with pytest.raises(LogError, match="needs a subject"):
        TransitionLeaf(time=1, operator=OP, from_state="a", to_state="b", ground="g", decision="d")
    with pytest.raises(LogError, match="control"):
        TransitionLeaf(time=1, operator=OP, subject=SUBJECT, from_state="a", to_state="b", ground="g\u202e",
                       decision="d")


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**63 - 1), st.integers(0, 2**32), st.text(min_size=1, max_size=40).map(str.strip)
       .filter(lambda t: t and all(c.isprintable() for c in t)))
def test_random_transitions_round_trip_exactly(time: int, index: int, ground: str) -> None:
    leaf = TransitionLeaf(time=time, operator=OP, subject=SUBJECT, from_state="valid", to_state="suspended",
                          ground=ground, decision=f"D-{index}", status=2)
    data = encode_leaf(leaf)
    assert decode_leaf(data) == leaf
    assert cbor2.dumps(cbor2.loads(data), canonical=True) == data


def test_documented_leaf_keys_are_the_keys_the_code_writes() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "transparency-log.md").read_text()
    for kind, fields_of_kind in _FIELDS.items():
        row = re.search(rf"^\| {int(kind)} {kind.name.lower()}[^|]* \| (.*) \|$", doc, re.MULTILINE)
        assert row, f"{kind.name} has no row in docs/transparency-log.md"
        documented = {int(k) for k in re.findall(r"(\d+): ", row.group(1))}
        assert documented == {key for key, _k, _r in fields_of_kind.values()}
    assert len(Kind) == len(_FIELDS)
