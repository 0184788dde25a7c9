"""The permit store: one SQLite file (WAL) under the registry home, through sqlite-utils.

Tables (created by the migrations below):
- `permits`: one row per permit number, the holder's data, the cached lifecycle state and the photo.
- `cards`: every card ever signed for a permit (serial 1, 2, ...), its validity, signing key and the
  signed COSE_Sign1 bytes (QR images are rendered from them on demand, never stored).
- `allocations`: status-list entries (list id, index) with their current 2-bit value, one per card.
- `status_lists`: the lists allocated so far and how many entries each has handed out.
- `events`: the append-only log of every act of the office, each naming the authenticated operator who
  acted (`operator_id`) and, where the policy asked for one, the officer who approved (`approver_id`).
  Triggers refuse UPDATE and DELETE, and an INSERT without an operator. Written only through
  `registry.office.record.record_event`.
- `operators`: the office's operators (clerk, officer, admin), each bound to one person reference, with
  the SHA-256 of their token. `api_calls`: every admin API call (registry/api/operators.py).
- `proposals`: acts waiting for a second operator's approval (four eyes).
- `bars`: re-application bars left by revocations; `appeals`: reconsideration and litigation against a
  revocation or suspension; `presence`: days present in the country per permit and calendar year.

Every write goes through `write_transaction` (`BEGIN IMMEDIATE`): allocation of numbers, card serials and
status indexes happens while holding the write lock, and the UNIQUE indexes are the second line of
defence. A lock held by another writer longer than the busy timeout becomes a StoreBusy error; batch
jobs (import) wait it out with `retry_while_busy` instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations
from sqlite_utils.utils import dedupe_keys

from keys.errors import Cause, PermitError, Reason
from keys.files import ensure_private
from registry.lockwait import waiting_for_lock

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
MIGRATIONS = Migrations("permit-registry")


class StoreError(PermitError):
    """The permit store cannot be opened or written (busy, corrupt, constraint broken)."""

    reason = Reason.STORE
    cause = Cause.STORAGE


class StoreBusy(StoreError):
    """Another process held the write lock for longer than the busy timeout; nothing was changed."""

    cause = Cause.BUSY


def retry_while_busy(work: Callable[[], T], wait: float = 0.05, say: Callable[[str], None] | None = None) -> T:
    """Run `work` (one whole write transaction) until it is not refused as busy: for batch jobs, which
    must finish however long another writer holds the lock, never give up after one busy timeout.
    `say` is told, about every 30 seconds, that the job is still waiting."""
    waited_since = time.monotonic()
    told = waited_since
    while True:
        try:
            return work()
        except StoreBusy:
            if say is not None and time.monotonic() - told >= 30:
                say(f"still waiting for the register's write lock ({time.monotonic() - waited_since:.0f} s)")
                told = time.monotonic()
            time.sleep(wait)


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


_SCHEMA_2 = [
    # Operators move into the store's own schema (the office's CLI acts as one too); IF NOT EXISTS because
    # the admin API's migration set may already have made them in an older store.
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
_SCHEMA_2_AFTER = [
    # One person, one active account: two accounts for one person could approve each other's proposals.
    "CREATE UNIQUE INDEX operators_one_active_person ON operators (person) WHERE revoked_at IS NULL",
    "ALTER TABLE permits ADD COLUMN passport_country TEXT",
    "ALTER TABLE permits ADD COLUMN passport_number TEXT",
    "CREATE INDEX permits_passport ON permits (passport_country, passport_number)",
    # events, rebuilt: a permit number is optional (an operator's enrolment, a proposal to issue), and
    # every new row names an operator id (legacy rows keep their typed actor and no id).
    """CREATE TABLE events_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT REFERENCES permits (number),
        card_serial INTEGER,
        action TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL CHECK (length(actor) > 0),
        reason TEXT,
        note TEXT,
        detail TEXT,
        operator_id INTEGER REFERENCES operators (id),
        approver_id INTEGER REFERENCES operators (id),
        proposal_id INTEGER
    )""",
    "INSERT INTO events_v2 (id, number, card_serial, action, from_state, to_state, at, actor, reason, note, detail) "
    "SELECT id, number, card_serial, action, from_state, to_state, at, actor, reason, note, detail FROM events",
    "DROP TABLE events",
    "ALTER TABLE events_v2 RENAME TO events",
    "CREATE INDEX events_number ON events (number, id)",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END""",
    """CREATE TRIGGER events_need_an_operator BEFORE INSERT ON events WHEN NEW.operator_id IS NULL
       BEGIN SELECT RAISE(ABORT, 'every event names the authenticated operator who acted'); END""",
    """CREATE TABLE proposals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        act TEXT NOT NULL,
        number TEXT REFERENCES permits (number),
        params TEXT NOT NULL,
        summary TEXT NOT NULL,
        passport_key TEXT,
        ref TEXT,
        batch TEXT,
        proposed_by INTEGER NOT NULL REFERENCES operators (id),
        proposed_at INTEGER NOT NULL,
        note TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
        decided_by INTEGER REFERENCES operators (id),
        decided_at INTEGER,
        result TEXT
    )""",
    "CREATE INDEX proposals_state ON proposals (state, id)",
    "CREATE INDEX proposals_passport ON proposals (passport_key) WHERE state = 'pending'",
    "CREATE INDEX proposals_ref ON proposals (ref) WHERE state = 'pending'",
    """CREATE TABLE bars (
        id INTEGER PRIMARY KEY,
        passport_country TEXT NOT NULL,
        passport_number TEXT NOT NULL,
        number TEXT NOT NULL REFERENCES permits (number),
        ground TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        until_day TEXT NOT NULL,
        lifted_at INTEGER,
        lifted_by_appeal INTEGER
    )""",
    "CREATE INDEX bars_passport ON bars (passport_country, passport_number)",
    """CREATE TABLE appeals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT NOT NULL REFERENCES permits (number),
        kind TEXT NOT NULL CHECK (kind IN ('reconsideration', 'litigation')),
        against_event INTEGER NOT NULL REFERENCES events (id),
        against_action TEXT NOT NULL,
        decision_day TEXT NOT NULL,
        filed_day TEXT NOT NULL,
        window_end TEXT NOT NULL,
        due_day TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        outcome TEXT CHECK (outcome IN ('upheld', 'overturned')),
        decided_day TEXT,
        recorded_at INTEGER NOT NULL,
        UNIQUE (kind, case_ref)
    )""",
    "CREATE INDEX appeals_number ON appeals (number, id)",
    """CREATE TABLE presence (
        number TEXT NOT NULL REFERENCES permits (number),
        year INTEGER NOT NULL,
        days INTEGER NOT NULL CHECK (days BETWEEN 0 AND 366),
        source TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (number, year)
    )""",
]


