"""A permit's lifecycle as an explicit state machine; every transition is an event.

States: active, suspended, revoked, surrendered, deceased, expired. `expired` is also derived when
reading: an active permit whose current card is past its validity reads as expired, and is treated as
expired by every transition (so it can be renewed but not replaced or suspended); `expire` records it.

Each transition, inside the write transaction the office service (registry/office/) opens for the act:
checks the table below (a refusal says why), updates the
permit's state, signs a new card when the action makes one (renew, replace, reissue: the old card is
superseded), sets the 2-bit status value of the card's status-list entry, and appends the event.

Status values: 0 valid (active, expired: the card's own `exp` says it expired), 1 invalid (revoked,
surrendered, deceased), 2 suspended, 3 superseded (an older card of the permit).

Assumptions: a suspended permit cannot be surrendered (the pending decision comes first); a death can be
recorded in any non-final state, revoked included; reinstatement after revocation returns to active.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date

import sqlite_utils

from keys.errors import Cause, PermitError, Reason
from keys.permit import day_start, local_date
from keys.statuslist import StatusValue
from registry.issuance import Signing, sign_card, validity
from registry.office.policy import GROUNDS, REPLACE_REASONS
from registry.office.record import Acting, record_event
from registry.store import StoreError, one, rows, translate_errors, write_transaction

ACTIVE, SUSPENDED, REVOKED, SURRENDERED, DECEASED, EXPIRED = (
    "active", "suspended", "revoked", "surrendered", "deceased", "expired")
STATES = (ACTIVE, SUSPENDED, REVOKED, SURRENDERED, DECEASED, EXPIRED)
STATUS_VALUE = {ACTIVE: StatusValue.VALID, EXPIRED: StatusValue.VALID, SUSPENDED: StatusValue.SUSPENDED,
                REVOKED: StatusValue.INVALID, SURRENDERED: StatusValue.INVALID, DECEASED: StatusValue.INVALID}

# action -> {from state: to state}. Anything not listed is refused.
TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "revoke": {ACTIVE: REVOKED, SUSPENDED: REVOKED, EXPIRED: REVOKED},
    "suspend": {ACTIVE: SUSPENDED},
    "reinstate": {SUSPENDED: ACTIVE, REVOKED: ACTIVE},
    "surrender": {ACTIVE: SURRENDERED, EXPIRED: SURRENDERED},
    "record-death": {ACTIVE: DECEASED, SUSPENDED: DECEASED, REVOKED: DECEASED, EXPIRED: DECEASED},
    "renew": {ACTIVE: ACTIVE, EXPIRED: ACTIVE},
    "replace": {ACTIVE: ACTIVE},
    "expire": {EXPIRED: EXPIRED},
    "reissue": {ACTIVE: ACTIVE, SUSPENDED: SUSPENDED},
}
_VERB = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated", "surrender": "surrendered",
         "record-death": "recorded as deceased", "renew": "renewed", "replace": "replaced",
         "expire": "recorded as expired", "reissue": "re-issued"}
REVOCATION_GROUNDS: Mapping[str, str] = {k: g.description for k, g in GROUNDS.items()}
# A permit's state as read: an active permit whose current card is past its validity reads as expired.
STATUS_SQL = "CASE WHEN p.state = 'active' AND c.valid_until <= :now THEN 'expired' ELSE p.state END"
# Every permit with its read state and current card (append WHERE ...; bind :now).
LISTING_SQL = (f"SELECT p.number, p.surname, p.given_names, p.chinese_name, p.sex, p.birth_date, p.nationality, "
               f"p.province, p.category, {STATUS_SQL} AS status, c.serial AS card, c.valid_from, c.valid_until, "
               f"c.kid, c.status_list, c.status_index FROM permits p JOIN cards c ON c.number = p.number "
               f"AND c.state = 'current'")
CHANGEABLE = ("surname", "given_names", "chinese_name", "category", "photo", "photo_type")
REISSUE_BATCH = 200
BATCH_PAUSE = 0.15  # seconds the write lock is left free between batches, for other writers waiting on it


class TransitionError(PermitError):
    """The transition is not allowed from the permit's current state, or the permit does not exist."""

    reason = Reason.USAGE
    cause = Cause.CONFLICT


def get_permit(db: sqlite_utils.Database, number: str) -> dict:
    permit = one(db, "SELECT * FROM permits WHERE number = ?", (number.upper(),))
    if permit is None:
        raise TransitionError(f"no permit {number} in this registry", cause=Cause.NOT_FOUND)
    return permit


