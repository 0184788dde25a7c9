"""Allocation of permit numbers and status-list entries. Call both inside `store.write_transaction`.

Permit number: the lowest free sequence of the holder's sex (odd for male 1..999, even for female
2..998) for the 14-digit prefix 9 + province + nationality + birth date; the PRIMARY KEY on the
number makes a duplicate impossible even if a caller forgot the transaction.

Status entry: a random index (secrets.randbelow) in the newest list, which has LIST_SIZE 2-bit entries;
once a list is FULL_RATIO used a new list id is opened. Entries are never reused (UNIQUE(list_id, idx)).
"""

from __future__ import annotations

import secrets
from datetime import date

import sqlite_utils

from keys import countries, number
from keys.errors import Cause, PermitError, Reason
from registry.store import StoreError, one, rows

LIST_SIZE = 131_072
FULL_RATIO = 0.9
_MAX_TRIES = 1000


class ExhaustedError(PermitError):
    """No permit number is left for this prefix and sex."""

    reason = Reason.USAGE
    cause = Cause.CONFLICT


def allocate_number(db: sqlite_utils.Database, province: str, nationality: str, birth: date, sex: str) -> str:
    """The next free permit number for these holder data (the caller holds the write lock)."""
    numeric = countries.alpha3_to_numeric(nationality)
    prefix = f"9{province}{numeric:03d}{birth:%Y%m%d}"
    taken = {int(r["number"][14:17]) for r in rows(
        db, "SELECT number FROM permits WHERE number >= ? AND number < ?", (prefix, prefix + "A"))}
    first = 1 if sex == "M" else 2
    for sequence in range(first, 1000, 2):
        if sequence not in taken:
            return number.compose(province, numeric, birth, sequence)
    raise ExhaustedError(
        f"every {'male' if sex == 'M' else 'female'} sequence number for province {province}, nationality "
        f"{nationality} and birth date {birth.isoformat()} is taken; no permit number can be allocated")


def allocate_status_entry(db: sqlite_utils.Database, now: int, taken: set[tuple[int, int]] | None = None,
                          ) -> tuple[int, int]:
    """(list id, index) of a fresh status-list entry; counts it as used in its list. `taken`: entries drawn
    already but whose allocation rows are not stored yet (a batch signing in a pool); the one drawn is added."""
    current = one(db, "SELECT list_id, size, used FROM status_lists ORDER BY list_id DESC LIMIT 1")
    if current is None or current["used"] >= int(current["size"] * FULL_RATIO):
        list_id = 1 if current is None else current["list_id"] + 1
        db.execute("INSERT INTO status_lists (list_id, size, used, created_at) VALUES (?, ?, 0, ?)",
                   (list_id, LIST_SIZE, now))
        size = LIST_SIZE
    else:
        list_id, size = current["list_id"], current["size"]
    for _ in range(_MAX_TRIES):
        idx = secrets.randbelow(size)
        if (taken is None or (list_id, idx) not in taken) and one(
                db, "SELECT 1 AS x FROM allocations WHERE list_id = ? AND idx = ?", (list_id, idx)) is None:
            db.execute("UPDATE status_lists SET used = used + 1 WHERE list_id = ?", (list_id,))
            if taken is not None:
                taken.add((list_id, idx))
            return list_id, idx
    raise StoreError(f"no free status entry found in list {list_id} after {_MAX_TRIES} tries")
