"""Issuance and the lifecycle state machine, through the library (time passed in). The office's rules on
top (roles, four eyes, bars, one permit per person) are tested in test_office_*.py; here the state machine's
mechanics run in their own write transactions as one enrolled operator."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REGISTRY_PASSPHRASE

from keys.permit import decode_claims, parse_text
from keys.trustlist import KeyUse
from registry import lifecycle
from registry.home import Home
from registry.issuance import Signing, issue_in_transaction, payload_text, signing_from_home
from registry.lifecycle import TransitionError
from registry.office.operators import add_operator
from registry.office.record import Acting
from registry.store import StoreError, one, open_store, rows, write_transaction
from registry.validation import validate_application

NOW = int(datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp())
DAY = 86400
YEAR = 365 * DAY
CLERK = Acting(1, note="test")  # the operator enrolled by the fixture
APPLICANT = {"surname": "Smith", "given_names": "John Paul", "chinese_name": "史密斯", "sex": "M",
             "birth_date": "1980-05-06", "nationality": "USA", "province": "31", "category": "employment",
             "passport_number": "P1234567", "passport_country": "USA"}
PERMIT_EVENTS = "SELECT id FROM events WHERE number IS NOT NULL"


@pytest.fixture
def office(registry_home: Path):
    home = Home(registry_home, lambda: REGISTRY_PASSPHRASE.encode())
    db = open_store(home.db_path)
    assert add_operator(db, "clerk", "admin", "S-0001", NOW, None)[0].id == CLERK.operator_id
    return home, db, signing_from_home(home)


def issue(office, now: int = NOW, **changes: str) -> str:
    _, db, signing = office
    with write_transaction(db):
        return issue_in_transaction(db, validate_application({**APPLICANT, **changes}, now), signing, now, CLERK)


def in_transaction(step):
    def run(db, *args, **kwargs):
        with write_transaction(db):
            return step(db, *args, **kwargs)

    return run


transition, renew, replace = (in_transaction(f) for f in (lifecycle.transition, lifecycle.renew, lifecycle.replace))


def cards(db, number: str) -> list[dict]:
    return rows(db, "SELECT c.serial, c.state, a.value FROM cards c JOIN allocations a ON a.card_id = c.id "
                "WHERE c.number = ? ORDER BY c.serial", (number,))


def decoded(db, number: str, serial: int):
    card = one(db, "SELECT payload FROM cards WHERE number = ? AND serial = ?", (number, serial))
    return decode_claims(parse_text(payload_text(card["payload"])).payload)


def test_issue_stores_permit_card_event_allocation(office) -> None:
    _, db, signing = office
    number = issue(office)
    permit = decoded(db, number, 1)
    assert (permit.number, permit.card, permit.surname, permit.chinese_name) == (number, 1, "Smith", "史密斯")
    assert permit.authority == "NIA" and permit.signed_at == NOW
    assert permit.expiry_date.year == permit.issue_date.year + 10
    assert cards(db, number) == [{"serial": 1, "state": "current", "value": 0}]
    assert one(db, "SELECT kid FROM cards WHERE number = ?", (number,))["kid"] == signing.kid.hex()
    [event] = rows(db, "SELECT action, to_state, actor FROM events WHERE number = ?", (number,))
    assert event == {"action": "issue", "to_state": "active", "actor": "clerk"}
    alloc = one(db, "SELECT list_id, idx FROM allocations")
    assert (alloc["list_id"], alloc["idx"]) == (permit.status_list, permit.status_index)


def test_minor_gets_five_years(office) -> None:
    _, db, _ = office
    permit = decoded(db, issue(office, birth_date="2015-01-01"), 1)
    assert permit.expiry_date.year == permit.issue_date.year + 5


# (actions before, action, expected state or the refusal's words)
SCENARIOS = [
    ([], "suspend", "suspended"),
    ([], "surrender", "surrendered"),
    ([], "record-death", "deceased"),
    (["suspend"], "reinstate", "active"),
    (["suspend"], "revoke", "revoked"),
    (["revoke"], "reinstate", "active"),
    (["revoke"], "record-death", "deceased"),
    ([], "reinstate", "is active; it cannot be reinstated"),
    (["revoke"], "suspend", "is revoked; it cannot be suspended"),
    (["suspend"], "surrender", "is suspended; it cannot be surrendered"),
    (["surrender"], "reinstate", "is surrendered; it cannot be reinstated"),
    (["record-death"], "revoke", "is deceased; it cannot be revoked"),
    (["suspend", "suspend"], None, "is suspended; it cannot be suspended"),
]


@pytest.mark.parametrize(("before", "action", "expected"), SCENARIOS)
def test_transition_table(office, before: list[str], action: str | None, expected: str) -> None:
    _, db, _ = office
    number = issue(office)
    steps = [*before, action] if action else before
    try:
        for step in steps:
            state = transition(db, number, step, NOW + DAY, CLERK,
                                         "fraud" if step == "revoke" else None)
    except TransitionError as exc:
        assert expected in str(exc) and number in str(exc)
        return
    assert state == expected
    assert one(db, "SELECT state FROM permits")["state"] == expected
    assert cards(db, number)[0]["value"] == lifecycle.STATUS_VALUE[expected]
    assert len(rows(db, PERMIT_EVENTS)) == 1 + len(steps)


def test_revoke_needs_a_statutory_ground(office) -> None:
    _, db, _ = office
    number = issue(office)
    with pytest.raises(TransitionError, match="statutory grounds"):
        transition(db, number, "revoke", NOW, CLERK, "because")
    event_count = len(rows(db, PERMIT_EVENTS))
    transition(db, number, "revoke", NOW, CLERK, "national-security")
    last = one(db, "SELECT * FROM events ORDER BY id DESC LIMIT 1")
    assert (last["action"], last["reason"], last["actor"], last["note"]) == ("revoke", "national-security",
                                                                           "clerk", "test")
    assert len(rows(db, PERMIT_EVENTS)) == event_count + 1


def test_revoked_cannot_be_renewed(office) -> None:
    _, db, signing = office
    number = issue(office)
    transition(db, number, "revoke", NOW, CLERK, "expelled")
    with pytest.raises(TransitionError, match=f"permit {number} is revoked; it cannot be renewed"):
        renew(db, number, NOW, CLERK, signing)


def test_renew_and_replace_supersede_old_cards(office) -> None:
    _, db, signing = office
    number = issue(office)
    assert renew(db, number, NOW + YEAR, CLERK, signing) == 2
    assert replace(db, number, "data-changed", {"surname": "Smith-Jones"}, NOW + 2 * YEAR, CLERK,
                             signing) == 3
    assert [(c["serial"], c["state"], c["value"]) for c in cards(db, number)] == [
        (1, "superseded", 3), (2, "superseded", 3), (3, "current", 0)]
    renewed, replaced = decoded(db, number, 2), decoded(db, number, 3)
    assert renewed.valid_until > decoded(db, number, 1).valid_until
    assert replaced.valid_until == renewed.valid_until  # a replacement keeps the expiry
    assert replaced.surname == "Smith-Jones" and replaced.number == number
    lists = rows(db, "SELECT list_id, idx FROM allocations")
    assert len({(r["list_id"], r["idx"]) for r in lists}) == 3
    with pytest.raises(TransitionError, match="part of the permit number"):
        replace(db, number, "data-changed", {"birth_date": "1980-01-01"}, NOW, CLERK, signing)
    with pytest.raises(TransitionError, match="use --reason data-changed"):
        replace(db, number, "lost", {"surname": "X"}, NOW, CLERK, signing)


def test_expiry_is_derived_and_recorded(office) -> None:
    _, db, signing = office
    number = issue(office)
    with pytest.raises(TransitionError, match="is active until"):
        transition(db, number, "expire", NOW, CLERK)
    later = NOW + 11 * YEAR
    card = lifecycle.current_card(db, number)
    assert lifecycle.effective_state(lifecycle.get_permit(db, number), card, later) == "expired"
    with pytest.raises(TransitionError, match="is expired; it cannot be suspended"):
        transition(db, number, "suspend", later, CLERK)
    with pytest.raises(TransitionError, match="is expired; it cannot be replaced"):
        replace(db, number, "lost", {}, later, CLERK, signing)
    assert lifecycle.expire_all(db, later, CLERK) == [number]
    assert lifecycle.expire_all(db, later, CLERK) == []
    assert lifecycle.get_permit(db, number)["state"] == "expired"
    assert renew(db, number, later, CLERK, signing) == 2
    assert lifecycle.get_permit(db, number)["state"] == "active"


def test_reissue_resigns_cards_of_a_key(office) -> None:
    home, db, old = office
    numbers = [issue(office, given_names=f"John {c}") for c in "ABCDE"]
    transition(db, numbers[1], "suspend", NOW, CLERK)
    transition(db, numbers[2], "revoke", NOW, CLERK, "fraud")
    with pytest.raises(TransitionError, match="rotate it"):
        lifecycle.reissue(db, old.kid.hex(), NOW, CLERK, old)
    home.keys().rotate(KeyUse.PERMIT, NOW + DAY)
    new = signing_from_home(home)
    assert isinstance(new, Signing) and new.kid != old.kid
    assert lifecycle.reissue(db, old.kid.hex(), NOW + DAY, CLERK, new, batch=2) == 4
    assert lifecycle.reissue(db, old.kid.hex(), NOW + DAY, CLERK, new) == 0  # nothing left: safe to re-run
    for n in numbers:
        current = lifecycle.current_card(db, n)
        if n == numbers[2]:
            assert (current["serial"], current["kid"]) == (1, old.kid.hex())  # revoked: left alone
            continue
        assert (current["serial"], current["kid"]) == (2, new.kid.hex())
        first, second = decoded(db, n, 1), decoded(db, n, 2)
        assert (second.valid_from, second.valid_until) == (first.valid_from, first.valid_until)
    assert [c["value"] for c in cards(db, numbers[1])] == [3, 2]  # still suspended on the new card
    assert [c["value"] for c in cards(db, numbers[0])] == [3, 0]


def test_set_entries(office) -> None:
    _, db, _ = office
    a, b = issue(office), issue(office, given_names="Jane", sex="F")
    transition(db, b, "suspend", NOW, CLERK)
    entries = lifecycle.set_entries(db, 1)
    assert [v for _, v in entries] == [2]
    assert all(0 <= idx < 131072 for idx, _ in entries)
    assert lifecycle.set_entries(db, 2) == [] and a != b


def test_new_status_list_when_ninety_percent_full(office, monkeypatch) -> None:
    from registry import numbers

    _, db, _ = office
    monkeypatch.setattr(numbers, "LIST_SIZE", 10)
    issued = [issue(office, given_names=f"John {c}") for c in "ABCDEFGHIJK"]
    lists = [r["list_id"] for r in rows(db, "SELECT list_id FROM allocations ORDER BY card_id")]
    assert lists == [1] * 9 + [2, 2]  # list 1 had 9 of 10 entries used: 90 %
    assert len(issued) == 11


def test_events_are_append_only_in_sql(office) -> None:
    home, _, _ = office
    issue(office)
    conn = sqlite3.connect(home.db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.rollback()
    assert conn.execute("SELECT actor FROM events WHERE number IS NOT NULL").fetchall() == [("clerk",)]


def test_unknown_permit_and_reopen(office) -> None:
    home, db, _ = office
    with pytest.raises(TransitionError, match="no permit"):
        transition(db, "911276199002030022", "suspend", NOW, CLERK)
    issue(office)
    db.close()
    again = open_store(home.db_path)  # migrations are not re-applied
    assert len(rows(again, "SELECT number FROM permits")) == 1
    with pytest.raises(StoreError):
        open_store(home.path / "missing-dir" / "x.db")
