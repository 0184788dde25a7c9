"""A batch of applications (`registry import`): every row goes through the same rules as one issuance.

Safe to re-run: a row whose reference was already issued or proposed, or (without a reference) whose
passport already holds a live permit for the same birth date and sex, or waits for approval, counts as
already done. A row for a passport that holds someone else's permit, or is barred, is refused with the
reason; the other rows go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from typing import TYPE_CHECKING

from keys.errors import PermitError
from keys.permit import Permit
from registry.issuance import finish_issue, passport_key, prepare_issue
from registry.office import acts
from registry.office.errors import OfficeError
from registry.office.operators import Operator
from registry.office.record import Acting
from registry.office.signing_pool import GROUP, SigningFailed, poolable, signing_pool, texts_of
from registry.store import StoreError, one, savepoint, write_transaction
from registry.validation import Application
from verifier.batch import default_jobs

POOL_FROM = 64  # rows; fewer are issued in this process (forking the pool would cost more than it saves)

if TYPE_CHECKING:
    from registry.office.service import Office


def _already(office: Office, app: Application) -> bool:
    """A row without a reference already done: its passport holds a live permit for the same birth date
    and sex, or waits for approval. (A row with a reference is checked by check_application itself, whose
    refusal "ref-issued" counts as already done: the same two reads, made once.)"""
    if app.ref:
        return False
    db = office.db
    same = one(db, "SELECT 1 AS x FROM permits WHERE passport_country = ? AND passport_number = ? AND birth_date = ? "
               "AND sex = ? AND state IN ('active', 'suspended', 'expired')",
               (app.passport_country, app.passport_number, app.birth_date.isoformat(), app.sex))
    waiting = one(db, "SELECT 1 AS x FROM proposals WHERE state = 'pending' AND passport_key = ?",
                  (passport_key(app.passport_country, app.passport_number),))
    return bool(same or waiting)


@dataclass
class _Tally:
    """What a batch did with its rows: issued or proposed, already done before, refused with the reason."""

    done: int = 0
    skipped: int = 0
    refused: list[str] = field(default_factory=list)

    def refuse(self, line: int, exc: PermitError) -> None:
        """A row refused: already done if its reference was issued or waits (ref-issued), else listed."""
        if isinstance(exc, OfficeError) and exc.code == acts.REF_DONE:
            self.skipped += 1
        else:
            self.refused.append(f"line {line}: {exc.message}")

    def counts(self) -> tuple[int, int, list[str]]:
        return self.done, self.skipped, self.refused


def issue_rows(office: Office, op: Operator, applications: Iterable[tuple[int, Application]], batch: str,
               note: str | None) -> tuple[int, int, list[str]]:
    """Issue (or propose) every row. Direct issuance with a software key signs in a pool across cores
    (registry/office/signing_pool.py); if the pool cannot sign a card, the transaction is rolled back and
    the batch is issued one row at a time, which refuses that row with its reason."""
    rows = list(applications)
    if not office.policy.needs_approval("issue") and len(rows) >= POOL_FROM and default_jobs() > 1 and poolable(
            office.signing()):
        try:
            return _issue_pooled(office, op, rows, note)
        except SigningFailed:
            pass
    return _issue_one_by_one(office, op, rows, batch, note)


def _issue_pooled(office: Office, op: Operator, rows: list[tuple[int, Application]], note: str | None,
                  ) -> tuple[int, int, list[str]]:
    tally = _Tally()
    now = office.clock()
    signing = office.signing()
    acting = Acting(op.id, None, note)
    taken: set[tuple[int, int]] = set()
    in_flight: deque[tuple[list[Permit], AsyncResult]] = deque()

    def store(permits: list[Permit], result: AsyncResult) -> None:
        for permit, text in zip(permits, texts_of(result), strict=True):
            finish_issue(office.db, permit, text, signing, acting)
            taken.discard((permit.status_list, permit.status_index))

    with signing_pool(signing) as sign, write_transaction(office.db):
        group: list[Permit] = []
        for position, (line, app) in enumerate(rows, start=1):
            try:
                if _already(office, app):
                    tally.skipped += 1
                else:
                    with savepoint(office.db):  # a savepoint: a refused row leaves nothing behind
                        acts.check_application(office, app, now)
                        group.append(prepare_issue(office.db, app, signing, now, taken)[1])
                    tally.done += 1
            except StoreError:
                raise
            except PermitError as exc:
                tally.refuse(line, exc)
            if len(group) >= GROUP or (position == len(rows) and group):
                in_flight.append((group, sign(group)))
                group = []
                while len(in_flight) > default_jobs():
                    store(*in_flight.popleft())
        while in_flight:
            store(*in_flight.popleft())
    return tally.counts()


def _issue_one_by_one(office: Office, op: Operator, rows: list[tuple[int, Application]], batch: str,
                      note: str | None) -> tuple[int, int, list[str]]:
    tally = _Tally()
    four_eyes = office.policy.needs_approval("issue")
    now = office.clock()
    with write_transaction(office.db):
        for line, app in rows:
            try:
                if _already(office, app):
                    tally.skipped += 1
                    continue
                with savepoint(office.db):  # a savepoint: a row that fails while signing leaves nothing behind
                    if four_eyes:
                        acts.check_application(office, app, now)
                        office._propose(op, "issue", "issue", {"application": acts.application_params(app)}, note,
                                        None, f"issue: {app.surname}, {app.given_names} (import line {line})", now,
                                        batch)
                    else:
                        acts.issue_application(office, app, Acting(op.id, None, note), now)
                tally.done += 1
            except StoreError:
                raise
            except PermitError as exc:
                tally.refuse(line, exc)
    return tally.counts()
