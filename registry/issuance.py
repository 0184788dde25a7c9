"""Issuing permits and signing their cards.

Assumptions (the lead documents them):
- A card is valid from 00:00 (issuer time zone) of its issue date until the end of the day before the
  same date VALIDITY_YEARS later (10 years), or MINOR_VALIDITY_YEARS (5) for a holder under 18 on the
  issue date. An anniversary on 29 February of a non-leap year moves to 1 March.
- A renewal starts a new validity window from its issue date; a replacement (lost, damaged, data changed)
  and a re-issue after a key compromise keep the old card's expiry.
- Every card gets a fresh status-list entry; its 2-bit value follows the permit's state.

`now` (epoch seconds) is always passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlite_utils

from keys import base45
from keys.algorithms import PrivateKey
from keys.permit import PREFIX, Permit, day_start, encode_permit, local_date
from keys.trustlist import KeyUse
from registry.home import Home
from registry.numbers import allocate_number, allocate_status_entry
from registry.office.record import Acting, record_event
from registry.validation import Application

VALIDITY_YEARS = 10
MINOR_VALIDITY_YEARS = 5
ADULT_AGE = 18
ACTIVE = "active"


@dataclass(frozen=True)
class Signing:
    """What signing a card needs: the active permit key and the authority named in `iss`."""

    kid: bytes
    key: PrivateKey
    authority: str


def signing_from_home(home: Home) -> Signing:
    """The active permit-signing key of a registry home (asks for the passphrase if needed)."""
    trusted, private = home.keys().signer(KeyUse.PERMIT)
    return Signing(trusted.kid, private, home.config().authority)


def _anniversary(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return date(d.year + years, 3, 1)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validity(birth: date, now: int) -> tuple[int, int]:
    """(valid_from, valid_until) of a card issued at `now`."""
    issued = local_date(now)
    years = MINOR_VALIDITY_YEARS if age_on(birth, issued) < ADULT_AGE else VALIDITY_YEARS
    return day_start(issued), day_start(_anniversary(issued, years))


def applicant_key(app: Application) -> str | None:
    """The application reference key (`ref:...`), kept UNIQUE in the register: the same reference is never
    issued twice. Without a reference, who the applicant is is the passport identity (`passport_key`);
    a fingerprint of name, birth date, nationality and sex would merge two different people."""
    return "ref:" + app.ref if app.ref else None


def passport_key(country: str, number: str) -> str:
    """The passport identity of a person: issuing country and passport number."""
    return f"{country}:{number}"


def payload_text(payload: bytes) -> str:
    """The QR text of a stored card payload."""
    return PREFIX + base45.encode(payload)


def sign_card(db: sqlite_utils.Database, holder: dict, serial: int, valid: tuple[int, int], now: int,
              signing: Signing, value: int, cause: str) -> dict:
    """Allocate a status entry, sign card `serial` for the permit row `holder`, and store it as the current
    card with its allocation (status `value`). Inside a write transaction. Returns the card row."""
    permit = card_permit(db, holder, serial, valid, now, signing)
    text = encode_permit(permit, signing.key, signing.kid)  # self-checked against the verifier's decoder
    return store_card(db, permit, text, signing, value, cause)


def card_permit(db: sqlite_utils.Database, holder: dict, serial: int, valid: tuple[int, int], now: int,
                signing: Signing, taken: set[tuple[int, int]] | None = None) -> Permit:
    """The permit card `serial` will carry, with a fresh status entry (not in `taken`: entries drawn for
    cards not stored yet, see registry/office/signing_pool.py). Nothing is signed yet."""
    list_id, idx = allocate_status_entry(db, now, taken)
    return Permit(
        number=holder["number"], card=serial, surname=holder["surname"], given_names=holder["given_names"],
        chinese_name=holder["chinese_name"], sex=holder["sex"], birth_date=date.fromisoformat(holder["birth_date"]),
        nationality=holder["nationality"], category=holder["category"], authority=signing.authority,
        valid_from=valid[0], valid_until=valid[1], signed_at=now, status_list=list_id, status_index=idx,
    )


def store_card(db: sqlite_utils.Database, permit: Permit, text: str, signing: Signing, value: int,
               cause: str) -> dict:
    """Store the signed `text` of `permit` as its current card with its status allocation (`value`)."""
    list_id, idx, serial, now = permit.status_list, permit.status_index, permit.card, permit.signed_at
    valid = (permit.valid_from, permit.valid_until)
    payload = base45.decode(text[len(PREFIX):])
    card = {"number": permit.number, "serial": serial, "state": "current", "valid_from": valid[0],
            "valid_until": valid[1], "signed_at": now, "kid": signing.kid.hex(), "status_list": list_id,
            "status_index": idx, "payload": payload, "cause": cause}
    cursor = db.execute(f"INSERT INTO cards ({', '.join(card)}) VALUES ({', '.join('?' * len(card))})",
                        list(card.values()))
    card["id"] = cursor.lastrowid
    db.execute("INSERT INTO allocations (list_id, idx, value, card_id, allocated_at) VALUES (?, ?, ?, ?, ?)",
               (list_id, idx, value, card["id"], now))
    return card


def issue_in_transaction(db: sqlite_utils.Database, app: Application, signing: Signing, now: int,
                         acting: Acting) -> str:
    """Issue one permit inside the caller's write transaction (the office has checked its rules); returns
    its number."""
    _, permit = prepare_issue(db, app, signing, now)
    text = encode_permit(permit, signing.key, signing.kid)  # self-checked against the verifier's decoder
    return finish_issue(db, permit, text, signing, acting)


def prepare_issue(db: sqlite_utils.Database, app: Application, signing: Signing, now: int,
                  taken: set[tuple[int, int]] | None = None) -> tuple[dict, Permit]:
    """The first half of an issuance: the permit row stored, its number and status entry drawn, the
    permit of card 1 built (to be signed, then stored by finish_issue in the same transaction)."""
    numbered = allocate_number(db, app.province, app.nationality, app.birth_date, app.sex)
    holder = {
        "number": numbered, "surname": app.surname, "given_names": app.given_names,
        "chinese_name": app.chinese_name, "sex": app.sex, "birth_date": app.birth_date.isoformat(),
        "nationality": app.nationality, "province": app.province, "category": app.category,
        "photo": app.photo, "photo_type": app.photo_type, "state": ACTIVE, "applicant_key": applicant_key(app),
        "created_at": now, "passport_country": app.passport_country, "passport_number": app.passport_number,
    }
    db.execute(f"INSERT INTO permits ({', '.join(holder)}) VALUES ({', '.join('?' * len(holder))})",
               list(holder.values()))
    return holder, card_permit(db, holder, 1, validity(app.birth_date, now), now, signing, taken)


def finish_issue(db: sqlite_utils.Database, permit: Permit, text: str, signing: Signing, acting: Acting) -> str:
    """The second half: card 1 stored with its signed text, and the issue event recorded."""
    card = store_card(db, permit, text, signing, 0, "issue")
    record_event(db, acting.event("issue", permit.signed_at, number=permit.number, to_state=ACTIVE,
                                  card_serial=card["serial"]))
    return permit.number
