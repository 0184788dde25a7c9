"""The office service: every act as a typed operation, with its roles and the four-eyes rule.

    office = Office(db, policy, signing_source, clock)
    outcome = office.revoke(operator, "911...", "fraud", note="file 12")

An act starts with an authenticated operator whose role may initiate it (INITIATE). When the policy puts
the act under four eyes it becomes a proposal (outcome "pending", nothing else changes) and happens only
when a different officer, who is also a different person, approves it; otherwise it happens at once if
the operator's role may do it alone (ALONE). A proposal is checked when made and again when approved.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from keys.permit import local_date
from registry import lifecycle
from registry.issuance import Signing, passport_key
from registry.office import appeals, residence
from registry.office.acts import ACTS, application_params, changes_params
from registry.office.errors import FORBIDDEN, INVALID, NOT_FOUND, OfficeError
from registry.office.operators import Operator, Role, operator_by_id, require_active
from registry.office.policy import GROUNDS, SUSPEND_REASONS, Policy
from registry.office.record import Acting, Event, clean_text, record_event
from registry.store import one, rows, write_transaction
from registry.validation import Application

ALL = frozenset(Role)
OFFICERS = frozenset({Role.OFFICER, Role.ADMIN})
STATUS_ACTIONS = ("revoke", "suspend", "reinstate", "surrender", "record-death", "expire")
# Who may start each act (propose it, or do it when no approval is needed) ...
INITIATE: Mapping[str, frozenset[Role]] = {
    **{a: ALL for a in ("issue", "renew", "replace:lost", "replace:damaged", "replace:data-changed",
                        "passport-change", "expire", "appeal", "presence")},
    **{a: OFFICERS for a in ("revoke", "suspend", "reinstate", "surrender", "record-death", "appeal-decide",
                             "reissue")},
}
# ... and who may complete it alone when the policy asks for no second operator: a clerk never revokes,
# renames, supersedes a lost card or changes a passport on their own.
ALONE: Mapping[str, frozenset[Role]] = {
    **{a: ALL for a in ("issue", "renew", "replace:damaged", "expire", "appeal", "presence")},
    **{a: OFFICERS for a in INITIATE if a not in ("issue", "renew", "replace:damaged", "expire", "appeal",
                                                   "presence")},
}


@dataclass(frozen=True)
class Outcome:
    """What an act did: "done" (with the permit's number, state and card where they apply) or "pending"
    (the proposal waiting for a second officer)."""

    status: str
    act: str
    number: str | None = None
    state: str | None = None
    card: int | None = None
    proposal: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"status": self.status, "act": self.act, "number": self.number, "state": self.state,
               "card": self.card, "proposal": self.proposal}
        return {k: v for k, v in {**out, **self.extra}.items() if v is not None}


def forbidden(message: str) -> OfficeError:
    return OfficeError("forbidden", message, FORBIDDEN)


@dataclass
class Office:
    db: sqlite_utils.Database
    policy: Policy
    signing_source: Callable[[], Signing]
    clock: Callable[[], int]
    _signing: Signing | None = None

    def signing(self) -> Signing:
        if self._signing is None:
            self._signing = self.signing_source()
        return self._signing

    # ---- the generic path ----------------------------------------------------------------------------------

    def require_start(self, op: Operator | None, key: str) -> Operator:
        """The operator, if their role may start `key` (checked before anything is looked up)."""
        return self._start(op, key)

    def _start(self, op: Operator | None, key: str) -> Operator:
        op = require_active(op)
        if op.role not in INITIATE[key]:
            raise forbidden(f"a {op.role.value} cannot start {key}")
        return op

    def _act(self, op: Operator | None, kind: str, key: str, params: dict[str, Any], note: str | None,
             number: str | None = None, summary: str = "") -> Outcome:
        op = self._start(op, key)
        now, act = self.clock(), ACTS[kind]()
        if self.policy.needs_approval(key):
            with write_transaction(self.db):
                act.check(self, params, now)
                pid = self._propose(op, kind, key, params, note, number, summary, now)
            return Outcome("pending", key, number, proposal=pid)
        if op.role not in ALONE[key]:
            raise forbidden(f"{key} needs an officer")
        with write_transaction(self.db):
            result = act.run(self, params, Acting(op.id, None, note), now)
        return self._done(key, result)

    def _propose(self, op: Operator, kind: str, key: str, params: dict[str, Any], note: str | None,
                 number: str | None, summary: str, now: int, batch: str | None = None) -> int:
        application = params.get("application")
        pkey = passport_key(application["passport_country"], application["passport_number"]) if application else None
        cursor = self.db.execute(
            "INSERT INTO proposals (act, number, params, summary, passport_key, ref, batch, proposed_by, proposed_at, "
            "note, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
            (key, number, json.dumps({"kind": kind, **params}, ensure_ascii=False), summary or key, pkey,
             application.get("ref") if application else None, batch, op.id, now, clean_text(note)))
        pid = int(cursor.lastrowid or 0)
        record_event(self.db, Event("propose", now, op.id, number=number, reason=key, note=note,
                                    detail={"proposal": pid, **({"batch": batch} if batch else {})}, proposal_id=pid))
        return pid

    @staticmethod
    def _done(key: str, result: Mapping[str, Any]) -> Outcome:
        extra = {k: v for k, v in result.items() if k not in ("number", "state", "card")}
        return Outcome("done", key, result.get("number"), result.get("state"), result.get("card"), extra=extra)

    def approve(self, op: Operator | None, proposal_id: int) -> Outcome:
        """Carry out a pending proposal as its proposer's act, approved by `op` (a different officer and a
        different person)."""
        op = require_active(op)
        if not op.is_officer:
            raise forbidden("only an officer approves")
        now = self.clock()
        with write_transaction(self.db):
            prop = self._pending(proposal_id)
            proposer = operator_by_id(self.db, prop["proposed_by"])
            if proposer.id == op.id:
                raise OfficeError("self-approval", f"proposal {proposal_id} was made by {op.name}: the approval must "
                                                   "come from a different officer", FORBIDDEN)
            if proposer.person == op.person:
                raise OfficeError("same-person", f"proposal {proposal_id} was made by the same person under the "
                                                 f"account {proposer.name}: the approval must come from a different "
                                                 "person", FORBIDDEN)
            if proposer.revoked_at is not None:
                raise OfficeError("proposer-revoked", f"the account that proposed {proposal_id} was revoked; propose "
                                                      "the act again")
            params = json.loads(prop["params"])
            kind = params.pop("kind")
            result = ACTS[kind]().run(self, params, Acting(proposer.id, op.id, prop["note"], prop["id"]), now)
            self.db.execute("UPDATE proposals SET state = 'approved', decided_by = ?, decided_at = ?, result = ? "
                            "WHERE id = ?", (op.id, now, json.dumps(result), prop["id"]))
        return self._done(prop["act"], {**result, "proposal": prop["id"]})

    def approve_batch(self, op: Operator | None, batch: str) -> list[Outcome]:
        ids = [r["id"] for r in rows(self.db, "SELECT id FROM proposals WHERE batch = ? AND state = 'pending' "
                                     "ORDER BY id", (batch,))]
        if not ids:
            raise OfficeError("no-proposal", f"no pending proposal in batch {batch}", NOT_FOUND)
        return [self.approve(op, pid) for pid in ids]

    def reject(self, op: Operator | None, proposal_id: int, note: str | None = None) -> Outcome:
        op = require_active(op)
        if not op.is_officer:
            raise forbidden("only an officer rejects a proposal")
        now = self.clock()
        with write_transaction(self.db):
            prop = self._pending(proposal_id)
            self.db.execute("UPDATE proposals SET state = 'rejected', decided_by = ?, decided_at = ? WHERE id = ?",
                            (op.id, now, prop["id"]))
            record_event(self.db, Event("reject", now, op.id, number=prop["number"], reason=prop["act"], note=note,
                                        detail={"proposal": prop["id"]}, proposal_id=prop["id"]))
        return Outcome("rejected", prop["act"], prop["number"], proposal=prop["id"])

    def _pending(self, proposal_id: int) -> dict:
        prop = one(self.db, "SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        if prop is None:
            raise OfficeError("no-proposal", f"there is no proposal {proposal_id}", NOT_FOUND)
        if prop["state"] != "pending":
            raise OfficeError("proposal-decided", f"proposal {proposal_id} was already {prop['state']}")
        return prop

    def pending(self) -> list[dict]:
        return rows(self.db, "SELECT p.id, p.act, p.number, p.summary, p.batch, o.name AS proposed_by, "
                    "p.proposed_at, p.note FROM proposals p JOIN operators o ON o.id = p.proposed_by "
                    "WHERE p.state = 'pending' ORDER BY p.id")

    # ---- the acts ------------------------------------------------------------------------------------------

    def issue(self, op: Operator | None, app: Application, note: str | None = None) -> Outcome:
        summary = (f"issue: {app.surname}, {app.given_names} ({app.nationality}, born {app.birth_date}, "
                   f"passport {app.passport_country} {app.passport_number})")
        return self._act(op, "issue", "issue", {"application": application_params(app)}, note, summary=summary)

    def transition(self, op: Operator | None, number: str, action: str, reason: str | None = None,
                   note: str | None = None) -> Outcome:
        if action not in STATUS_ACTIONS:
            raise OfficeError("bad-action", f"the status actions are {', '.join(STATUS_ACTIONS)}", INVALID)
        if action == "revoke" and reason not in GROUNDS:
            raise OfficeError("bad-ground", f"revocation needs one of the statutory grounds: {', '.join(GROUNDS)}",
                              INVALID)
        if action == "suspend":
            reason = reason or "investigation"
            if reason not in SUSPEND_REASONS:
                raise OfficeError("bad-reason", f"a suspension is for {' or '.join(SUSPEND_REASONS)}", INVALID)
        if action == "reinstate":
            reason = clean_text(reason, 200)
        if action in ("surrender", "record-death", "expire") and reason:
            raise OfficeError("bad-reason", f"{action} takes no reason", INVALID)
        self._start(op, action)
        number = lifecycle.get_permit(self.db, number)["number"]
        return self._act(op, "transition", action, {"action": action, "number": number, "reason": reason}, note,
                         number, f"{action} {number}" + (f" ({reason})" if reason else ""))

    def renew(self, op: Operator | None, number: str, override: str | None = None, note: str | None = None) -> Outcome:
        override = clean_text(override, 200)
        if override is not None and not require_active(op).is_officer:
            raise forbidden("only an officer overrides the residence requirement")
        self._start(op, "renew")
        number = lifecycle.get_permit(self.db, number)["number"]
        return self._act(op, "renew", "renew", {"number": number, "override": override}, note, number,
                         f"renew {number}" + (f" overriding residence: {override}" if override else ""))

    def replace(self, op: Operator | None, number: str, why: str, changes: Mapping[str, object],
                note: str | None = None) -> Outcome:
        if why not in lifecycle.REPLACE_REASONS:
            raise OfficeError("bad-reason", f"a replacement reason is one of {', '.join(lifecycle.REPLACE_REASONS)}",
                              INVALID)
        self._start(op, f"replace:{why}")
        number = lifecycle.get_permit(self.db, number)["number"]
        changed = sorted(k for k in changes if k != "photo_type")
        return self._act(op, "replace", f"replace:{why}",
                         {"number": number, "why": why, "changes": changes_params(changes)}, note, number,
                         f"replace {number} ({why})" + (f": {', '.join(changed)}" if changed else ""))

    def change_passport(self, op: Operator | None, number: str, country: str, passport: str,
                        note: str | None = None) -> Outcome:
        self._start(op, "passport-change")
        number = lifecycle.get_permit(self.db, number)["number"]
        return self._act(op, "passport-change", "passport-change",
                         {"number": number, "passport_country": country, "passport_number": passport}, note, number,
                         f"passport of {number}: {country} {passport}")

    def appeal(self, op: Operator | None, number: str, kind: str, filed: date, case: str, note: str | None = None,
               late_reason: str | None = None) -> dict[str, Any]:
        op = self._start(op, "appeal")
        now = self.clock()
        with write_transaction(self.db):
            return appeals.file(self.db, number, kind, filed, case, Acting(op.id, None, note), now, late_reason)

    def decide_appeal(self, op: Operator | None, appeal_id: int, outcome: str, decided: date,
                      note: str | None = None) -> Outcome:
        self._start(op, "appeal-decide")
        found = appeals.get(self.db, appeal_id, self.clock())
        return self._act(op, "appeal-decide", "appeal-decide",
                         {"appeal": appeal_id, "outcome": outcome, "decided": decided.isoformat()}, note,
                         found["number"], f"appeal {appeal_id} ({found['kind']} {found['case']}): {outcome}")

    def appeals(self, overdue: bool = False, number: str | None = None) -> list[dict]:
        return appeals.listing(self.db, self.clock(), overdue, number)

    def record_presence(self, op: Operator | None, figures: Mapping[tuple[str, int], int], source: str,
                        note: str | None = None) -> int:
        """Record days present {(number, year): days}, all or nothing; one event per figure."""
        op = self._start(op, "presence")
        now = self.clock()
        this_year = local_date(now).year
        with write_transaction(self.db):
            for (number, year), days in sorted(figures.items()):
                permit = lifecycle.get_permit(self.db, number)
                if not 1900 <= year <= this_year or not 0 <= days <= (366 if calendar.isleap(year) else 365):
                    raise OfficeError("bad-presence", f"permit {number}: {days} days in {year} is not possible",
                                      INVALID)
                self.db.execute("INSERT OR REPLACE INTO presence (number, year, days, source, recorded_at) VALUES "
                                "(?, ?, ?, ?, ?)", (permit["number"], year, days, source, now))
                record_event(self.db, Event("presence", now, op.id, number=permit["number"],
                                            from_state=permit["state"], to_state=permit["state"], note=note,
                                            detail={"year": year, "days": days, "source": source}))
        return len(figures)

    def import_presence(self, op: Operator | None, text: str, source: str, note: str | None = None) -> int:
        return self.record_presence(op, residence.days_from_stays(text, local_date(self.clock())), source, note)

    def expire_all(self, op: Operator | None, note: str | None = None) -> list[str]:
        op = self._start(op, "expire")
        return lifecycle.expire_all(self.db, self.clock(), Acting(op.id, None, note))

    def reissue(self, op: Operator | None, kid: str, note: str | None = None) -> int:
        op = self._start(op, "reissue")
        return lifecycle.reissue(self.db, kid, self.clock(), Acting(op.id, None, note), self.signing())

    def issue_many(self, op: Operator | None, applications: Iterable[tuple[int, Application]], batch: str,
                   note: str | None = None) -> tuple[int, int, list[str]]:
        """Issue (or, under four eyes, propose in batch `batch`) every application, in one transaction with a
        savepoint per row. Returns (done, already issued or proposed, refusals as "line N: why")."""
        from registry.office.batch import issue_rows

        return issue_rows(self, self._start(op, "issue"), applications, batch, note)
