"""Attacks on four eyes and on who acted: approving one's own proposal, a second account for the same
person, a clerk acting alone, a revoked account, a proposal overtaken by events, an event without an
operator. Each refusal leaves the register as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from office_adapters import counts
from office_fixtures import make_desk

from registry.lifecycle import TransitionError
from registry.office.errors import OfficeError
from registry.office.operators import add_operator, revoke_operator
from registry.office.policy import DEFAULT_FOUR_EYES
from registry.store import one

NOW = 1_795_000_000  # 2026-11-18


@pytest.fixture
def desk(registry_home: Path):
    return make_desk(registry_home, NOW)


def test_an_officer_approving_their_own_proposal_is_refused(desk) -> None:
    number = desk.issued()
    proposal = desk.office.transition(desk.ops["officer"], number, "revoke", "fraud").proposal
    before = counts(desk.home)
    with pytest.raises(OfficeError, match="different officer") as refused:
        desk.office.approve(desk.ops["officer"], proposal)
    assert refused.value.code == "self-approval" and counts(desk.home) == before
    assert one(desk.office.db, "SELECT state FROM permits")["state"] == "active"
    done = desk.office.approve(desk.ops["officer2"], proposal)
    assert done.state == "revoked"
    event = one(desk.office.db, "SELECT operator_id, approver_id FROM events WHERE action = 'revoke'")
    assert (event["operator_id"], event["approver_id"]) == (desk.ops["officer"].id, desk.ops["officer2"].id)


def test_a_second_account_for_the_same_person_is_refused(desk) -> None:
    for spelling in ("S-0003", "s 0003", "S.0003", "Ｓ０００３"):  # one staff number, however it is typed
        with pytest.raises(OfficeError, match=r"already has the active account oscar\.officer"):
            add_operator(desk.office.db, f"oscar-{len(spelling)}", "officer", spelling, NOW, desk.ops["admin"])


def test_the_same_person_re_enrolled_cannot_approve_their_old_proposal(desk) -> None:
    """Oscar proposes, his account is revoked, he is enrolled again under a new name: still Oscar."""
    number = desk.issued()
    proposal = desk.office.transition(desk.ops["officer"], number, "revoke", "fraud").proposal
    revoke_operator(desk.office.db, "oscar.officer", NOW, desk.ops["admin"])
    oscar2, _ = add_operator(desk.office.db, "oscar.two", "officer", "S-0003", NOW, desk.ops["admin"])
    before = counts(desk.home)
    with pytest.raises(OfficeError, match=r"same person under the account oscar\.officer") as refused:
        desk.office.approve(oscar2, proposal)
    assert refused.value.code == "same-person"
    assert counts(desk.home) == before


def test_a_revoked_account_cannot_act_or_approve(desk) -> None:
    number = desk.issued()
    proposal = desk.office.transition(desk.ops["officer"], number, "revoke", "fraud").proposal
    revoke_operator(desk.office.db, "olga.officer", NOW, desk.ops["admin"])
    from registry.office.operators import authenticate

    olga = authenticate(desk.office.db, desk.tokens["officer2"])
    assert olga is not None and olga.revoked_at is not None
    for attempt in (lambda: desk.office.approve(olga, proposal),
                    lambda: desk.office.transition(olga, number, "suspend")):
        with pytest.raises(OfficeError, match="valid token"):
            attempt()


def test_a_clerk_alone_cannot_revoke_rename_or_supersede_even_without_four_eyes(registry_home: Path) -> None:
    """With no act under four eyes, an officer acts alone, but a clerk still may not revoke, rename or
    supersede a card reported lost."""
    desk = make_desk(registry_home, NOW, {"four_eyes": []})
    number = desk.office.issue(desk.ops["clerk"], desk.app()).number
    clerk = desk.ops["clerk"]
    before = counts(desk.home)
    for attempt, words in ((lambda: desk.office.transition(clerk, number, "revoke", "fraud"), "cannot start revoke"),
                           (lambda: desk.office.replace(clerk, number, "data-changed", {"surname": "JONES"}),
                            "replace:data-changed needs an officer"),
                           (lambda: desk.office.replace(clerk, number, "lost", {}), "replace:lost needs an officer"),
                           (lambda: desk.office.change_passport(clerk, number, "USA", "Z1234567"),
                            "passport-change needs an officer")):
        with pytest.raises(OfficeError, match=words):
            attempt()
    assert counts(desk.home) == before
    assert desk.office.replace(clerk, number, "damaged", {}).card == 2  # the damaged card is handed in
    assert desk.office.replace(desk.ops["officer"], number, "data-changed", {"surname": "JONES"}).card == 3


def test_a_proposal_is_checked_again_when_approved(desk) -> None:
    number = desk.issued()
    revoke = desk.office.transition(desk.ops["officer"], number, "revoke", "fraud").proposal
    death = desk.office.transition(desk.ops["officer2"], number, "record-death").proposal
    desk.office.approve(desk.ops["officer"], death)
    before = counts(desk.home)
    with pytest.raises(TransitionError, match="is deceased; it cannot be revoked"):
        desk.office.approve(desk.ops["officer2"], revoke)
    assert counts(desk.home) == before
    assert one(desk.office.db, "SELECT state FROM proposals WHERE id = ?", (revoke,))["state"] == "pending"
    desk.office.reject(desk.ops["officer2"], revoke, "overtaken by the death")
    with pytest.raises(OfficeError, match="already rejected"):
        desk.office.approve(desk.ops["officer2"], revoke)


def test_an_event_without_an_operator_is_refused_by_the_database(desk) -> None:
    desk.issued()
    conn = sqlite3.connect(desk.home / "registry.db")
    with pytest.raises(sqlite3.IntegrityError, match="authenticated operator"):
        conn.execute("INSERT INTO events (action, at, actor) VALUES ('revoke', 1, 'mallory')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO events (action, at, actor, operator_id) VALUES ('revoke', 1, '', 1)")
    conn.close()


def test_the_default_policy_covers_the_discretionary_acts() -> None:
    assert {"issue", "revoke", "reinstate", "record-death", "replace:data-changed", "replace:lost"} \
        <= set(DEFAULT_FOUR_EYES)
