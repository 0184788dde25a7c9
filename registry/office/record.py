"""The one way an act of the office is written down: `record_event`, inside the act's own transaction.

Every act (issuance, each transition, card, proposal, approval, rejection, appeal, presence, passport,
operator change) calls `record_event` exactly once per row, in the write transaction that makes the change,
so the `events` table and the register cannot disagree. The same call appends the act's leaf to the
transparency log (registry/tlog_events.py) and stores its index on the row: one act, one row, one leaf,
in the same transaction and the same order. The acting operator is an authenticated operator's id (the table refuses a
row without one); the approver is the second officer's id where the policy asked for four eyes.
"""

from __future__ import annotations

import json
import unicodedata
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from registry import tlog_events, tlog_store
from registry.store import StoreError, one

MAX_NOTE = 500


def clean_text(text: str | None, limit: int = MAX_NOTE) -> str | None:
    """Free text as it may be stored and printed back: Unicode control, format (bidi), private-use and
    unassigned characters removed (a terminal escape sequence loses its ESC and is inert), runs of white
    space collapsed, cut at `limit` characters. None when nothing is left."""
    if text is None:
        return None
    kept = "".join(" " if ch in "\t\n\r\v\f" else ch for ch in unicodedata.normalize("NFC", text)
                   if ch in "\t\n\r\v\f" or not unicodedata.category(ch).startswith("C"))
    kept = " ".join(kept.split())[:limit].strip()
    return kept or None


@dataclass(frozen=True)
class Event:
    """One act. `operator_id` acted (proposed); `approver_id` approved it when four eyes applied."""

    action: str
    at: int
    operator_id: int | None
    approver_id: int | None = None
    number: str | None = None
    card_serial: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    note: str | None = None
    detail: Mapping[str, Any] | None = field(default=None)
    proposal_id: int | None = None


@dataclass(frozen=True)
class Acting:
    """Who acts in an act being carried out: the operator who proposed or did it, the approving officer
    (four eyes), the proposal approved, and the operator's note."""

    operator_id: int
    approver_id: int | None = None
    note: str | None = None
    proposal_id: int | None = None

    def event(self, action: str, at: int, **fields: Any) -> Event:
        return Event(action, at, self.operator_id, self.approver_id, note=self.note, proposal_id=self.proposal_id,
                     **fields)


_secrets: weakref.WeakKeyDictionary[sqlite_utils.Database, bytes] = weakref.WeakKeyDictionary()


def _log_secret(db: sqlite_utils.Database) -> bytes:
    """The log secret of the register `db` opens, found once per open register (not once per event)."""
    secret = _secrets.get(db)
    if secret is None:
        secret = _secrets[db] = tlog_events.log_secret(db.conn)
    return secret


def record_event(db: sqlite_utils.Database, event: Event) -> int:
    """Append `event` and its log leaf inside the caller's write transaction; returns its id. The actor's
    name is copied from the operators table (for reading), never typed. Only acts of the office as a whole
    (tlog_events.OFFICE_ACTIONS) may be recorded without an operator: the holder of the key store acted."""
    if not db.conn.in_transaction:
        raise StoreError("an event is recorded only inside the write transaction of its act")
    if event.operator_id is None:
        if event.action not in tlog_events.OFFICE_ACTIONS:
            raise StoreError("every event names the authenticated operator who acted")
        actor = tlog_events.OFFICE_OPERATOR
    else:
        row = one(db, "SELECT name FROM operators WHERE id = ?", (event.operator_id,))
        if row is None:
            raise StoreError(f"no operator {event.operator_id}: every event names an enrolled operator")
        actor = row["name"]
    if event.approver_id is not None and event.approver_id == event.operator_id:
        raise StoreError("an operator cannot approve their own act")
    values = {"number": event.number, "card_serial": event.card_serial, "action": event.action,
              "from_state": event.from_state, "to_state": event.to_state, "at": event.at,
              "reason": clean_text(event.reason, 200), "note": clean_text(event.note),
              "detail": json.dumps(event.detail, sort_keys=True, ensure_ascii=False) if event.detail else None,
              "operator_id": event.operator_id, "approver_id": event.approver_id, "proposal_id": event.proposal_id}
    leaf = tlog_events.event_leaf(db.conn, _log_secret(db), values)
    index = tlog_store.append_leaf(db, leaf)
    cursor = db.execute(
        f"INSERT INTO events ({', '.join(values)}, actor, leaf_index) VALUES ({', '.join('?' * len(values))}, ?, ?)",
        (*values.values(), actor, index))
    return int(cursor.lastrowid or 0)
