"""Reading the register: one permit, its history, and the search, for both adapters.

The name filter is folded (NFC + case-folded, so "müll" finds MÜLLER, which SQLite's LIKE does only for
ASCII) and its wildcards are escaped (a "%" or "_" typed is a character, not a pattern).
"""

from __future__ import annotations

import json
import re

import sqlite_utils

from keys.errors import Cause
from keys.permit import local_date
from registry import lifecycle
from registry.lifecycle import LISTING_SQL, STATUS_SQL
from registry.store import fold_text, one, rows
from registry.validation import ValidationError

MAX_NAME = 100


def dated(row: dict) -> dict:
    row = dict(row)
    row["issue_date"] = local_date(row.pop("valid_from")).isoformat()
    row["expiry_date"] = local_date(row.pop("valid_until") - 1).isoformat()
    return row


def search(db: sqlite_utils.Database, now: int, name: str | None = None, nationality: str | None = None,
           status: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
    problems: list[tuple[str, str]] = []
    where, params = [], {"now": now}
    name = (name or "").strip()
    if name:
        if len(name) > MAX_NAME:
            problems.append(("name", f"must be at most {MAX_NAME} characters"))
        where.append("(fold(p.surname) LIKE :name ESCAPE '\\' OR fold(p.given_names) LIKE :name ESCAPE '\\' "
                     "OR fold(p.chinese_name) LIKE :name ESCAPE '\\' "
                     "OR fold(p.given_names || ' ' || p.surname) LIKE :name ESCAPE '\\')")
        escaped = (fold_text(name) or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["name"] = f"%{escaped}%"
    nationality = (nationality or "").strip().upper()
    if nationality:
        if not re.fullmatch(r"[A-Z]{3}", nationality):
            problems.append(("nationality", "must be an ISO 3166-1 alpha-3 code"))
        where.append("p.nationality = :nationality")
        params["nationality"] = nationality
    status = (status or "").strip()
    if status:
        if status not in lifecycle.STATES:
            problems.append(("status", f"must be one of {', '.join(lifecycle.STATES)}"))
        where.append(f"{STATUS_SQL} = :status")
        params["status"] = status
    if problems:
        raise ValidationError(problems)
    sql = LISTING_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.number"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [dated(r) for r in rows(db, sql, params)]


def show(db: sqlite_utils.Database, number: str, now: int) -> dict:
    """A permit as listed, with its passport and photo summary (the passport is never on the QR)."""
    permit = lifecycle.get_permit(db, number)
    row = one(db, LISTING_SQL + " WHERE p.number = :number", {"now": now, "number": permit["number"]})
    if row is None:
        raise lifecycle.TransitionError(f"no permit {number} in this registry", cause=Cause.NOT_FOUND)
    data = dated(row)
    data["passport"] = (f"{permit['passport_country']} {permit['passport_number']}"
                        if permit["passport_number"] else None)
    data["photo"] = ({"type": permit["photo_type"], "bytes": len(permit["photo"])} if permit["photo"] else None)
    return data


def history(db: sqlite_utils.Database, number: str) -> list[dict]:
    """Every event of a permit, oldest first, with the acting and approving operators' names."""
    permit = lifecycle.get_permit(db, number)
    events = rows(db, "SELECT e.at, e.action, e.from_state, e.to_state, e.card_serial, e.actor, e.operator_id, "
                  "a.name AS approver, e.approver_id, e.proposal_id, e.reason, e.note, e.detail FROM events e "
                  "LEFT JOIN operators a ON a.id = e.approver_id WHERE e.number = ? ORDER BY e.id", (permit["number"],))
    for e in events:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else None
    return events
