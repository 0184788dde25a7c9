"""The relief path: reconsideration and litigation against a revocation or suspension.

An appeal is recorded against the permit's latest revocation or suspension, with its filing window and
the date its decision is due (registry/office/deadlines.py). Its outcome is recorded by `decide`: upheld
changes nothing; overturned lifts the revocation's re-application bar and reinstates the permit through
the ordinary transition (so the next publish clears the status bit).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import sqlite_utils

from keys.permit import local_date
from registry import lifecycle
from registry.office import deadlines, identity
from registry.office.errors import CONFLICT, INVALID, NOT_FOUND, OfficeError
from registry.office.record import Acting, clean_text, record_event
from registry.store import one, rows

if TYPE_CHECKING:
    from registry.office.service import Office

APPEALABLE = ("revoke", "suspend")


def parse_case(case: str) -> str:
    text = clean_text(case, 65)
    if not text or len(text) > 64:
        raise OfficeError("bad-case", "a case reference is 1 to 64 printable characters", INVALID)
    return text


def file(db: sqlite_utils.Database, number: str, kind: str, filed: date, case: str, acting: Acting, now: int,
         late_reason: str | None = None) -> dict[str, Any]:
    """Record an appeal inside the caller's write transaction; returns the appeal as listed."""
    if kind not in deadlines.KINDS:
        raise OfficeError("bad-kind", f"an appeal is one of {', '.join(deadlines.KINDS)}", INVALID)
    case = parse_case(case)
    permit = lifecycle.get_permit(db, number)
    if permit["state"] not in ("revoked", "suspended"):
        raise OfficeError("not-appealable", f"permit {permit['number']} is {permit['state']}: an appeal is against "
                                            "a revocation or a suspension in force")
    against = one(db, "SELECT id, action, at FROM events WHERE number = ? AND action IN (?, ?) ORDER BY id DESC "
                  "LIMIT 1", (permit["number"], *APPEALABLE))
    if against is None:
        raise OfficeError("not-appealable", f"permit {permit['number']} has no recorded revocation or suspension")
    decision = local_date(against["at"])
    today = local_date(now)
    if filed < decision or filed > today:
        raise OfficeError("bad-date", f"the filing date must be between the decision ({decision}) and today", INVALID)
    open_one = one(db, "SELECT id FROM appeals WHERE against_event = ? AND kind = ? AND outcome IS NULL",
                   (against["id"], kind))
    if open_one:
        raise OfficeError("appeal-pending", f"appeal {open_one['id']} ({kind}) against this decision is undecided")
    if one(db, "SELECT id FROM appeals WHERE kind = ? AND case_ref = ?", (kind, case)):
        raise OfficeError("case-exists", f"a {kind} with case reference {case} is already recorded")
    reconsidered = one(db, "SELECT decided_day FROM appeals WHERE against_event = ? AND kind = 'reconsideration' "
                       "AND outcome = 'upheld' ORDER BY id DESC LIMIT 1", (against["id"],))
    end = deadlines.window_end(kind, decision, date.fromisoformat(reconsidered["decided_day"]) if reconsidered
                               else None)
    late = clean_text(late_reason, 200)
    if filed > end and not late:
        raise OfficeError("filing-late", f"the window to file a {kind} against the decision of {decision} ended on "
                                         f"{end}; record it only with the reason the late filing was accepted")
    due = deadlines.due_day(kind, filed)
    cursor = db.execute(
        "INSERT INTO appeals (number, kind, against_event, against_action, decision_day, filed_day, window_end, "
        "due_day, case_ref, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (permit["number"], kind, against["id"], against["action"], decision.isoformat(), filed.isoformat(),
         end.isoformat(), due.isoformat(), case, now))
    appeal_id = int(cursor.lastrowid or 0)
    record_event(db, acting.event("appeal", now, number=permit["number"], from_state=permit["state"],
                                  to_state=permit["state"], reason=kind,
                                  detail={"appeal": appeal_id, "case": case, "filed": filed.isoformat(),
                                          "window_end": end.isoformat(), "due": due.isoformat(),
                                          **({"late_reason": late} if late else {})}))
    return get(db, appeal_id, now)