def current_card(db: sqlite_utils.Database, number: str) -> dict:
    card = one(db, "SELECT * FROM cards WHERE number = ? AND state = 'current'", (number,))
    if card is None:
        raise StoreError(f"permit {number} has no current card: the store is inconsistent")
    return card


def effective_state(permit: Mapping, card: Mapping, now: int) -> str:
    """The stored state, or `expired` for an active permit whose current card is past its validity."""
    if permit["state"] == ACTIVE and now >= card["valid_until"]:
        return EXPIRED
    return permit["state"]


def _target(action: str, number: str, state: str) -> str:
    allowed = TRANSITIONS[action]
    if state not in allowed:
        can = ", ".join(sorted(allowed))
        raise TransitionError(f"permit {number} is {state}; it cannot be {_VERB[action]} (only when {can})")
    return allowed[state]


def _set_value(db: sqlite_utils.Database, card_id: int, value: int) -> None:
    db.execute("UPDATE allocations SET value = ? WHERE card_id = ?", (value, card_id))


def _supersede(db: sqlite_utils.Database, card: Mapping) -> None:
    db.execute("UPDATE cards SET state = 'superseded' WHERE id = ?", (card["id"],))
    _set_value(db, card["id"], StatusValue.SUPERSEDED)


def _new_card(db: sqlite_utils.Database, permit: dict, card: Mapping, valid: tuple[int, int], now: int,
              signing: Signing, to_state: str, cause: str) -> dict:
    _supersede(db, card)
    return sign_card(db, permit, card["serial"] + 1, valid, now, signing, STATUS_VALUE[to_state], cause)


def transition(db: sqlite_utils.Database, number: str, action: str, now: int, acting: Acting,
               reason: str | None = None, detail: Mapping | None = None) -> str:
    """A status-only transition inside the caller's write transaction: revoke, suspend, reinstate,
    surrender, record-death, expire. Returns the new state."""
    if action not in TRANSITIONS or action in ("renew", "replace", "reissue"):
        raise TransitionError(f"unknown status transition {action}")
    if action == "revoke" and reason not in REVOCATION_GROUNDS:
        raise TransitionError(f"revocation needs one of the statutory grounds: {', '.join(REVOCATION_GROUNDS)}")
    permit = get_permit(db, number)
    card = current_card(db, permit["number"])
    state = check(db, permit, action, now)
    to_state = TRANSITIONS[action][state]
    db.execute("UPDATE permits SET state = ? WHERE number = ?", (to_state, permit["number"]))
    _set_value(db, card["id"], STATUS_VALUE[to_state])
    record_event(db, acting.event(action, now, number=permit["number"], from_state=state, to_state=to_state,
                                  reason=reason, card_serial=card["serial"], detail=detail))
    return to_state


def check(db: sqlite_utils.Database, permit: Mapping, action: str, now: int) -> str:
    """The permit's state if `action` is allowed from it; a TransitionError saying why not otherwise."""
    card = current_card(db, permit["number"])
    state = effective_state(permit, card, now)
    if action == "expire" and state == ACTIVE:
        until = local_date(card["valid_until"] - 1).isoformat()
        raise TransitionError(f"permit {permit['number']} is active until {until}; it cannot be recorded as expired")
    if action == "expire" and permit["state"] == EXPIRED:
        raise TransitionError(f"permit {permit['number']} is already recorded as expired")
    _target(action, permit["number"], state)
    return state


def renew(db: sqlite_utils.Database, number: str, now: int, acting: Acting, signing: Signing,
          detail: Mapping | None = None) -> int:
    """A new card with a new validity window, inside the caller's transaction; returns its serial."""
    permit = get_permit(db, number)
    card = current_card(db, permit["number"])
    state = check(db, permit, "renew", now)
    to_state = TRANSITIONS["renew"][state]
    valid = validity(date.fromisoformat(permit["birth_date"]), now)
    db.execute("UPDATE permits SET state = ? WHERE number = ?", (to_state, permit["number"]))
    new = _new_card(db, permit, card, valid, now, signing, to_state, "renew")
    record_event(db, acting.event("renew", now, number=permit["number"], from_state=state, to_state=to_state,
                                  card_serial=new["serial"], detail=detail))
    return new["serial"]


