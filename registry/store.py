"""The permit store: one SQLite file (WAL) under the registry home, through sqlite-utils.

Tables (created by the migrations below):
- `permits`: one row per permit number, the holder's data, the cached lifecycle state and the photo.
- `cards`: every card ever signed for a permit (serial 1, 2, ...), its validity, signing key and the
  signed COSE_Sign1 bytes (QR images are rendered from them on demand, never stored).
- `allocations`: status-list entries (list id, index) with their current 2-bit value, one per card.
- `status_lists`: the lists allocated so far and how many entries each has handed out.
- `events`: the append-only log of every issuance and transition. Triggers refuse UPDATE and DELETE.

Every write goes through `write_transaction` (`BEGIN IMMEDIATE`): allocation of numbers, card serials and
status indexes happens while holding the write lock, and the UNIQUE indexes are the second line of
defence. A lock held by another writer longer than the busy timeout becomes a StoreError.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from keys.errors import PermitError, Reason
from keys.files import ensure_private

BUSY_TIMEOUT_MS = 5000
MIGRATIONS = Migrations("permit-registry")


class StoreError(PermitError):
    """The permit store cannot be opened or written (busy, corrupt, constraint broken)."""

    reason = Reason.STORE


_SCHEMA_1 = [
    """CREATE TABLE permits (
        number TEXT PRIMARY KEY CHECK (length(number) = 18),
        surname TEXT NOT NULL,
        given_names TEXT NOT NULL,
        chinese_name TEXT,
        sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
        birth_date TEXT NOT NULL,
        nationality TEXT NOT NULL,
        province TEXT NOT NULL,
        category TEXT NOT NULL,
        photo BLOB,
        photo_type TEXT,
        state TEXT NOT NULL,
        applicant_key TEXT UNIQUE,
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX permits_nationality ON permits (nationality)",
    "CREATE INDEX permits_state ON permits (state)",
    "CREATE INDEX permits_surname ON permits (surname COLLATE NOCASE)",
    """CREATE TABLE status_lists (
        list_id INTEGER PRIMARY KEY CHECK (list_id >= 1),
        size INTEGER NOT NULL,
        used INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    )""",
    """CREATE TABLE cards (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL REFERENCES permits (number),
        serial INTEGER NOT NULL CHECK (serial >= 1),
        state TEXT NOT NULL CHECK (state IN ('current', 'superseded')),
        valid_from INTEGER NOT NULL,
        valid_until INTEGER NOT NULL,
        signed_at INTEGER NOT NULL,
        kid TEXT NOT NULL,
        status_list INTEGER NOT NULL,
        status_index INTEGER NOT NULL,
        payload BLOB NOT NULL,
        cause TEXT NOT NULL,
        UNIQUE (number, serial),
        UNIQUE (status_list, status_index)
    )""",
    "CREATE UNIQUE INDEX cards_one_current ON cards (number) WHERE state = 'current'",
    "CREATE INDEX cards_kid ON cards (kid, state)",
    """CREATE TABLE allocations (
        list_id INTEGER NOT NULL REFERENCES status_lists (list_id),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        value INTEGER NOT NULL CHECK (value BETWEEN 0 AND 3),
        card_id INTEGER NOT NULL UNIQUE REFERENCES cards (id),
        allocated_at INTEGER NOT NULL,
        PRIMARY KEY (list_id, idx)
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT NOT NULL REFERENCES permits (number),
        card_serial INTEGER,
        action TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        note TEXT,
        detail TEXT
    )""",
    "CREATE INDEX events_number ON events (number, id)",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END""",
]


@MIGRATIONS(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_1:
        db.execute(statement)


def open_store(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open (creating and migrating as needed) the store at `path`, in WAL mode with a busy timeout.
    The file is the owner's alone (0600 in a 0700 folder): it holds personal data and photos."""
    ensure_private(path)
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the permit store {path}: {exc}") from None
    with translate_errors(path):
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        if MIGRATIONS.pending(db):
            with write_transaction(db):
                MIGRATIONS.apply(db)
    return db


@contextlib.contextmanager
def translate_errors(what: object = "the permit store") -> Iterator[None]:
    """Turn sqlite3 exceptions into StoreError: a busy database says so plainly."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreError(f"{what} is busy: another process held its write lock past the wait; "
                             "nothing was changed, try again") from None
        raise StoreError(f"database error in {what}: {text}") from None
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"refused by a constraint of {what}: {exc}; nothing was changed") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database error in {what}: {exc}") from None


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """`BEGIN IMMEDIATE` ... `COMMIT`: the write lock is taken before anything is read, so allocations
    made inside cannot race another writer. Any exception rolls everything back."""
    if db.conn.in_transaction:
        raise StoreError("a write transaction is already open on this connection")
    with translate_errors():
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.conn.execute("COMMIT")


def one(db: sqlite_utils.Database, sql: str, params: tuple | list = ()) -> dict | None:
    """The first row of a read query as a dict, or None."""
    with translate_errors():
        return next(iter(db.query(sql, params)), None)


def rows(db: sqlite_utils.Database, sql: str, params: tuple | list = ()) -> list[dict]:
    with translate_errors():
        return list(db.query(sql, params))
