"""Identity verification for enrolled organisations (rail booking without a card): a permit number and a
name (and optionally a birth date) in; whether they name one permit, and that permit's current status, out.
Nothing else leaves: no names, no dates, and the same `{"match": false}` for an unknown number as for a
wrong name, so a caller learns a permit's status only when it already knows its holder's name.

Organisations are enrolled by the office (`registry orgs add`) with their own API keys; only the SHA-256
of a key is stored (keys are 32 random bytes). Every call, refused or not, is a row of the append-only
`identity_calls` table (organisation, time, claimed number, outcome), which is also what the rate limits
count, so they hold across every worker and restart:
- `per_minute` calls per organisation in any 60 s (default 60), and
- `misses_per_day` answers of `match: false` in any 24 h (default 200): guessing numbers, or names for a
  known number, runs out quickly, while an honest booking system rarely misses.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlite_utils
from sqlite_utils.migrations import Migrations

from keys.errors import Cause, PermitError, Reason
from registry import store
from registry.lifecycle import ACTIVE, EXPIRED, REVOKED, SUSPENDED, effective_state
from verifier.names import name_matches

IDV_MIGRATIONS = Migrations("permit-registry-identity")
KEY_PREFIX = "pik_"
NAME_PATTERN = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
NUMBER_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEFAULT_PER_MINUTE = 60
DEFAULT_MISSES_PER_DAY = 200
# The registry's state as the verifier's reason code, for integrators that already script against those.
STATE_REASONS = {ACTIVE: Reason.VALID, EXPIRED: Reason.EXPIRED, SUSPENDED: Reason.SUSPENDED, REVOKED: Reason.REVOKED}


class EnrolmentError(PermitError):
    """An enrolment refused: bad name or limits (FORMAT), a name taken (CONFLICT), no such organisation."""

    reason = Reason.USAGE
    cause = Cause.CONFLICT


class RateLimited(PermitError):
    reason = Reason.USAGE
    cause = Cause.FORBIDDEN

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Org:
    id: int
    name: str
    per_minute: int
    misses_per_day: int
    created_at: int
    revoked_at: int | None = None


@IDV_MIGRATIONS(name="0001_identity_orgs_and_calls")
def _schema(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE IF NOT EXISTS identity_orgs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
        per_minute INTEGER NOT NULL CHECK (per_minute >= 1),
        misses_per_day INTEGER NOT NULL CHECK (misses_per_day >= 1),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    )""")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS identity_orgs_active ON identity_orgs (name) "
               "WHERE revoked_at IS NULL")
    db.execute("""CREATE TABLE IF NOT EXISTS identity_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        org_id INTEGER NOT NULL REFERENCES identity_orgs (id),
        number TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('match', 'miss', 'invalid', 'limited')),
        remote_addr TEXT
    )""")
    db.execute("CREATE INDEX IF NOT EXISTS identity_calls_org_at ON identity_calls (org_id, at)")
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS identity_calls_no_{verb.lower()} BEFORE {verb} ON identity_calls "
                   f"BEGIN SELECT RAISE(ABORT, 'identity_calls is append-only: {verb} is not allowed'); END")


def ensure_schema(db: sqlite_utils.Database) -> None:
    with store.translate_errors():
        if IDV_MIGRATIONS.pending(db):
            with store.write_transaction(db):
                IDV_MIGRATIONS.apply(db)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def enrol(db: sqlite_utils.Database, name: str, now: int, per_minute: int = DEFAULT_PER_MINUTE,
          misses_per_day: int = DEFAULT_MISSES_PER_DAY, operator_id: int | None = None) -> str:
    """Enrol an organisation; returns its key (shown once, stored hashed). The enrolment is an act in the
    transparency log (by `operator_id`, or the office)."""
    from registry.office.record import Event, record_event

    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name.strip()):
        raise EnrolmentError("an organisation's name is 1 to 100 printable characters", cause=Cause.FORMAT)
    if per_minute < 1 or misses_per_day < 1:
        raise EnrolmentError("the limits must be at least 1", cause=Cause.FORMAT)
    ensure_schema(db)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.translate_errors(), store.write_transaction(db):
        if store.one(db, "SELECT 1 FROM identity_orgs WHERE name = ? AND revoked_at IS NULL", (name.strip(),)):
            raise EnrolmentError(f"an organisation named {name.strip()!r} is enrolled already; revoke it first")
        db.execute("INSERT INTO identity_orgs (name, key_hash, per_minute, misses_per_day, created_at) "
                   "VALUES (?, ?, ?, ?, ?)", (name.strip(), key_hash(key), per_minute, misses_per_day, now))
        record_event(db, Event("org-add", now, operator_id, detail={"org": name.strip(), "per_minute": per_minute,
                                                                    "misses_per_day": misses_per_day}))
    return key


