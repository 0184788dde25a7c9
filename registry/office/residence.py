"""The residence requirement checked at renewal, and the days present it is checked against.

Days present per permit and calendar year are recorded by an operator (`registry presence record`) or
computed from a CSV of entries and exits (`registry presence import`): each stay counts every calendar
day from the entry to the exit, both included (a stay with no exit yet counts up to the import date);
overlapping stays count a day once. An imported figure replaces the year's earlier figure.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta

import sqlite_utils

from keys.permit import local_date
from registry import lifecycle
from registry.office.errors import CONFLICT, INVALID, OfficeError
from registry.office.policy import Residence
from registry.store import rows

MAX_IMPORT_ROWS = 1_000_000
PRESENCE_COLUMNS = ("number", "entry", "exit")


def years_checked(db: sqlite_utils.Database, number: str, rule: Residence, now: int) -> dict[str, int | None]:
    """{year: days present or None if not recorded} for the years the rule looks at: the last `rule.years`
    full calendar years covered by the current card before `now`."""
    if rule.years <= 0 or rule.min_days <= 0:
        return {}
    card = lifecycle.current_card(db, number)
    first = local_date(card["valid_from"])
    first_full = first.year if (first.month, first.day) == (1, 1) else first.year + 1
    years = [y for y in range(first_full, local_date(now).year)][-rule.years:]
    if not years:
        return {}
    found = {r["year"]: r["days"] for r in rows(db, f"SELECT year, days FROM presence WHERE number = ? AND year IN "
                                                    f"({', '.join('?' * len(years))})", (number, *years))}
    return {str(y): found.get(y) for y in years}


def require(db: sqlite_utils.Database, number: str, rule: Residence, now: int) -> None:
    """Refuse a renewal whose holder was present fewer than `rule.min_days` days in a year checked."""
    found = years_checked(db, number, rule, now)
    short = {y: d for y, d in found.items() if d is None or d < rule.min_days}
    if short:
        listed = ", ".join(f"{y}: {'no record' if d is None else f'{d} days'}" for y, d in short.items())
        raise OfficeError("residence-not-met", f"permit {number}: the residence requirement is not met ({listed}; at "
                                               f"least {rule.min_days} days a year); an officer may renew with an "
                                               "override and its reason", CONFLICT)


def parse_day(text: str, what: str) -> date:
    try:
        if len(text.strip()) != 10:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OfficeError("bad-date", f"{what} must be a date written YYYY-MM-DD", INVALID) from None


def days_from_stays(text: str, today: date) -> dict[tuple[str, int], int]:
    """{(permit number, year): days present} from CSV text with the columns number, entry, exit. Every bad
    row is reported at once (OfficeError naming the lines); nothing is returned half-read."""
    try:
        return _days_from_rows(csv.DictReader(io.StringIO(text)), today)
    except csv.Error as exc:  # a stray carriage return, an unterminated quote: the file is not CSV
        raise OfficeError("bad-csv", f"not a readable CSV file: {exc}; nothing was recorded", INVALID) from None


def _days_from_rows(reader: csv.DictReader, today: date) -> dict[tuple[str, int], int]:
    if sorted(reader.fieldnames or []) != sorted(PRESENCE_COLUMNS):
        raise OfficeError("bad-csv", f"the columns are {', '.join(PRESENCE_COLUMNS)}", INVALID)
    present: dict[str, set[date]] = defaultdict(set)
    problems: list[str] = []
    for count, row in enumerate(reader, 1):
        if count > MAX_IMPORT_ROWS:
            raise OfficeError("bad-csv", f"more than {MAX_IMPORT_ROWS} rows", INVALID)
        line = reader.line_num
        try:
            number = (row["number"] or "").strip().upper()
            if len(number) != 18:
                raise OfficeError("bad-number", "number must be an 18-character permit number", INVALID)
            entry = parse_day(row["entry"] or "", "entry")
            leave = parse_day(row["exit"], "exit") if (row["exit"] or "").strip() else today
            if leave < entry or leave > today:
                raise OfficeError("bad-date", "exit must be on or after entry and not in the future", INVALID)
            if (leave - entry).days > 366 * 20:
                raise OfficeError("bad-date", "a stay of more than 20 years", INVALID)
        except OfficeError as exc:
            problems.append(f"line {line}: {exc.message}")
            continue
        present[number].update(entry + timedelta(days=i) for i in range((leave - entry).days + 1))
    if problems:
        raise OfficeError("bad-csv", f"{len(problems)} bad row(s), nothing was recorded:\n  " + "\n  ".join(problems),
                          INVALID)
    out: dict[tuple[str, int], int] = defaultdict(int)
    for number, days in present.items():
        for d in days:
            out[(number, d.year)] += 1
    return dict(out)
