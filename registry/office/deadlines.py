"""Statutory deadlines of the relief path against a revocation or suspension (pure date arithmetic).

Reconsideration: Administrative Reconsideration Law (revised 2023, in force 1 January 2024).
Litigation: Administrative Litigation Law (revised 2017). docs/registry.md prints this table, generated
from it. Days are calendar days; a period in months ends on the same day of the month (or the month's
last day). The organ's acceptance period is added before the decision period starts (assumption: the
filing date stands for the date the application was received).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Period:
    months: int = 0
    days: int = 0

    def after(self, d: date) -> date:
        month = d.month - 1 + self.months
        year, month = d.year + month // 12, month % 12 + 1
        day = min(d.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=self.days)

    def __str__(self) -> str:
        parts = ([f"{self.months} months"] if self.months else []) + ([f"{self.days} days"] if self.days else [])
        return " + ".join(parts) or "0 days"


@dataclass(frozen=True)
class AppealRule:
    window: Period
    window_source: str
    due: Period
    due_source: str
    after_reconsideration: Period | None = None
    after_reconsideration_source: str = ""


APPEAL_RULES: Mapping[str, AppealRule] = {
    "reconsideration": AppealRule(
        window=Period(days=60),
        window_source="ARL art. 20: apply within 60 days of knowing of the act",
        due=Period(days=65),
        due_source="ARL art. 30 (5 days to examine and accept the application) and art. 62 (decision within 60 "
                   "days of acceptance; extendable by at most 30 days, simplified procedure 30 days)",
    ),
    "litigation": AppealRule(
        window=Period(months=6),
        window_source="ALL art. 46: sue within 6 months of knowing of the act",
        due=Period(months=6, days=7),
        due_source="ALL art. 51 (7 days to docket the complaint) and art. 81 (first-instance judgment within 6 "
                   "months of docketing)",
        after_reconsideration=Period(days=15),
        after_reconsideration_source="ALL art. 45: sue within 15 days of receiving the reconsideration decision",
    ),
}
KINDS = tuple(APPEAL_RULES)
OUTCOMES = ("upheld", "overturned")


def window_end(kind: str, decision: date, reconsidered: date | None = None) -> date:
    """The last day to file: after the act's decision, or after a reconsideration decision for a suit."""
    rule = APPEAL_RULES[kind]
    if reconsidered is not None and rule.after_reconsideration is not None:
        return rule.after_reconsideration.after(reconsidered)
    return rule.window.after(decision)


def due_day(kind: str, filed: date) -> date:
    """The day by which the organ or court must decide."""
    return APPEAL_RULES[kind].due.after(filed)
