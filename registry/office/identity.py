"""One person, one active permit, and the re-application bars left by revocations.

A person is their passport identity: issuing country and passport number (kept in the register, never on
the QR). A permit is live while active, suspended or expired (an expired one is renewed, not applied for
again). A revocation on a ground with a bar leaves a row in `bars` until the bar's last day; an
overturned appeal lifts it.
"""

from __future__ import annotations

from datetime import date

import sqlite_utils

from keys.permit import local_date
from registry.issuance import passport_key
from registry.office.errors import CONFLICT, OfficeError
from registry.store import one

LIVE_STATES = ("active", "suspended", "expired")


def anniversary(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return date(d.year + years, 3, 1)


def live_permit(db: sqlite_utils.Database, country: str, number: str, exclude: str | None = None) -> dict | None:
    return one(db, "SELECT number, state FROM permits WHERE passport_country = ? AND passport_number = ? "
               "AND state IN (?, ?, ?) AND number != ? ORDER BY number LIMIT 1",
               (country, number, *LIVE_STATES, exclude or ""))


def active_bar(db: sqlite_utils.Database, country: str, number: str, now: int) -> dict | None:
    """The bar that ends last among the unlifted bars on this passport still running on `now`'s date."""
    return one(db, "SELECT * FROM bars WHERE passport_country = ? AND passport_number = ? AND lifted_at IS NULL "
               "AND until_day > ? ORDER BY until_day DESC LIMIT 1",
               (country, number, local_date(now).isoformat()))


def check_person(db: sqlite_utils.Database, country: str, number: str, now: int, exclude: str | None = None,
                 pending_ok: int | None = None) -> None:
    """Refuse a permit for a passport identity that holds a live permit, is barred, or already has an issuance
    waiting for approval (other than proposal `pending_ok`)."""
    live = live_permit(db, country, number, exclude)
    if live:
        raise OfficeError("duplicate-person", f"passport {country} {number} already holds permit {live['number']} "
                                              f"({live['state']}): one person, one active permit; nothing was "
                                              "changed", CONFLICT)
    bar = active_bar(db, country, number, now)
    if bar:
        revoked = local_date(bar["revoked_at"]).isoformat()
        raise OfficeError("barred", f"passport {country} {number} is barred from a new application until "
                                    f"{bar['until_day']} (permit {bar['number']} revoked on {revoked} for "
                                    f"{bar['ground']}); nothing was changed", CONFLICT)
    pending = one(db, "SELECT id FROM proposals WHERE state = 'pending' AND passport_key = ? AND id != ?",
                  (passport_key(country, number), pending_ok or 0))
    if pending:
        raise OfficeError("duplicate-person", f"passport {country} {number} already has an issuance waiting for "
                                              f"approval (proposal {pending['id']}); nothing was changed", CONFLICT)


def add_bar(db: sqlite_utils.Database, permit: dict, ground: str, years: int, now: int) -> str | None:
    """Record the bar a revocation leaves; returns its last day (exclusive), or None for no bar."""
    if years <= 0 or not permit.get("passport_number"):
        return None
    until = anniversary(local_date(now), years).isoformat()
    db.execute("INSERT INTO bars (passport_country, passport_number, number, ground, revoked_at, until_day) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               (permit["passport_country"], permit["passport_number"], permit["number"], ground, now, until))
    return until


def lift_bars(db: sqlite_utils.Database, number: str, now: int, appeal_id: int) -> int:
    cursor = db.execute("UPDATE bars SET lifted_at = ?, lifted_by_appeal = ? WHERE number = ? AND lifted_at IS NULL",
                        (now, appeal_id, number))
    return cursor.rowcount
