"""A store made before the office service (events with a typed actor, operators without a person) opens
under the new schema with its history intact: old events keep their actor, old operators become persons of
their own, and from then on every event needs an operator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from registry import store


def test_an_old_store_migrates_with_its_history(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    store.MIGRATIONS.apply(old, stop_before="0002_office_service")
    old.execute("INSERT INTO permits (number, surname, given_names, sex, birth_date, nationality, province, category, "
                "state, created_at) VALUES ('911840197911030019', 'SMITH', 'JOHN', 'M', '1979-11-03', 'USA', '11', "
                "'talent', 'active', 1)")
    old.execute("INSERT INTO events (number, action, to_state, at, actor) VALUES ('911840197911030019', 'issue', "
                "'active', 1, 'alice')")
    old.execute("CREATE TABLE operators (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
                "token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, "
                "revoked_at INTEGER, revoked_by TEXT)")
    old.execute("INSERT INTO operators (name, role, token_hash, created_at, created_by) VALUES ('bob', 'officer', ?, "
                "1, 'cli:root')", ("0" * 64,))
    old.conn.commit()
    old.conn.close()

    db = store.open_store(path)
    assert [dict(r) for r in db.query("SELECT action, actor, operator_id FROM events")] == [
        {"action": "issue", "actor": "alice", "operator_id": None}]
    assert [dict(r) for r in db.query("SELECT name, person FROM operators")] == [{"name": "bob", "person": "legacy:1"}]
    assert {"passport_number", "passport_country"} <= {c.name for c in db["permits"].columns}
    with pytest.raises(sqlite3.IntegrityError, match="authenticated operator"):
        db.execute("INSERT INTO events (action, at, actor) VALUES ('revoke', 2, 'mallory')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE events SET actor = 'mallory'")


def test_an_old_store_s_events_become_the_first_leaves_of_the_log(tmp_path: Path) -> None:
    """Acts recorded before the log existed are appended in their order by the migration, each with its
    index on the row, so `registry log verify` covers them too; the secret is made beside the store."""
    from registry import tlog_events, tlog_store

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    store.MIGRATIONS.apply(old, stop_before="0003_transparency_log")
    old.execute("INSERT INTO operators (name, role, token_hash, created_at, created_by, person) VALUES "
                "('root', 'admin', ?, 1, 'bootstrap', 'S0001')", ("1" * 64,))
    for i in range(3):
        old.execute("INSERT INTO events (action, at, actor, operator_id, detail) VALUES ('operator-add', ?, 'root', "
                    "1, ?)", (i, f'{{"operator": 1, "role": "admin", "n": {i}}}'))
    old.conn.commit()
    old.conn.close()

    db = store.open_store(path)
    assert [r["leaf_index"] for r in db.query("SELECT leaf_index FROM events ORDER BY id")] == [0, 1, 2]
    assert tlog_store.tree_size(db) == 3
    assert tlog_events.register_event_leaves(db.conn) == [tlog_store.leaf(db, i) for i in range(3)]
    assert (tmp_path / "log.secret").stat().st_mode & 0o777 == 0o600
