"""The office's rules as tables: revocation grounds and their re-application bars, the acts that need a
second operator (four eyes), the residence requirement checked at renewal, and the relief deadlines.

The tables here are the defaults; a registry home's config (`office` in config.json) may override the
bars, the four-eyes acts and the residence rule. docs/registry.md prints these tables, generated from
this module by tests/test_office_docs.py, with the sources and the assumptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.office.errors import INVALID, OfficeError


@dataclass(frozen=True)
class Ground:
    """A statutory ground for revocation and the default bar on a new application after it."""

    description: str
    bar_years: int
    source: str


# Exit and Entry Administration Law (2012) art. 49 lists when a permanent residence is revoked; the 2016
# Opinion on Strengthening the Service and Management of Foreigners' Permanent Residence (item 22) says a
# revoked resident's re-application "should be restricted for a specific period" without naming one.
GROUNDS: Mapping[str, Ground] = {
    "national-security": Ground("threat to national security or interests", 10,
                                "EEAL art. 49(1); bar assumed equal to the 10-year entry ban after expulsion "
                                "(EEAL art. 81)"),
    "expelled": Ground("expelled from the country", 10, "EEAL art. 49(2); no entry for 10 years after "
                                                        "expulsion (EEAL art. 81)"),
    "fraud": Ground("fraud in the application", 5, "EEAL art. 49(3); bar assumed at the longest entry ban "
                                                   "after repatriation, 5 years (EEAL art. 62)"),
    "insufficient-residence": Ground("insufficient residence in the country", 1,
                                     "EEAL art. 49(4); assumption: one year, to show a year of residence"),
    "talent-authority-withdrawal": Ground("withdrawn by the talent introduction authority", 1,
                                          "EEAL art. 49(5); assumption: one year"),
    "ineligible": Ground("no longer eligible", 0, "EEAL art. 49(5); assumption: no bar, apply again once "
                                                  "eligible"),
}
SUSPEND_REASONS = ("investigation", "reconsideration")
REPLACE_REASONS = ("lost", "damaged", "data-changed")

# Every act that a policy may put under four eyes (act, or act:reason for replacements).
FOUR_EYES_ACTS: Mapping[str, str] = {
    "issue": "issuing a permit",
    "revoke": "revoking a permit",
    "suspend": "suspending a permit",
    "reinstate": "reinstating a suspended or revoked permit",
    "surrender": "recording a surrender",
    "record-death": "recording the holder's death",
    "renew": "renewing (a new card, a new validity window)",
    "replace:lost": "a replacement card for a lost one (the old card is superseded)",
    "replace:damaged": "a replacement card for a damaged one handed in",
    "replace:data-changed": "a replacement card with changed holder data",
    "passport-change": "recording the holder's new passport",
    "appeal-decide": "recording an appeal's outcome (overturned reinstates the permit)",
}
DEFAULT_FOUR_EYES = ("issue", "revoke", "reinstate", "record-death", "replace:lost", "replace:data-changed",
                     "passport-change", "appeal-decide")


@dataclass(frozen=True)
class Residence:
    """At renewal: at least `min_days` days present in each of the last `years` full calendar years that the
    current card covered (years before its issue are not asked for)."""

    min_days: int = 90
    years: int = 5


RESIDENCE_SOURCE = ("EEAL art. 49(4) and the Measures for the Examination and Approval of Foreigners' Permanent "
                    "Residence in China (2004) art. 22(4) cancel a permanent residence when the holder has not "
                    "resided in China for the required period; the period is assumed here to be three months "
                    "(90 days) a year, as commonly stated for holders, to be confirmed by the office")


@dataclass(frozen=True)
class Policy:
    four_eyes: frozenset[str]
    bar_years: Mapping[str, int]
    residence: Residence

    def needs_approval(self, act: str) -> bool:
        return act in self.four_eyes

    def to_json(self) -> dict[str, Any]:
        return {"four_eyes": sorted(self.four_eyes), "bar_years": dict(self.bar_years),
                "residence": {"min_days": self.residence.min_days, "years": self.residence.years}}


DEFAULT_POLICY = Policy(frozenset(DEFAULT_FOUR_EYES), {k: g.bar_years for k, g in GROUNDS.items()}, Residence())


def _bad(message: str) -> OfficeError:
    return OfficeError("bad-policy", f"the office policy in config.json is not valid: {message}", INVALID)


def load_policy(raw: Mapping[str, Any] | None) -> Policy:
    """The policy of a home's config (`office`), defaults for what it leaves out; a bad value is refused."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - {"four_eyes", "bar_years", "residence"})
    if unknown:
        raise _bad(f"unknown key(s) {', '.join(unknown)}")
    four = raw.get("four_eyes", list(DEFAULT_FOUR_EYES))
    if not isinstance(four, list) or not all(isinstance(a, str) and a in FOUR_EYES_ACTS for a in four):
        raise _bad(f"four_eyes is a list of acts among {', '.join(FOUR_EYES_ACTS)}")
    bars = {k: g.bar_years for k, g in GROUNDS.items()}
    given = raw.get("bar_years", {})
    if not isinstance(given, dict):
        raise _bad("bar_years maps a ground to whole years")
    for ground, years in given.items():
        if ground not in GROUNDS or not isinstance(years, int) or isinstance(years, bool) or not 0 <= years <= 99:
            raise _bad(f"bar_years: {ground!r} must be a revocation ground with 0 to 99 years")
        bars[ground] = years
    res = raw.get("residence", {})
    if not isinstance(res, dict) or set(res) - {"min_days", "years"}:
        raise _bad("residence has min_days and years")
    residence = Residence(res.get("min_days", Residence.min_days), res.get("years", Residence.years))
    if not (isinstance(residence.min_days, int) and 0 <= residence.min_days <= 366
            and isinstance(residence.years, int) and 0 <= residence.years <= 20):
        raise _bad("residence.min_days is 0 to 366 and residence.years 0 to 20")
    return Policy(frozenset(four), bars, residence)