def check_replacement(why: str, changes: Mapping[str, object]) -> None:
    if why not in REPLACE_REASONS:
        raise TransitionError(f"a replacement reason is one of {', '.join(REPLACE_REASONS)}")
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise TransitionError(f"these fields cannot be changed on a replacement card: {', '.join(unknown)} "
                              "(they are part of the permit number)")
    if why == "data-changed" and not changes:
        raise TransitionError("a data-changed replacement needs at least one changed field")
    if why != "data-changed" and changes:
        raise TransitionError(f"a replacement for a {why} card keeps the data; use --reason data-changed")


def replace(db: sqlite_utils.Database, number: str, why: str, changes: Mapping[str, object], now: int,
            acting: Acting, signing: Signing) -> int:
    """A new card for a lost or damaged one, or with changed data (`changes`: already validated values of
    CHANGEABLE fields), inside the caller's transaction. Keeps the expiry; returns the new serial."""
    check_replacement(why, changes)
    permit = get_permit(db, number)
    card = current_card(db, permit["number"])
    state = check(db, permit, "replace", now)
    to_state = TRANSITIONS["replace"][state]
    if changes:
        sets = ", ".join(f"{k} = ?" for k in changes)
        db.execute(f"UPDATE permits SET {sets} WHERE number = ?", [*changes.values(), permit["number"]])
        permit = get_permit(db, permit["number"])
    valid = (day_start(local_date(now)), card["valid_until"])
    new = _new_card(db, permit, card, valid, now, signing, to_state, f"replace:{why}")
    detail = {"changed": sorted(k for k in changes if k != "photo_type")} if changes else None
    record_event(db, acting.event("replace", now, number=permit["number"], from_state=state, to_state=to_state,
                                  reason=why, card_serial=new["serial"], detail=detail))
    return new["serial"]


def reissue(db: sqlite_utils.Database, kid_hex: str, now: int, acting: Acting, signing: Signing,
            batch: int = REISSUE_BATCH) -> int:
    """Re-sign every current card signed by `kid_hex` (of permits still active or suspended and not past
    expiry) with `signing`, one transaction per batch. Same number and validity, serial + 1. Returns how
    many cards were re-issued; safe to re-run (a re-issued card is no longer signed by that key)."""
    kid_hex = kid_hex.lower()
    if signing.kid.hex() == kid_hex:
        raise TransitionError(f"key {kid_hex} is the active permit key: rotate it before re-issuing its cards")
    done = 0
    while True:
        with write_transaction(db):
            todo = rows(db, "SELECT cards.* FROM cards JOIN permits USING (number) WHERE cards.kid = ? AND "
                        "cards.state = 'current' AND permits.state IN (?, ?) AND cards.valid_until > ? "
                        "ORDER BY cards.id LIMIT ?", (kid_hex, ACTIVE, SUSPENDED, now, batch))
            for card in todo:
                permit = get_permit(db, card["number"])
                to_state = _target("reissue", permit["number"], permit["state"])
                new = _new_card(db, permit, card, (card["valid_from"], card["valid_until"]), now, signing,
                                to_state, "reissue")
                record_event(db, acting.event("reissue", now, number=permit["number"], from_state=permit["state"],
                                              to_state=to_state, reason=f"key {kid_hex}", card_serial=new["serial"],
                                              detail={"old_kid": kid_hex, "new_kid": signing.kid.hex()}))
        done += len(todo)
        if len(todo) < batch:
            return done
        time.sleep(BATCH_PAUSE)


def expire_all(db: sqlite_utils.Database, now: int, acting: Acting) -> list[str]:
    """Record `expire` for every active permit whose current card is past its validity (one transaction
    per permit)."""
    due = [r["number"] for r in rows(db, "SELECT permits.number FROM permits JOIN cards USING (number) "
                                     "WHERE permits.state = ? AND cards.state = 'current' AND cards.valid_until <= ?",
                                     (ACTIVE, now))]
    for numbered in due:
        with write_transaction(db):
            transition(db, numbered, "expire", now, acting)
    return due


def set_entries(db: sqlite_utils.Database, list_id: int) -> list[tuple[int, int]]:
    """(idx, value) of every entry of a status list whose value is not 0 (valid), for the publisher:
    a list is all zeros but for these."""
    with translate_errors():
        return [(r[0], r[1]) for r in db.execute(
            "SELECT idx, value FROM allocations WHERE list_id = ? AND value != 0 ORDER BY idx", (list_id,))]