def get(db: sqlite_utils.Database, appeal_id: int, now: int) -> dict[str, Any]:
    row = one(db, "SELECT * FROM appeals WHERE id = ?", (appeal_id,))
    if row is None:
        raise OfficeError("no-appeal", f"there is no appeal {appeal_id}", NOT_FOUND)
    return _view(row, now)


def _view(row: dict, now: int) -> dict[str, Any]:
    overdue = row["outcome"] is None and row["due_day"] < local_date(now).isoformat()
    return {"id": row["id"], "number": row["number"], "kind": row["kind"], "against": row["against_action"],
            "decision": row["decision_day"], "filed": row["filed_day"], "window_end": row["window_end"],
            "due": row["due_day"], "case": row["case_ref"], "outcome": row["outcome"], "decided": row["decided_day"],
            "overdue": overdue}


def listing(db: sqlite_utils.Database, now: int, overdue: bool = False, number: str | None = None) -> list[dict]:
    where, params = [], []
    if overdue:
        where.append("outcome IS NULL AND due_day < ?")
        params.append(local_date(now).isoformat())
    if number:
        where.append("number = ?")
        params.append(number.upper())
    sql = "SELECT * FROM appeals" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY due_day, id"
    return [_view(r, now) for r in rows(db, sql, params)]


def check_decide(office: Office, p: dict[str, Any], now: int, proposal: int | None = None) -> None:
    appeal = get(office.db, p["appeal"], now)
    if appeal["outcome"] is not None:
        raise OfficeError("appeal-decided", f"appeal {appeal['id']} was already decided: {appeal['outcome']}")
    if p["outcome"] not in deadlines.OUTCOMES:
        raise OfficeError("bad-outcome", f"an outcome is one of {', '.join(deadlines.OUTCOMES)}", INVALID)
    decided = date.fromisoformat(p["decided"])
    if decided < date.fromisoformat(appeal["filed"]) or decided > local_date(now):
        raise OfficeError("bad-date", f"the decision date must be between the filing ({appeal['filed']}) and today",
                          INVALID)
    if p["outcome"] == "overturned":
        permit = lifecycle.get_permit(office.db, appeal["number"])
        if permit["state"] not in ("revoked", "suspended"):
            raise OfficeError("not-appealable", f"permit {permit['number']} is {permit['state']}; an overturned "
                                                "decision reinstates only a revoked or suspended permit", CONFLICT)


def run_decide(office: Office, p: dict[str, Any], acting: Acting, now: int) -> dict[str, Any]:
    from registry.office.acts import run_transition

    check_decide(office, p, now)
    db = office.db
    appeal = get(db, p["appeal"], now)
    db.execute("UPDATE appeals SET outcome = ?, decided_day = ? WHERE id = ?",
               (p["outcome"], p["decided"], appeal["id"]))
    permit = lifecycle.get_permit(db, appeal["number"])
    lifted = identity.lift_bars(db, permit["number"], now, appeal["id"]) if p["outcome"] == "overturned" else 0
    record_event(db, acting.event("appeal-decide", now, number=permit["number"], from_state=permit["state"],
                                  to_state=permit["state"], reason=p["outcome"],
                                  detail={"appeal": appeal["id"], "decided": p["decided"], "bars_lifted": lifted}))
    result = {"appeal": appeal["id"], "number": permit["number"], "outcome": p["outcome"], "state": permit["state"]}
    if p["outcome"] == "overturned":
        done = run_transition(office, {"action": "reinstate", "number": permit["number"],
                                       "reason": f"{appeal['kind']} {appeal['case']} overturned the decision"},
                              acting, now)
        result["state"] = done["state"]
    return result
