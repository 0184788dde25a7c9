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
