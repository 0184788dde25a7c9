"""The service database's schema (service.db in the verifier cache), built by numbered migrations.

`PRAGMA user_version` records the last migration applied. A file from before migrations existed has
version 0 and may hold the first tables already: every step is written so that it completes such a
file (CREATE ... IF NOT EXISTS, a column added only where it is missing). Each step runs in one
transaction with the version bump, so a crash leaves the file at the old version or the new one.
To change the schema, append a step; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from keys.errors import Cause, PermitError, Reason

_FIRST = ["""
CREATE TABLE IF NOT EXISTS orgs (
    name TEXT PRIMARY KEY,
    sector TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
)""", """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    number_hash TEXT,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS audit_org_at ON audit (org, at)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _first_tables(conn: sqlite3.Connection) -> None:
    for statement in _FIRST:
        conn.execute(statement)


def _org_rate(conn: sqlite3.Connection) -> None:
    """rate: requests per second for one key, when its contract differs from its sector's."""
    if "rate" not in _columns(conn, "orgs"):
        conn.execute("ALTER TABLE orgs ADD COLUMN rate REAL")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_first_tables, _org_rate]
VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the current schema; returns the version it was at. A file written by a
    newer verifier (a higher version) is refused rather than guessed at."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise PermitError(f"service.db has schema version {found}, newer than this verifier's {VERSION}: "
                          "upgrade the verifier", Reason.STORE, cause=Cause.CONFIG)
    for version in range(found, VERSION):
        try:
            conn.execute("BEGIN IMMEDIATE")
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise PermitError(f"cannot migrate service.db to schema version {version + 1}: {exc}", Reason.STORE,
                              cause=Cause.STORAGE) from None
    return found