def revoke(db: sqlite_utils.Database, name: str, now: int, operator_id: int | None = None) -> None:
    from registry.office.record import Event, record_event

    ensure_schema(db)
    with store.translate_errors(), store.write_transaction(db):
        cursor = db.execute("UPDATE identity_orgs SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                            (now, name))
        if cursor.rowcount == 0:
            raise EnrolmentError(f"no enrolled organisation named {name!r}", cause=Cause.NOT_FOUND)
        record_event(db, Event("org-revoke", now, operator_id, detail={"org": name}))


def orgs(db: sqlite_utils.Database) -> list[Org]:
    ensure_schema(db)
    return [Org(**row) for row in store.rows(
        db, "SELECT id, name, per_minute, misses_per_day, created_at, revoked_at FROM identity_orgs ORDER BY name")]


def org_for_key(db: sqlite_utils.Database, key: str) -> Org | None:
    if not key or len(key) > 200:
        return None
    row = store.one(db, "SELECT id, name, per_minute, misses_per_day, created_at, revoked_at FROM identity_orgs "
                        "WHERE key_hash = ? AND revoked_at IS NULL", (key_hash(key),))
    return Org(**row) if row else None


@dataclass(frozen=True)
class Claim:
    number: str
    name: str
    birth_date: str | None


def parse_claim(body: object) -> tuple[Claim | None, list[tuple[str, str]]]:
    """The request body -> a claim, or the list of field problems (all at once)."""
    if not isinstance(body, dict):
        return None, [("body", "must be a JSON object with 'number' and 'name' (and optionally 'birth_date')")]
    problems = [(k, "unexpected field") for k in sorted(set(body) - {"number", "name", "birth_date"})]
    number, name, birth = body.get("number"), body.get("name"), body.get("birth_date")
    if not isinstance(number, str) or not NUMBER_PATTERN.fullmatch(number.strip().upper()):
        problems.append(("number", "must be an 18-character permit number"))
    if not isinstance(name, str) or not name.strip() or not NAME_PATTERN.fullmatch(name.strip()):
        problems.append(("name", "must be the holder's name, 1 to 100 printable characters"))
    if birth is not None and (not isinstance(birth, str) or not DATE_PATTERN.fullmatch(birth.strip())):
        problems.append(("birth_date", "must be a date YYYY-MM-DD"))
    if problems:
        return None, problems
    return Claim(number.strip().upper(), name.strip(), birth.strip() if birth else None), []


def _limit(db: sqlite_utils.Database, org: Org, now: int) -> None:
    recent = store.one(db, "SELECT count(*) AS n, min(at) AS first FROM identity_calls WHERE org_id = ? AND at > ?",
                       (org.id, now - 60))
    if recent["n"] >= org.per_minute:
        raise RateLimited(f"at most {org.per_minute} identity checks a minute", max(1, recent["first"] + 60 - now))
    misses = store.one(db, "SELECT count(*) AS n, min(at) AS first FROM identity_calls WHERE org_id = ? AND at > ? "
                           "AND outcome IN ('miss', 'invalid')", (org.id, now - 86400))
    if misses["n"] >= org.misses_per_day:
        raise RateLimited(f"more than {org.misses_per_day} non-matching checks in 24 hours: refused until some age out",
                          max(1, misses["first"] + 86400 - now))


def _record(db: sqlite_utils.Database, org: Org, now: int, number: str | None, outcome: str,
            remote: str | None) -> None:
    db.execute("INSERT INTO identity_calls (at, org_id, number, outcome, remote_addr) VALUES (?, ?, ?, ?, ?)",
               (now, org.id, number, outcome, remote))


def verify(db: sqlite_utils.Database, org: Org, body: object, now: int, remote: str | None = None
           ) -> tuple[dict[str, object] | None, list[tuple[str, str]]]:
    """Check a claim for `org`, within its limits, recording the call. Returns the answer, or the field
    problems of an invalid request. Raises RateLimited (recorded too)."""
    claim, problems = parse_claim(body)
    number = claim.number if claim else (body.get("number") if isinstance(body, dict) else None)
    number = number[:32] if isinstance(number, str) else None
    limited: RateLimited | None = None
    with store.translate_errors(), store.write_transaction(db):
        try:
            _limit(db, org, now)
        except RateLimited as exc:
            _record(db, org, now, number, "limited", remote)  # committed: the refusal is on record too
            limited = exc
        if limited is None:
            answer = _answer(db, org, claim, problems, now, number, remote)
    if limited is not None:
        raise limited
    return answer


def _answer(db: sqlite_utils.Database, org: Org, claim: Claim | None, problems: list[tuple[str, str]], now: int,
            number: str | None, remote: str | None) -> tuple[dict[str, object] | None, list[tuple[str, str]]]:
    """Inside the caller's write transaction: look the claim up and record the outcome."""
    if claim is None:
        _record(db, org, now, number, "invalid", remote)
        return None, problems
    permit = store.one(db, "SELECT p.number, p.surname, p.given_names, p.chinese_name, p.birth_date, p.state, "
                           "c.valid_until FROM permits p JOIN cards c ON c.number = p.number "
                           "AND c.state = 'current' WHERE p.number = ?", (claim.number,))
    matched = permit is not None and name_matches(claim.name, permit["surname"], permit["given_names"],
                                                  permit["chinese_name"]) and (
        claim.birth_date is None or claim.birth_date == permit["birth_date"])
    _record(db, org, now, claim.number, "match" if matched else "miss", remote)
    if not matched or permit is None:
        return {"match": False}, []
    state = effective_state(permit, permit, now)
    reason = STATE_REASONS.get(state, Reason.REVOKED)
    return {"match": True, "status": state, "reason": reason.value}, []
