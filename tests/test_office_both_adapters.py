"""One table of the office's rules, run through both adapters: `registry ...` (click's runner) and the admin
API (Flask's test client), each on its own registry home. Every step must give the same outcome (done,
pending with the same proposal, or refused with the same message), and the two registers must end
identical (permits, cards, status values, events with their operators and approvers, proposals, bars,
appeals)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from office_adapters import APPLICANT, OTHER, Api, Cli, counts, snapshot

from keys.permit import local_date
from registry.cli import cli

TODAY = lambda: local_date(int(time.time())).isoformat()  # noqa: E731


def make_home(path: Path) -> Path:
    r = CliRunner().invoke(cli, ["--home", str(path), "init"])
    assert r.exit_code == 0, r.output
    return path


def number_of(home: Path, passport: str) -> str:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return conn.execute("SELECT number FROM permits WHERE passport_number = ? ORDER BY created_at DESC, number "
                            "DESC", (passport,)).fetchone()[0]
    finally:
        conn.close()


class Steps:
    """Runs steps on one adapter, checking each against what the table expects, and keeps the outcomes."""

    def __init__(self, office: Cli | Api) -> None:
        self.office, self.outcomes = office, []

    def __call__(self, expected: str, method: str, *args: object) -> tuple[str, str]:
        kind, detail = getattr(self.office, method)(*args)
        self.outcomes.append((method, kind, detail))
        if expected in ("done", "pending"):
            assert kind == "ok", (self.office.name, method, args, detail)
            assert (detail == "done") == (expected == "done"), (self.office.name, method, args, detail)
        else:
            assert kind == "refused" and expected in detail, (self.office.name, method, args, kind, detail)
        return kind, detail


def four_eyes_issue_and_duplicate(s: Steps, home: Path) -> None:
    s("pending", "issue", "clerk", APPLICANT, "walk-in")
    s("only an officer approves", "approve", "clerk", 1)
    s("done", "approve", "officer", 1)
    before = counts(home)
    smith = number_of(home, "A12345678")
    s(f"already holds permit {smith} (active)", "issue", "clerk", {**APPLICANT, "given_names": "JON"})
    s("already holds permit", "issue", "officer", {**APPLICANT, "passport_number": "a1234-5678"})
    assert counts(home) == before  # refused with nothing written
    s("pending", "issue", "clerk", OTHER)
    s("already has an issuance waiting for approval", "issue", "clerk", {**OTHER, "surname": "MUELLER"})
    s("was already approved", "approve", "officer2", 1)
    s("done", "reject", "officer", 2, "no proof of income")


def officers_approve_each_other_not_themselves(s: Steps, home: Path) -> None:
    s("pending", "issue", "officer", APPLICANT)
    s("must come from a different officer", "approve", "officer", 1)
    s("done", "approve", "officer2", 1)
    smith = number_of(home, "A12345678")
    s("pending", "act", "officer", smith, "revoke", "fraud", "file 9")
    s("must come from a different officer", "approve", "officer", 2)
    s("done", "approve", "admin", 2)
    before = counts(home)
    s("barred from a new application until", "issue", "clerk", APPLICANT)
    assert counts(home) == before


def a_clerk_alone_cannot_revoke_rename_or_supersede(s: Steps, home: Path) -> None:
    s("pending", "issue", "clerk", APPLICANT)
    s("done", "approve", "officer", 1)
    smith = number_of(home, "A12345678")
    s("a clerk cannot start revoke", "act", "clerk", smith, "revoke", "fraud")
    s("a clerk cannot start suspend", "act", "clerk", smith, "suspend")
    s("a clerk cannot start record-death", "act", "clerk", smith, "record-death")
    s("pending", "replace", "clerk", smith, "data-changed", {"surname": "JONES"})
    s("pending", "replace", "clerk", smith, "lost", {})
    s("done", "replace", "clerk", smith, "damaged", {})  # the damaged card is handed in: no second operator
    s("done", "approve", "officer", 2)  # the rename happens only now
    s("done", "approve", "officer", 3)
    s("pending", "passport", "clerk", smith, "USA", "Z9876543")
    s("done", "approve", "officer", 4)
    s("no-change" if False else "already records that passport", "passport", "clerk", smith, "USA", "Z9876543")


def overturned_appeal_reinstates_and_lifts_the_bar(s: Steps, home: Path) -> None:
    s("pending", "issue", "clerk", APPLICANT)
    s("done", "approve", "officer", 1)
    smith = number_of(home, "A12345678")
    s("an appeal is against a revocation or a suspension", "appeal", "clerk", smith, "reconsideration", TODAY(),
      "R-1")
    s("pending", "act", "officer", smith, "revoke", "expelled")
    s("done", "approve", "officer2", 2)
    s("done", "appeal", "clerk", smith, "reconsideration", TODAY(), "R-2026-17")
    s("is undecided", "appeal", "clerk", smith, "reconsideration", TODAY(), "R-2026-18")
    s("a clerk cannot start appeal-decide", "decide", "clerk", 1, "overturned", TODAY())
    s("pending", "decide", "officer", 1, "overturned", TODAY())
    s("done", "approve", "officer2", 3)
    s("already decided: overturned", "decide", "officer", 1, "upheld", TODAY())
    s("already holds permit", "issue", "clerk", APPLICANT)  # active again: not barred, but one permit


def upheld_appeal_keeps_the_bar_and_opens_litigation(s: Steps, home: Path) -> None:
    s("pending", "issue", "clerk", APPLICANT)
    s("done", "approve", "officer", 1)
    smith = number_of(home, "A12345678")
    s("pending", "act", "officer", smith, "revoke", "fraud")
    s("done", "approve", "officer2", 2)
    s("done", "appeal", "clerk", smith, "reconsideration", TODAY(), "R-7")
    s("pending", "decide", "officer", 1, "upheld", TODAY())
    s("done", "approve", "officer2", 3)
    s("done", "appeal", "clerk", smith, "litigation", TODAY(), "(2026) Jing 01 Xing Chu 5")
    s("barred from a new application until", "issue", "clerk", APPLICANT)


def notes_lose_their_control_characters(s: Steps, home: Path) -> None:
    s("pending", "issue", "clerk", APPLICANT, "walk\x1b[31m-in\u202e\x07 today")
    s("done", "approve", "officer", 1)
    conn = sqlite3.connect(home / "registry.db")
    notes = [r[0] for r in conn.execute("SELECT note FROM events WHERE note IS NOT NULL")]
    conn.close()
    assert notes and all(n == "walk[31m-in today" for n in notes)


SCENARIOS: list[Callable[[Steps, Path], None]] = [
    four_eyes_issue_and_duplicate, officers_approve_each_other_not_themselves,
    a_clerk_alone_cannot_revoke_rename_or_supersede, overturned_appeal_reinstates_and_lifts_the_bar,
    upheld_appeal_keeps_the_bar_and_opens_litigation, notes_lose_their_control_characters,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_both_adapters_give_identical_outcomes(scenario: Callable[[Steps, Path], None], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", "correct horse battery")
    (tmp_path / "apps").mkdir()
    cli_home, api_home = make_home(tmp_path / "cli"), make_home(tmp_path / "api")
    via_cli, via_api = Steps(Cli(cli_home, tmp_path / "apps")), Steps(Api(api_home, time.time))
    scenario(via_cli, cli_home)
    scenario(via_api, api_home)
    assert via_cli.outcomes == via_api.outcomes
    assert snapshot(cli_home) == snapshot(api_home)


def test_appeal_deadlines_are_listed_and_overdue_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filed today: reconsideration due in 65 days (ARL arts. 30, 62); 70 days on, both adapters list it overdue."""
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", "correct horse battery")
    (tmp_path / "apps").mkdir()
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    homes = make_home(tmp_path / "cli"), make_home(tmp_path / "api")
    offices = Cli(homes[0], tmp_path / "apps"), Api(homes[1], lambda: clock[0])
    for office, home in zip(offices, homes, strict=True):
        s = Steps(office)
        s("pending", "issue", "clerk", APPLICANT)
        s("done", "approve", "officer", 1)
        smith = number_of(home, "A12345678")
        s("pending", "act", "officer", smith, "revoke", "fraud")
        s("done", "approve", "officer2", 2)
        s("done", "appeal", "clerk", smith, "reconsideration", TODAY(), "R-1")
    today = date.fromisoformat(TODAY())
    for office in offices:
        [listed] = office.appeals()
        assert (date.fromisoformat(listed["window_end"]) - today).days == 60
        assert (date.fromisoformat(listed["due"]) - today).days == 65 and not listed["overdue"]
        assert office.appeals(overdue=True) == []
    clock[0] += 70 * 86400
    assert [a["case"] for a in offices[0].appeals(overdue=True)] == [a["case"] for a in offices[1].appeals(True)] \
        == ["R-1"]


