"""The statute's rules at library level, with a clock the test moves: re-application bars per ground (and
their configuration), the residence requirement at renewal, days present from stays, passport changes,
the appeal windows, and a bad policy refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from office_adapters import counts
from office_fixtures import make_desk

from registry.lifecycle import TransitionError
from registry.office.errors import OfficeError
from registry.office.policy import DEFAULT_POLICY, load_policy
from registry.office.residence import days_from_stays
from registry.store import one

NOW = int(datetime(2026, 11, 18, 4, 0, tzinfo=UTC).timestamp())
DAY = 86400


@pytest.fixture
def desk(registry_home: Path):
    return make_desk(registry_home, NOW)


def revoke(desk, number: str, ground: str) -> None:
    proposal = desk.office.transition(desk.ops["officer"], number, "revoke", ground).proposal
    desk.office.approve(desk.ops["officer2"], proposal)


def test_a_barred_passport_is_refused_with_the_end_of_its_bar(desk) -> None:
    revoke(desk, desk.issued(), "fraud")  # 5 years by default
    before = counts(desk.home)
    with pytest.raises(OfficeError, match="barred from a new application until 2031-11-18") as refused:
        desk.office.issue(desk.ops["clerk"], desk.app(given_names="JOHN"))
    assert refused.value.code == "barred" and counts(desk.home) == before
    desk.clock.t += (date(2031, 11, 18) - date(2026, 11, 18)).days * DAY  # the bar's end: apply again
    assert desk.office.issue(desk.ops["clerk"], desk.app()).status == "pending"


def test_bars_follow_the_policy_in_the_homes_config(registry_home: Path) -> None:
    desk = make_desk(registry_home, NOW, {"bar_years": {"fraud": 2, "expelled": 0}})
    revoke(desk, desk.issued(), "fraud")
    with pytest.raises(OfficeError, match="until 2028-11-18"):
        desk.office.issue(desk.ops["clerk"], desk.app())
    other = desk.issued(passport_number="B7654321")
    revoke(desk, other, "expelled")  # no bar configured: a new application may be made at once
    assert desk.office.issue(desk.ops["clerk"], desk.app(passport_number="B7654321")).status == "pending"
    assert one(desk.office.db, "SELECT count(*) AS n FROM bars")["n"] == 1


def test_renewal_refused_without_the_residence_then_overridden_by_an_officer(registry_home: Path) -> None:
    issued_at = int(datetime(2020, 3, 2, 4, 0, tzinfo=UTC).timestamp())
    desk = make_desk(registry_home, issued_at)
    number = desk.issued()
    desk.clock.t = NOW  # 2026: the full years of the card are 2021 to 2025
    with pytest.raises(OfficeError, match="2021: no record, 2022: no record"):
        desk.office.renew(desk.ops["clerk"], number)
    desk.office.record_presence(desk.ops["clerk"], {(number, y): 120 for y in range(2021, 2026)}, "entered")
    desk.office.record_presence(desk.ops["clerk"], {(number, 2023): 30}, "entered")
    before = counts(desk.home)
    with pytest.raises(OfficeError, match=r"\(2023: 30 days; at least 90 days a year\)"):
        desk.office.renew(desk.ops["clerk"], number)
    with pytest.raises(OfficeError, match="only an officer overrides"):
        desk.office.renew(desk.ops["clerk"], number, override="hospital stay abroad")
    assert counts(desk.home) == before
    done = desk.office.renew(desk.ops["officer"], number, override="hospital stay abroad, certificate 44")
    assert done.card == 2
    detail = json.loads(one(desk.office.db, "SELECT detail FROM events WHERE action = 'renew'")["detail"])
    assert detail["residence_override"] == "hospital stay abroad, certificate 44"
    assert detail["residence"]["2023"] == 30


def test_days_present_are_computed_from_stays() -> None:
    n = "911840197911030019"
    text = f"number,entry,exit\n{n},2023-12-30,2024-01-02\n{n},2024-01-01,2024-01-10\n{n},2024-12-31,\n"
    assert days_from_stays(text, date(2025, 1, 5)) == {(n, 2023): 2, (n, 2024): 11, (n, 2025): 5}
    with pytest.raises(OfficeError, match="line 2: exit must be on or after entry") as bad:
        days_from_stays(f"number,entry,exit\n{n},2024-02-01,2024-01-01\n{n},2024-13-01,\nX,2024-01-01,\n",
                        date(2025, 1, 1))
    assert "line 3: entry must be a date" in bad.value.message and "line 4: number" in bad.value.message


def test_a_bad_presence_file_records_nothing(desk) -> None:
    number = desk.issued()
    before = counts(desk.home)
    with pytest.raises(OfficeError):
        desk.office.import_presence(desk.ops["clerk"], f"number,entry,exit\n{number},2025-01-01,2025-02-01\n"
                                                       f"{number},2025-03-01,2024-01-01\n", "import:x.csv")
    with pytest.raises(TransitionError, match="no permit"):
        desk.office.import_presence(desk.ops["clerk"], "number,entry,exit\n911840197911030027,2025-01-01,\n",
                                    "import:y.csv")
    with pytest.raises(OfficeError, match="not a readable CSV file"):  # schemathesis found it: was a 500
        desk.office.import_presence(desk.ops["clerk"], "0\r\u00f8\u0099", "import:garbage.csv")
    assert counts(desk.home) == before
    assert desk.office.import_presence(desk.ops["clerk"], f"number,entry,exit\n{number},2025-01-01,2025-01-31\n",
                                       "import:z.csv") == 1
    assert one(desk.office.db, "SELECT days FROM presence")["days"] == 31


def test_a_passport_change_is_its_own_act_and_cannot_take_anothers_passport(desk) -> None:
    smith, other = desk.issued(), desk.issued(passport_number="B7654321", given_names="JANE", sex="F")
    before = counts(desk.home)
    with pytest.raises(OfficeError, match=f"already holds permit {other}"):
        desk.office.change_passport(desk.ops["clerk"], smith, "USA", "B7654321")
    assert counts(desk.home) == before
    pending = desk.office.change_passport(desk.ops["clerk"], smith, "USA", "N5554443")
    desk.office.approve(desk.ops["officer"], pending.proposal)
    assert one(desk.office.db, "SELECT passport_number FROM permits WHERE number = ?", (smith,))["passport_number"] \
        == "N5554443"
    event = one(desk.office.db, "SELECT detail, card_serial FROM events WHERE action = 'passport-change'")
    assert json.loads(event["detail"]) == {"old": "USA:A12345678", "new": "USA:N5554443"}
    assert event["card_serial"] is None  # nothing on the card changes


def test_appeal_windows_follow_the_statute(desk) -> None:
    number = desk.issued()
    revoke(desk, number, "fraud")
    decision = date(2026, 11, 18)
    desk.clock.t += 61 * DAY
    late = date(2027, 1, 18).isoformat()
    with pytest.raises(OfficeError, match="ended on 2027-01-17"):  # 60 days (ARL art. 20)
        desk.office.appeal(desk.ops["clerk"], number, "reconsideration", date.fromisoformat(late), "R-1")
    filed = desk.office.appeal(desk.ops["clerk"], number, "reconsideration", date.fromisoformat(late), "R-1",
                               late_reason="force majeure accepted by the organ")
    assert (filed["decision"], filed["window_end"], filed["due"]) == (decision.isoformat(), "2027-01-17",
                                                                      "2027-03-24")
    desk.clock.t += 30 * DAY
    decided = desk.office.decide_appeal(desk.ops["officer"], filed["id"], "upheld", date(2027, 2, 10))
    desk.office.approve(desk.ops["officer2"], decided.proposal)
    suit = desk.office.appeal(desk.ops["clerk"], number, "litigation", date(2027, 2, 17), "(2027) Xing Chu 1")
    assert suit["window_end"] == "2027-02-25" and suit["due"] == "2027-08-24"  # 15 days (ALL 45); 7 d + 6 m


def test_a_bad_policy_is_refused_clearly(registry_home: Path) -> None:
    assert load_policy({}) == DEFAULT_POLICY
    for bad, words in (({"four_eyes": ["revoke", "dance"]}, "four_eyes"), ({"bar_years": {"fraud": -1}}, "fraud"),
                       ({"residence": {"min_days": 400}}, "min_days"), ({"colour": 1}, "unknown key")):
        with pytest.raises(OfficeError, match=words):
            load_policy(bad)


def test_an_overturned_revocation_lifts_its_bar(desk) -> None:
    """Revoked for fraud, reinstated on reconsideration, then surrendered: the person may apply again at once,
    where an upheld revocation would have barred them for five years."""
    number = desk.issued()
    revoke(desk, number, "fraud")
    filed = desk.office.appeal(desk.ops["clerk"], number, "reconsideration", date(2026, 11, 18), "R-3")
    decided = desk.office.decide_appeal(desk.ops["officer"], filed["id"], "overturned", date(2026, 11, 18))
    assert desk.office.approve(desk.ops["officer2"], decided.proposal).state == "active"
    assert one(desk.office.db, "SELECT lifted_by_appeal FROM bars")["lifted_by_appeal"] == filed["id"]
    desk.office.transition(desk.ops["officer"], number, "surrender")
    assert desk.office.issue(desk.ops["clerk"], desk.app()).status == "pending"


def test_the_passport_is_kept_in_the_register_and_never_on_the_qr(desk) -> None:
    from keys.permit import decode_claims, parse_text
    from registry.issuance import payload_text

    number = desk.issued()
    card = one(desk.office.db, "SELECT payload FROM cards WHERE number = ?", (number,))
    text = payload_text(card["payload"])
    assert b"A12345678" not in card["payload"] and "A12345678" not in text
    assert "A12345678" not in repr(decode_claims(parse_text(text).payload))
    assert one(desk.office.db, "SELECT passport_number FROM permits")["passport_number"] == "A12345678"
