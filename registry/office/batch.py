"""A batch of applications (`registry import`): every row goes through the same rules as one issuance.

Safe to re-run: a row whose reference was already issued or proposed, or (without a reference) whose
passport already holds a live permit for the same birth date and sex, or waits for approval, counts as
already done. A row for a passport that holds someone else's permit, or is barred, is refused with the
reason; the other rows go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from keys.errors import PermitError
from registry.issuance import passport_key
from registry.office import acts
from registry.office.operators import Operator
from registry.office.record import Acting
from registry.store import StoreError, one, write_transaction
from registry.validation import Application

if TYPE_CHECKING:
    from registry.office.service import Office


def _already(office: Office, app: Application) -> bool:
    db = office.db
    if app.ref:
        return bool(one(db, "SELECT 1 AS x FROM permits WHERE applicant_key = ?", ("ref:" + app.ref,))
                    or one(db, "SELECT 1 AS x FROM proposals WHERE state = 'pending' AND ref = ?", (app.ref,)))
    same = one(db, "SELECT 1 AS x FROM permits WHERE passport_country = ? AND passport_number = ? AND birth_date = ? "
               "AND sex = ? AND state IN ('active', 'suspended', 'expired')",
               (app.passport_country, app.passport_number, app.birth_date.isoformat(), app.sex))
    waiting = one(db, "SELECT 1 AS x FROM proposals WHERE state = 'pending' AND passport_key = ?",
                  (passport_key(app.passport_country, app.passport_number),))
    return bool(same or waiting)


def issue_rows(office: Office, op: Operator, applications: Iterable[tuple[int, Application]], batch: str,
               note: str | None) -> tuple[int, int, list[str]]:
    done = skipped = 0
    refused: list[str] = []
    four_eyes = office.policy.needs_approval("issue")
    now = office.clock()
    with write_transaction(office.db):
        for line, app in applications:
            try:
                if _already(office, app):
                    skipped += 1
                    continue
                with office.db.atomic():  # a savepoint: a row that fails while signing leaves nothing behind
                    if four_eyes:
                        acts.check_application(office, app, now)
                        office._propose(op, "issue", "issue", {"application": acts.application_params(app)}, note,
                                        None, f"issue: {app.surname}, {app.given_names} (import line {line})", now,
                                        batch)
                    else:
                        acts.issue_application(office, app, Acting(op.id, None, note), now)
                done += 1
            except StoreError:
                raise
            except PermitError as exc:
                refused.append(f"line {line}: {exc.message}")
    return done, skipped, refused
