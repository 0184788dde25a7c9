"""The log leaf of each event row: how the register's `events` become the transparency log's leaves.

`record_event` appends `event_leaf(...)` in the act's own transaction and stores the leaf index on the row;
`registry log verify` re-encodes every row with the same function and compares the result with the
published log, so a row rewritten, deleted or moved in the register no longer matches what was published.

Nothing personal goes into a leaf: the permit is named by `subject_id` (HMAC with the office log secret,
serial 0 for an act on the permit rather than one card), operators by `operator_pseudonym`, and the whole
row (notes, details such as old and new passports) only through `record`, an HMAC of its columns.
Acts of the office as a whole (key events, publishes, organisation changes) made without an operator's
token are recorded with no operator id and the leaf operator `office`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keys.errors import LogError
from keys.tlog import leaves as L
from keys.tlog.leaves import encode_leaf, operator_pseudonym, subject_id

SECRET_FILE = "log.secret"
OFFICE_OPERATOR = "office"
CARD_ACTIONS = ("issue", "renew", "replace", "reissue")
TRANSITION_ACTIONS = ("revoke", "suspend", "reinstate", "surrender", "record-death", "expire")
PERMIT_ACTS = ("passport-change", "presence", "appeal", "appeal-decide")
KEY_ACTIONS = {"key-generate": "generate", "key-rotate": "rotate", "key-retire": "retire",
               "key-compromise": "compromise", "key-root-change": "root-change"}
ORG_ACTIONS = {"org-add": "add", "org-revoke": "revoke"}
OFFICE_ACTIONS = (*KEY_ACTIONS, "publish", *ORG_ACTIONS)  # may be recorded without an operator id
RECORD_COLUMNS = ("number", "card_serial", "action", "from_state", "to_state", "at", "reason", "note", "detail",
                  "operator_id", "approver_id", "proposal_id")
_CODE = re.compile(r"[a-z][a-z0-9-]{0,63}")
_STATUS_VALUE = {"active": 0, "expired": 0, "revoked": 1, "surrendered": 1, "deceased": 1, "suspended": 2}
_secrets: dict[str, bytes] = {}


class EventLeafError(LogError):
    """An event row the log cannot hold (unknown act, missing card, bad detail)."""


def database_file(conn: sqlite3.Connection) -> Path:
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    raise EventLeafError("the register must be a database file: its log secret lives beside it")


def log_secret(conn: sqlite3.Connection) -> bytes:
    """The office log secret (32 random bytes, HOME/log.secret, mode 0600), made on first use."""
    path = database_file(conn).parent / SECRET_FILE
    key = str(path)
    if key not in _secrets:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
                f.flush()
                os.fsync(f.fileno())
        secret = path.read_bytes()
        if len(secret) < 16:
            raise EventLeafError(f"the office log secret {path} is damaged (under 16 bytes)")
        _secrets[key] = secret
    return _secrets[key]


@functools.lru_cache(maxsize=1024)  # one HMAC per operator, not per event of a batch
def pseudonym(secret: bytes, operator_id: int | None) -> str:
    return OFFICE_OPERATOR if operator_id is None else operator_pseudonym(secret, f"operator:{int(operator_id)}")


def record_hash(secret: bytes, row: Mapping[str, Any]) -> bytes:
    """HMAC-SHA256 over every recorded column of the row, so any rewritten column changes the leaf."""
    text = json.dumps([row.get(c) for c in RECORD_COLUMNS], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(secret, b"permit-registry record v1\x00" + text.encode(), hashlib.sha256).digest()


def _detail(row: Mapping[str, Any]) -> dict[str, Any]:
    raw = row.get("detail")
    value = json.loads(raw) if isinstance(raw, str) and raw else {}
    if not isinstance(value, dict):
        raise EventLeafError("an event's detail must be a JSON object")
    return value


def _card(conn: sqlite3.Connection, number: str, serial: int) -> sqlite3.Row | tuple:
    found = conn.execute("SELECT payload, status_list, status_index, kid, valid_from, valid_until, cause FROM cards "
                         "WHERE number = ? AND serial = ?", (number, serial)).fetchone()
    if found is None:
        raise EventLeafError(f"no card {serial} of the permit for a card event")
    return found


def event_leaf(conn: sqlite3.Connection, secret: bytes, row: Mapping[str, Any]) -> bytes:
    """The one leaf of an event row (a dict of RECORD_COLUMNS)."""
    action, number = row["action"], row.get("number")
    common: dict[str, Any] = {"time": int(row["at"]), "operator": pseudonym(secret, row.get("operator_id")),
                              "approver": (pseudonym(secret, row["approver_id"])
                                           if row.get("approver_id") is not None else None),
                              "record": record_hash(secret, row)}
    serial = int(row.get("card_serial") or 0)
    subject = subject_id(secret, number, serial if action in CARD_ACTIONS + TRANSITION_ACTIONS else 0) \
        if number else None
    detail = _detail(row)
    reason = row.get("reason")
    if action in CARD_ACTIONS:
        payload, status_list, status_index, kid, valid_from, valid_until, cause = _card(conn, number, serial)
        leaf: L.Leaf = L.CardLeaf(
            **common, subject=subject, cose_sha256=hashlib.sha256(bytes(payload)).digest(), status_list=status_list,
            status_index=status_index, kid=kid, valid_from=valid_from, valid_until=valid_until, cause=cause,
            supersedes=subject_id(secret, number, serial - 1) if serial > 1 else None)
    elif action in TRANSITION_ACTIONS or action in PERMIT_ACTS:
        ground = reason if isinstance(reason, str) and _CODE.fullmatch(reason) else action
        reference = (f"proposal-{row['proposal_id']}" if row.get("proposal_id") else
                     f"appeal-{detail['appeal']}" if "appeal" in detail else action)
        to_state = row.get("to_state") or "none"
        leaf = L.TransitionLeaf(**common, subject=subject, from_state=row.get("from_state") or "none",
                                to_state=to_state, ground=ground, decision=reference,
                                status=_STATUS_VALUE.get(to_state) if action in TRANSITION_ACTIONS else None)
    elif action in ("propose", "reject"):
        leaf = L.ApprovalLeaf(**common, subject=subject, request=f"proposal-{row.get('proposal_id')}:{reason}",
                              decision=action)
    elif action in ("operator-add", "operator-revoke"):
        leaf = L.OperatorLeaf(**common, action="add" if action == "operator-add" else "remove",
                              target=pseudonym(secret, int(detail["operator"])), role=detail.get("role"))
    elif action in KEY_ACTIONS:
        pk = detail.get("public_key_sha256")
        leaf = L.KeyLeaf(**common, event=KEY_ACTIONS[action], kid=detail["kid"], role=detail["role"],
                         public_key_sha256=bytes.fromhex(pk) if pk else None)
    elif action == "publish":
        leaf = L.PublishLeaf(**common, version=int(detail["version"]),
                             manifest_sha256=bytes.fromhex(detail["manifest_sha256"]))
    elif action in ORG_ACTIONS:
        leaf = L.OrganisationLeaf(**common, action=ORG_ACTIONS[action], unit=detail["org"])
    else:
        raise EventLeafError(f"the act {action!r} has no leaf kind: the log cannot record it")
    return encode_leaf(leaf)


def register_event_leaves(conn: sqlite3.Connection) -> list[bytes]:
    """Every logged event row re-encoded as its leaf, in the order of the rows (their ids). A row that no
    longer encodes (damaged detail, missing card) gives bytes no published leaf has, so it reads as altered."""
    secret = log_secret(conn)
    conn_rows = conn.execute(f"SELECT id, {', '.join(RECORD_COLUMNS)} FROM events WHERE leaf_index IS NOT NULL "
                             "ORDER BY id").fetchall()
    out = []
    for values in conn_rows:
        row = dict(zip(("id", *RECORD_COLUMNS), values, strict=True))
        try:
            out.append(event_leaf(conn, secret, row))
        except (LogError, KeyError, ValueError, TypeError, sqlite3.Error) as exc:
            out.append(f"unencodable event {row['id']}: {exc}".encode())
    return out
