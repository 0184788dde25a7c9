"""Operator accounts of the admin API, and the audit table of every API call.

Both tables live in the permit store, created by this module's own migration set ("permit-registry-api",
recorded in sqlite-utils' `_sqlite_migrations` beside the store's own set), so store.py stays untouched.

- `operators`: one row per token ever handed out. Only the SHA-256 of the token is stored; the token itself
  is shown once, when it is made. A revoked row is kept (revoked_at, revoked_by) for the audit trail; at most
  one unrevoked row per name, so a person whose token leaked gets a new one under the same name.
- `api_calls`: append-only (triggers refuse UPDATE and DELETE, as for `events`): every admin API call,
  refused ones included, with the operator (NULL when no valid token was given), the status code and the
  reason code. State changes are also in `events`, written by issuance/lifecycle in the same transaction
  as the change, with the operator's name as actor: `api_calls` exists because `events` needs a permit
  number and a resulting state, and a 401, a search, a publish or a read of an unknown number has neither.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils
from sqlite_utils.migrations import Migrations

from keys.errors import PermitError, Reason
from registry import store

API_MIGRATIONS = Migrations("permit-registry-api")
TOKEN_PREFIX = "prt_"
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 200
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Role(StrEnum):
    CLERK = "clerk"
    OFFICER = "officer"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)

# What each role may do. Every admin route names exactly one of these permissions.
PERMISSIONS: dict[str, frozenset[Role]] = {
    **{p: frozenset(Role) for p in ("read", "issue", "renew", "replace", "qr")},
    **{p: frozenset({Role.OFFICER, Role.ADMIN})
       for p in ("revoke", "suspend", "reinstate", "surrender", "record-death", "publish")},
    "operators": frozenset({Role.ADMIN}),
}


class OperatorError(PermitError):
    """An operator cannot be added or revoked as asked (bad name or role, name taken, no such operator)."""

    reason = Reason.USAGE


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    role: Role
    created_at: int
    revoked_at: int | None = None

    def may(self, permission: str) -> bool:
        return self.revoked_at is None and self.role in PERMISSIONS[permission]


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS operators (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('clerk', 'officer', 'admin')),
        token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS operators_one_active_name ON operators (name) WHERE revoked_at IS NULL",
    """CREATE TABLE IF NOT EXISTS api_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        operator TEXT,
        role TEXT,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        query TEXT,
        permission TEXT,
        number TEXT,
        status INTEGER NOT NULL,
        reason TEXT,
        remote_addr TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS api_calls_number ON api_calls (number, id)",
    "CREATE INDEX IF NOT EXISTS api_calls_operator ON api_calls (operator, id)",
    """CREATE TRIGGER IF NOT EXISTS api_calls_no_update BEFORE UPDATE ON api_calls
       BEGIN SELECT RAISE(ABORT, 'api_calls is append-only: UPDATE is not allowed'); END""",
    """CREATE TRIGGER IF NOT EXISTS api_calls_no_delete BEFORE DELETE ON api_calls
       BEGIN SELECT RAISE(ABORT, 'api_calls is append-only: DELETE is not allowed'); END""",
]


@API_MIGRATIONS(name="0001_operators_and_api_calls")
def _operators_and_api_calls(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA:
        db.execute(statement)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the operators and api_calls tables if absent (idempotent; safe when several workers start at
    once: the migration runs under the write lock and re-checks what is pending there)."""
    with store.translate_errors():
        if API_MIGRATIONS.pending(db):
            with store.write_transaction(db):
                API_MIGRATIONS.apply(db)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """`prt_` and 32 random bytes, base64url (43 characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def _operator(row: dict) -> Operator:
    return Operator(row["id"], row["name"], Role(row["role"]), row["created_at"], row["revoked_at"])


def add_operator(db: sqlite_utils.Database, name: str, role: str, now: int, by: str) -> tuple[Operator, str]:
    """A new operator and its token (returned once; only its hash is stored)."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise OperatorError("an operator name is 1 to 64 characters: letters, digits and . _ @ - "
                            "(starting with a letter or digit)")
    if role not in ROLES:
        raise OperatorError(f"a role is one of {', '.join(ROLES)}")
    token = new_token()
    with store.write_transaction(db):
        if store.one(db, "SELECT id FROM operators WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise OperatorError(f"operator {name} already exists; revoke it first to give it a new token")
        cursor = db.execute("INSERT INTO operators (name, role, token_hash, created_at, created_by) "
                            "VALUES (?, ?, ?, ?, ?)", (name, role, hash_token(token), now, by))
        row_id = cursor.lastrowid
    return Operator(row_id, name, Role(role), now), token  # type: ignore[arg-type]


def list_operators(db: sqlite_utils.Database, include_revoked: bool = True) -> list[dict]:
    """Every operator (never the token hashes)."""
    sql = "SELECT name, role, created_at, created_by, revoked_at, revoked_by FROM operators"
    if not include_revoked:
        sql += " WHERE revoked_at IS NULL"
    return store.rows(db, sql + " ORDER BY name, id")


def revoke_operator(db: sqlite_utils.Database, name: str, now: int, by: str) -> None:
    with store.write_transaction(db):
        row = store.one(db, "SELECT id FROM operators WHERE name = ? AND revoked_at IS NULL", (name,))
        if row is None:
            raise OperatorError(f"no active operator named {name}")
        db.execute("UPDATE operators SET revoked_at = ?, revoked_by = ? WHERE id = ?", (now, by, row["id"]))


def authenticate(db: sqlite_utils.Database, token: str) -> Operator | None:
    """The operator holding `token` (a revoked one too: the caller refuses it but can name it in the audit),
    or None. The lookup is by hash, so comparing secrets in non-constant time does not arise."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    row = store.one(db, "SELECT id, name, role, created_at, revoked_at FROM operators WHERE token_hash = ?",
                    (hash_token(token),))
    return _operator(row) if row else None


def record_call(db: sqlite_utils.Database, at: int, operator: Operator | None, method: str, path: str,
                query: str | None, permission: str | None, number: str | None, status: int,
                reason: str | None, remote_addr: str | None) -> None:
    with store.write_transaction(db):
        db.execute(
            "INSERT INTO api_calls (at, operator, role, method, path, query, permission, number, status, reason, "
            "remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at, operator.name if operator else None, operator.role.value if operator else None, method,
             path[:300], (query or None) and query[:500], permission, number, status, reason, remote_addr),
        )