def test_residence_at_renewal_through_both_adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two years on, the renewal needs the days present in the full year the card covered: refused without
    a record, refused when short, overridden only by an officer, accepted once the stays are imported."""
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", "correct horse battery")
    (tmp_path / "apps").mkdir()
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    homes = make_home(tmp_path / "cli"), make_home(tmp_path / "api")
    offices = Steps(Cli(homes[0], tmp_path / "apps")), Steps(Api(homes[1], lambda: clock[0]))
    start = clock[0]
    for s, home in zip(offices, homes, strict=True):
        clock[0] = start
        s("pending", "issue", "clerk", APPLICANT)
        s("done", "approve", "officer", 1)
        smith = number_of(home, "A12345678")
        year = local_date(int(start)).year + 1  # the first full calendar year of the card
        clock[0] = datetime(year + 1, 1, 15, 4, 0, tzinfo=UTC).timestamp()
        s(f"({year}: no record; at least 90 days a year)", "renew", "clerk", smith)
        s("done", "presence", "clerk", smith, year, 40)
        before = counts(home)
        s(f"({year}: 40 days; at least 90 days a year)", "renew", "clerk", smith)
        s("only an officer overrides", "renew", "clerk", smith, "treatment abroad")
        s("exit must be on or after entry", "presence_import", "clerk", f"number,entry,exit\n{smith},{year}-03-01,"
          f"{year}-01-01\n")
        assert counts(home) == before
        s("done", "presence_import", "clerk", f"number,entry,exit\n{smith},{year}-03-01,{year}-05-31\n")
        s("done", "renew", "clerk", smith)
        s("done", "renew", "officer", smith, "second renewal, residence checked by hand")
    assert offices[0].outcomes == offices[1].outcomes
    assert snapshot(homes[0]) == snapshot(homes[1])
