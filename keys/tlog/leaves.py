"""The log's leaves: one per act of the office, a deterministic CBOR map with small integer keys.

Common keys: 0 version (1), 1 kind, 2 time (Unix seconds), 3 acting operator, 4 approving operator
(optional), 5 subject (optional), 6 record (optional: a keyed hash of the register's row for the act,
so a row rewritten in the register no longer re-encodes to the logged leaf).
Operators are pseudonymous ids (`operator_pseudonym`); the subject of
an act on a permit is HMAC-SHA256(office secret, permit number, card serial) (`subject_id`), so no permit
number, name or birth date is ever in the log. Kind-specific keys are listed in `_FIELDS` and in
docs/transparency-log.md. Decoding refuses unknown keys, missing ones and wrong types.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import ClassVar

from keys import cbor
from keys.errors import FormatError, LogError, Reason

LEAF_VERSION = 1
MAX_TEXT = 256
_OPERATOR_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class Kind(IntEnum):
    CARD = 1
    TRANSITION = 2
    KEY = 3
    PUBLISH = 4
    OPERATOR = 5
    ORGANISATION = 6
    APPROVAL = 7


KEY_EVENTS = ("generate", "rotate", "retire", "compromise", "root-change")
OPERATOR_ACTIONS = ("add", "remove", "role", "credential")
APPROVAL_DECISIONS = ("propose", "approve", "reject")


def _bad(message: str) -> LogError:
    return LogError(message, Reason.LOG_MALFORMED)


def subject_id(secret: bytes, number: str, serial: int) -> bytes:
    """The keyed hash naming one card of one permit in the log: HMAC-SHA256 over a labelled encoding of
    the permit number and the card serial. Only the register, which holds `secret`, can link it back."""
    if len(secret) < 16:
        raise _bad("the office's log secret must be at least 16 bytes")
    message = b"permit-registry subject v1\x00" + number.encode("utf-8") + b"\x00" + str(int(serial)).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def operator_pseudonym(secret: bytes, operator: str) -> str:
    """A stable pseudonymous operator id (`op-` and 80 bits of HMAC) for an operator's register id."""
    if len(secret) < 16:
        raise _bad("the office's log secret must be at least 16 bytes")
    digest = hmac.new(secret, b"permit-registry operator v1\x00" + operator.encode("utf-8"), hashlib.sha256)
    return "op-" + digest.hexdigest()[:20]


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise _bad(f"leaf field {name} must be text of 1 to {MAX_TEXT} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value) or value != value.strip():
        raise _bad(f"leaf field {name} has control characters or surrounding spaces")
    return value


def _check(kind: str, value: object, name: str) -> None:
    if kind == "uint":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 63:
            raise _bad(f"leaf field {name} must be an unsigned integer")
    elif kind == "hash":
        if not isinstance(value, bytes) or len(value) != 32:
            raise _bad(f"leaf field {name} must be 32 bytes")
    elif kind == "operator":
        if not isinstance(value, str) or not _OPERATOR_ID.fullmatch(value):
            raise _bad(f"leaf field {name} must be a pseudonymous operator id ([A-Za-z0-9._:-], 1-64)")
    elif kind == "text":
        _check_text(value, name)
    elif isinstance(kind, tuple):
        if value not in kind:
            raise _bad(f"leaf field {name} must be one of {', '.join(kind)}")
    else:  # pragma: no cover - a programming error in _FIELDS
        raise AssertionError(kind)


@dataclass(frozen=True, kw_only=True)
class Leaf:
    """Fields every act has."""

    KIND: ClassVar[Kind]
    SUBJECT_REQUIRED: ClassVar[bool] = False
    time: int
    operator: str
    approver: str | None = None
    subject: bytes | None = None
    record: bytes | None = None

    def __post_init__(self) -> None:
        if type(self) is Leaf:
            raise TypeError("Leaf holds the common fields; build one of its kinds (CardLeaf, TransitionLeaf ...)")
        _check("uint", self.time, "time")
        _check("operator", self.operator, "operator")
        if self.approver is not None:
            _check("operator", self.approver, "approver")
        if self.subject is not None:
            _check("hash", self.subject, "subject")
        elif self.SUBJECT_REQUIRED:
            raise _bad(f"a {self.KIND.name.lower()} leaf needs a subject")
        if self.record is not None:
            _check("hash", self.record, "record")
        for name, (_key, kind, required) in _FIELDS[self.KIND].items():
            value = getattr(self, name)
            if value is None:
                if required:
                    raise _bad(f"a {self.KIND.name.lower()} leaf needs {name}")
            else:
                _check(kind, value, name)


@dataclass(frozen=True, kw_only=True)
class CardLeaf(Leaf):
    """A card signed (first issue, renewal, replacement): the SHA-256 of the exact COSE bytes in its QR."""

    KIND = Kind.CARD
    SUBJECT_REQUIRED = True
    cose_sha256: bytes
    status_list: int
    status_index: int
    kid: str
    valid_from: int
    valid_until: int
    cause: str
    supersedes: bytes | None = None  # the subject of the card this one replaces (its status becomes superseded)


@dataclass(frozen=True, kw_only=True)
class TransitionLeaf(Leaf):
    """A lifecycle transition of a permit (suspend, revoke, reinstate ...), with its legal ground and the
    reference of the decision; `status` is the 2-bit status-list value it sets, if any."""

    KIND = Kind.TRANSITION
    SUBJECT_REQUIRED = True
    from_state: str
    to_state: str
    ground: str
    decision: str
    status: int | None = None


@dataclass(frozen=True, kw_only=True)
class KeyLeaf(Leaf):
    KIND = Kind.KEY
    event: str
    kid: str
    role: str
    public_key_sha256: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class PublishLeaf(Leaf):
    KIND = Kind.PUBLISH
    version: int
    manifest_sha256: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class OperatorLeaf(Leaf):
    KIND = Kind.OPERATOR
    action: str
    target: str
    role: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrganisationLeaf(Leaf):
    KIND = Kind.ORGANISATION
    action: str
    unit: str
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalLeaf(Leaf):
    KIND = Kind.APPROVAL
    request: str
    decision: str


# name -> (CBOR key, value kind, required); common keys 0-5 are handled by Leaf itself.
_FIELDS: dict[Kind, dict[str, tuple[int, object, bool]]] = {
    Kind.CARD: {"cose_sha256": (10, "hash", True), "status_list": (11, "uint", True),
                "status_index": (12, "uint", True), "kid": (13, "text", True), "valid_from": (14, "uint", True),
                "valid_until": (15, "uint", True), "cause": (16, "text", True),
                "supersedes": (17, "hash", False)},
    Kind.TRANSITION: {"from_state": (20, "text", True), "to_state": (21, "text", True),
                      "ground": (22, "text", True), "decision": (23, "text", True),
                      "status": (24, "uint", False)},
    Kind.KEY: {"event": (30, KEY_EVENTS, True), "kid": (31, "text", True), "role": (32, "text", True),
               "public_key_sha256": (33, "hash", False)},
    Kind.PUBLISH: {"version": (40, "uint", True), "manifest_sha256": (41, "hash", False)},
    Kind.OPERATOR: {"action": (50, OPERATOR_ACTIONS, True), "target": (51, "operator", True),
                    "role": (52, "text", False)},
    Kind.ORGANISATION: {"action": (60, "text", True), "unit": (61, "text", True), "detail": (62, "text", False)},
    Kind.APPROVAL: {"request": (70, "text", True), "decision": (71, APPROVAL_DECISIONS, True)},
}
_CLASSES: dict[Kind, type[Leaf]] = {cls.KIND: cls for cls in (CardLeaf, TransitionLeaf, KeyLeaf, PublishLeaf,
                                                              OperatorLeaf, OrganisationLeaf, ApprovalLeaf)}
_COMMON = {"time": 2, "operator": 3, "approver": 4, "subject": 5, "record": 6}


def encode_leaf(leaf: Leaf) -> bytes:
    """The leaf's one deterministic CBOR encoding (the bytes that are hashed into the log)."""
    out: dict[int, object] = {0: LEAF_VERSION, 1: int(leaf.KIND)}
    for name, key in _COMMON.items():
        value = getattr(leaf, name)
        if value is not None:
            out[key] = value
    for name, (key, _kind, _required) in _FIELDS[leaf.KIND].items():
        value = getattr(leaf, name)
        if value is not None:
            out[key] = value
    return cbor.dumps(out)


def decode_leaf(data: bytes) -> Leaf:
    """Parse a leaf, refusing non-deterministic CBOR, unknown versions, kinds and keys, and bad values."""
    try:
        value = cbor.loads(bytes(data), "leaf")
    except FormatError as exc:
        raise _bad(exc.message) from None
    if type(value) is not dict:
        raise _bad("a leaf is a CBOR map")
    if value.get(0) != LEAF_VERSION:
        raise _bad(f"unsupported leaf version {value.get(0)!r}")
    try:
        kind = Kind(value.get(1))
    except ValueError:
        raise _bad(f"unknown leaf kind {value.get(1)!r}") from None
    cls = _CLASSES[kind]
    names = {key: name for name, key in _COMMON.items()}
    names.update({key: name for name, (key, _k, _r) in _FIELDS[kind].items()})
    unknown = set(value) - set(names) - {0, 1}
    if unknown:
        raise _bad(f"unknown keys {sorted(unknown)} in a {kind.name.lower()} leaf")
    kwargs = {names[key]: item for key, item in value.items() if key in names}
    missing = {f.name for f in fields(cls)} - set(kwargs) - {"approver", "subject", "record"}
    missing -= {name for name, (_key, _kind, required) in _FIELDS[kind].items() if not required}
    if missing:
        raise _bad(f"a {kind.name.lower()} leaf lacks {', '.join(sorted(missing))}")
    leaf = cls(**kwargs)
    if encode_leaf(leaf) != bytes(data):  # one encoding per act, whatever path produced the bytes
        raise _bad("the leaf is not in its deterministic encoding")
    return leaf