@MIGRATIONS(name="0002_office_service")
def _office_service(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_2:
        db.execute(statement)
    columns = {row[1] for row in db.execute("PRAGMA table_info(operators)").fetchall()}
    if "person" not in columns:
        db.execute("ALTER TABLE operators ADD COLUMN person TEXT")
    # Operators enrolled before persons were bound: each is taken as a person of its own until re-enrolled.
    db.execute("UPDATE operators SET person = 'legacy:' || id WHERE person IS NULL")
    for statement in _SCHEMA_2_AFTER:
        db.execute(statement)


@MIGRATIONS(name="0003_transparency_log")
def _transparency_log(db: sqlite_utils.Database) -> None:
    """The log's tables, each event's leaf index, and the office's own acts (key events, publishes,
    organisation changes) allowed without an operator id: they are made by the holder of the key store."""
    from registry import tlog_events, tlog_store

    tlog_store.ensure_schema(db)
    db.execute("ALTER TABLE events ADD COLUMN leaf_index INTEGER")
    db.execute("CREATE UNIQUE INDEX events_leaf ON events (leaf_index) WHERE leaf_index IS NOT NULL")
    db.execute("DROP TRIGGER events_need_an_operator")
    office = ", ".join(f"'{a}'" for a in tlog_events.OFFICE_ACTIONS)
    db.execute(f"""CREATE TRIGGER events_need_an_operator BEFORE INSERT ON events
       WHEN NEW.operator_id IS NULL AND NEW.action NOT IN ({office})
       BEGIN SELECT RAISE(ABORT, 'every event names the authenticated operator who acted'); END""")
    _backfill(db)
    tlog_events.log_secret(db.conn)  # the office log secret, HOME/log.secret (0600)


def _backfill(db: sqlite_utils.Database) -> None:
    """Events recorded before the log existed become its first leaves, in their order, where they can: a
    legacy row naming no card of the register (an issue without a card serial) stays without a leaf."""
    from registry import tlog_events, tlog_store

    columns = ("id", *tlog_events.RECORD_COLUMNS)
    found = db.execute(f"SELECT {', '.join(columns)} FROM events ORDER BY id").fetchall()
    if not found:
        return
    secret = tlog_events.log_secret(db.conn)
    db.execute("DROP TRIGGER events_no_update")
    for values in found:
        row = dict(zip(columns, values, strict=True))
        try:
            leaf = tlog_events.event_leaf(db.conn, secret, row)
        except (tlog_events.LogError, KeyError, ValueError, TypeError):
            continue
        db.execute("UPDATE events SET leaf_index = ? WHERE id = ?", (tlog_store.append_leaf(db, leaf), row["id"]))
    db.execute("""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""")


def fold_text(text: str | None) -> str | None:
    """Text compared without regard to case or Unicode normal form (name searches): NFC + casefold."""
    return None if text is None else unicodedata.normalize("NFC", text).casefold()


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
        conn.create_function("fold", 1, fold_text, deterministic=True)
        db.enable_wal()
        if MIGRATIONS.pending(db):
            with write_transaction(db):
                MIGRATIONS.apply(db)
    return db


class translate_errors:
    """Turn sqlite3 exceptions into StoreError: a busy database says so plainly. (A class, not a generator
    function: it wraps every query of a batch issuance, where contextlib's machinery was measurable.)"""

    def __init__(self, what: object = "the permit store") -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or not isinstance(exc, sqlite3.DatabaseError):
            return
        what = self.what
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise StoreBusy(f"{what} is busy: another process held its write lock past the wait; "
                                "nothing was changed, try again") from None
            raise StoreError(f"database error in {what}: {text}") from None
        if isinstance(exc, sqlite3.IntegrityError):
            raise StoreError(f"refused by a constraint of {what}: {exc}; nothing was changed") from None
        raise StoreError(f"database error in {what}: {exc}") from None


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """`BEGIN IMMEDIATE` ... `COMMIT`: the write lock is taken before anything is read, so allocations
    made inside cannot race another writer. Any exception rolls everything back."""
    if db.conn.in_transaction:
        raise StoreError("a write transaction is already open on this connection")
    with translate_errors():
        with waiting_for_lock(db.conn):  # an import that holds the lock sees this writer wait and yields it
            db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.conn.execute("COMMIT")


class savepoint:  # lower case: used like a function, as a context manager
    """A nested transaction inside the caller's write transaction: whatever runs in it is undone if it
    raises (a refused row of a batch leaves nothing behind). One fixed name, so SQLite prepares the
    statements once; sqlite-utils' atomic() names each savepoint at random, a new statement every row."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            raise StoreError("a savepoint is taken only inside a write transaction")
        self.conn.execute("SAVEPOINT row")

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.conn.execute("RELEASE row")
        elif self.conn.in_transaction:  # a RAISE(ROLLBACK) trigger may have ended the transaction already
            self.conn.execute("ROLLBACK TO row")
            self.conn.execute("RELEASE row")


def _names(cursor: sqlite3.Cursor) -> list[str]:
    """The column names of a query, repeated names numbered as sqlite-utils does (x, x_2)."""
    names = [column[0] for column in cursor.description]
    return names if len(set(names)) == len(names) else dedupe_keys(names)


def one(db: sqlite_utils.Database, sql: str, params: tuple | list = ()) -> dict | None:
    """The first row of a read query as a dict, or None. (On the connection directly: sqlite-utils' query
    parses each statement again, a cost paid ten times per permit in a batch issuance.)"""
    with translate_errors():
        cursor = db.conn.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else dict(zip(_names(cursor), row, strict=True))


def rows(db: sqlite_utils.Database, sql: str, params: tuple | list = ()) -> list[dict]:
    with translate_errors():
        cursor = db.conn.execute(sql, params)
        found = cursor.fetchall()
        if not found:
            return []
        names = _names(cursor)
        return [dict(zip(names, row, strict=True)) for row in found]
