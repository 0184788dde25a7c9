"""The transparency log wired into the office: every act a leaf, `registry log verify` catching a register
rewritten behind the office's back (from another sqlite3 connection), `registry log prove`, backup and
restore, and the acts that used to leave no event (keys, publish, organisations)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from office_adapters import APPLICANT, OTHER, cli_run, enrol

from keys.tlog import merkle
from keys.tlog.checkpoint import open_checkpoint
from keys.tlog.leaves import CardLeaf, KeyLeaf, OperatorLeaf, PublishLeaf, TransitionLeaf, decode_leaf
from keys.tlog.note import NoteVerifier
from registry import tlog_store


@pytest.fixture
def http_dir():
    """Serve a directory on 127.0.0.1 for the test's duration; returns its base URL."""
    import functools
    import http.server
    import threading

    servers = []

    def serve(directory: Path) -> str:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _issue(home: Path, tokens: dict[str, str], tmp_path: Path, applicant: dict) -> str:
    path = tmp_path / f"{applicant['passport_number']}.json"
    path.write_text(json.dumps(applicant))
    proposed = cli_run(home, tokens["clerk"], "issue", "--json", str(path))
    assert proposed.exit_code == 0, proposed.output
    approved = cli_run(home, tokens["officer"], "approve", proposed.stdout.strip())
    assert approved.exit_code == 0, approved.output
    return approved.stdout.strip().split()[-1]


@pytest.fixture
def office(registry_home: Path, tmp_path: Path) -> dict:
    tokens = enrol(registry_home)
    first = _issue(registry_home, tokens, tmp_path, APPLICANT)
    second = _issue(registry_home, tokens, tmp_path, OTHER)
    out = tmp_path / "public"
    r = cli_run(registry_home, None, "publish", "-o", str(out))
    assert r.exit_code == 0, r.output
    return {"home": registry_home, "tokens": tokens, "numbers": (first, second), "out": out}


def _verify(office: dict, *extra: str):
    return cli_run(office["home"], None, "log", "verify", "--json", *extra)


def _events(home: Path) -> list[tuple]:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return conn.execute("SELECT * FROM events WHERE leaf_index IS NOT NULL ORDER BY id").fetchall()
    finally:
        conn.close()


def _columns(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    finally:
        conn.close()


def _insert_or_replace(home: Path, row: tuple) -> None:
    """What an insider with the database file can do: the append-only triggers never see it."""
    cols = _columns(home)
    conn = sqlite3.connect(home / "registry.db")
    try:
        conn.execute(f"INSERT OR REPLACE INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", row)
        conn.commit()
    finally:
        conn.close()


def test_every_act_is_a_leaf_and_the_register_matches_the_published_log(office: dict) -> None:
    r = _verify(office)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["ok"] and report["published_size"] == report["register_size"]
    db = sqlite3.connect(office["home"] / "registry.db")
    kinds = [type(decode_leaf(bytes(d))) for (d,) in db.execute("SELECT data FROM tlog_leaves ORDER BY idx")]
    # init's keys, four operators, two proposals and their issues, the log key, the publish
    assert kinds.count(KeyLeaf) >= 4 and kinds.count(OperatorLeaf) == 4 and kinds.count(CardLeaf) == 2
    assert kinds[-1] is PublishLeaf
    unlogged = db.execute("SELECT count(*) FROM events WHERE leaf_index IS NULL").fetchone()[0]
    assert unlogged == 0


def test_no_leaf_holds_a_name_birth_date_passport_or_permit_number(office: dict) -> None:
    db = sqlite3.connect(office["home"] / "registry.db")
    blob = b"".join(bytes(d) for (d,) in db.execute("SELECT data FROM tlog_leaves"))
    for secret in (*office["numbers"], "SMITH", "JOHN", "1979-11-03", "A12345678", "MÜLLER", "C01X00T47",
                   "root-admin", "carol.clerk", "S-0001"):
        assert secret.encode() not in blob, secret


def test_rewritten_event_row_is_reported_by_log_verify(office: dict) -> None:
    rows = _events(office["home"])
    cols = _columns(office["home"])
    target = next(r for r in rows if r[cols.index("action")] == "issue")
    forged = list(target)
    forged[cols.index("note")] = "approved on the phone"
    _insert_or_replace(office["home"], tuple(forged))
    r = _verify(office)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["altered"] == [target[cols.index("leaf_index")]] and not report["missing"]


def test_deleted_event_row_is_reported_by_log_verify(office: dict) -> None:
    home = office["home"]
    cols = _columns(home)
    victim = next(r for r in _events(home) if r[cols.index("action")] == "operator-add")
    conn = sqlite3.connect(home / "registry.db")
    conn.execute("DROP TRIGGER events_no_delete")  # the app's own connection can do this too
    conn.execute("DELETE FROM events WHERE id = ?", (victim[0],))
    conn.commit()
    conn.close()
    r = _verify(office)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["missing"] == [victim[cols.index("leaf_index")]]
    assert "missing from the register (operator at " in r.stdout


def test_two_swapped_event_rows_are_reported_by_log_verify(office: dict) -> None:
    home = office["home"]
    cols = _columns(home)
    issues = [r for r in _events(home) if r[cols.index("action")] == "issue"]
    a, b = issues[0], issues[1]
    _insert_or_replace(home, (a[0], *b[1:]))
    _insert_or_replace(home, (b[0], *a[1:]))
    r = _verify(office)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    swapped = {a[cols.index("leaf_index")], b[cols.index("leaf_index")]}
    assert swapped <= set(report["out_of_order"]) and not report["missing"] and not report["altered"]


def test_a_card_row_rewritten_under_its_event_is_reported(office: dict) -> None:
    conn = sqlite3.connect(office["home"] / "registry.db")
    conn.execute("UPDATE cards SET payload = x'00' || payload WHERE serial = 1 AND number = ?", (office["numbers"][0],))
    conn.commit()
    conn.close()
    r = _verify(office)
    assert r.exit_code == 1 and len(json.loads(r.stdout)["altered"]) == 1


def test_log_verify_against_a_url(office: dict, http_dir) -> None:
    url = http_dir(office["out"])
    r = _verify(office, "--against", url)
    assert r.exit_code == 0, r.output


def test_log_prove_gives_a_proof_that_verifies_against_the_published_checkpoint(office: dict) -> None:
    number = office["numbers"][1]
    r = cli_run(office["home"], None, "log", "prove", number, "--card", "1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    vkey = (office["out"] / "log" / "key.vkey").read_text()
    checkpoint = open_checkpoint((office["out"] / "log" / "checkpoint").read_bytes(), NoteVerifier.from_vkey(vkey))
    merkle.verify_inclusion(out["leaf_index"], checkpoint.size, bytes.fromhex(out["leaf_hash"]),
                            [bytes.fromhex(h) for h in out["inclusion_proof"]], checkpoint.root)
    db = sqlite3.connect(office["home"] / "registry.db")
    payload = db.execute("SELECT payload FROM cards WHERE number = ? AND serial = 1", (number,)).fetchone()[0]
    import hashlib

    leaf = decode_leaf(tlog_store.leaf(db, out["leaf_index"]))
    assert isinstance(leaf, CardLeaf) and leaf.cose_sha256 == hashlib.sha256(payload).digest()


def test_transitions_under_four_eyes_name_both_operators(office: dict) -> None:
    home, tokens = office["home"], office["tokens"]
    r = cli_run(home, tokens["officer"], "revoke", office["numbers"][0], "--reason", "fraud")
    assert r.exit_code == 0, r.output
    r = cli_run(home, tokens["officer2"], "approve", r.stdout.strip())
    assert r.exit_code == 0, r.output
    db = sqlite3.connect(home / "registry.db")
    data = db.execute("SELECT data FROM tlog_leaves ORDER BY idx DESC LIMIT 1").fetchone()[0]
    leaf = decode_leaf(bytes(data))
    assert isinstance(leaf, TransitionLeaf) and leaf.to_state == "revoked" and leaf.ground == "fraud"
    assert leaf.status == 1 and leaf.approver and leaf.approver != leaf.operator


def test_key_rotation_and_organisations_are_logged_with_the_operator(office: dict) -> None:
    home, admin = office["home"], office["tokens"]["admin"]
    assert cli_run(home, admin, "keys", "rotate").exit_code == 0
    assert cli_run(home, admin, "orgs", "add", "--name", "China Railway 12306").exit_code == 0
    db = sqlite3.connect(home / "registry.db")
    actions = [a for (a,) in db.execute("SELECT action FROM events ORDER BY id DESC LIMIT 2")]
    assert actions == ["org-add", "key-rotate"]
    assert db.execute("SELECT count(*) FROM events WHERE action IN ('org-add', 'key-rotate') AND operator_id IS NULL"
                      ).fetchone()[0] == 0


def test_a_bad_token_changes_no_key(office: dict) -> None:
    home = office["home"]
    before = (home / "keys" / "keys.json").read_bytes()
    r = cli_run(home, "not-a-token", "keys", "rotate")
    assert r.exit_code != 0
    assert (home / "keys" / "keys.json").read_bytes() == before


def test_after_a_restore_log_verify_lists_exactly_the_acts_made_after_the_backup(office: dict, tmp_path: Path) -> None:
    home, tokens = office["home"], office["tokens"]
    backup = tmp_path / "register.backup"
    assert cli_run(home, None, "backup", "-o", str(backup)).exit_code == 0
    size_at_backup = tlog_store.tree_size(sqlite3.connect(backup))
    r = cli_run(home, tokens["officer"], "suspend", office["numbers"][1])  # no four eyes for a suspension
    assert r.exit_code == 0, r.output
    assert cli_run(home, None, "publish", "-o", str(office["out"])).exit_code == 0
    after = tlog_store.tree_size(sqlite3.connect(home / "registry.db"))
    r = cli_run(home, None, "restore", str(backup))
    assert r.exit_code == 0, r.output
    r = _verify(office, "--against", str(office["out"]))
    assert r.exit_code == 1
    assert json.loads(r.stdout)["missing"] == list(range(size_at_backup, after))
    r = cli_run(home, None, "publish", "-o", str(office["out"]))
    assert r.exit_code != 0 and "fork" in str(r.exception)


def test_restore_refuses_a_file_that_is_not_a_register(office: dict, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"not a database at all" * 100)
    before = (office["home"] / "registry.db").read_bytes()
    r = cli_run(office["home"], None, "restore", str(bogus))
    assert r.exit_code != 0 and "not a" in str(r.exception)
    assert (office["home"] / "registry.db").read_bytes() == before


def test_a_row_hidden_from_the_log_is_reported_missing(office: dict) -> None:
    """An insider clears a row's leaf index so that `log verify` would skip it: the published act is missing."""
    home = office["home"]
    cols = _columns(home)
    victim = next(r for r in _events(home) if r[cols.index("action")] == "propose")
    hidden = list(victim)
    hidden[cols.index("leaf_index")] = None
    _insert_or_replace(home, tuple(hidden))
    r = _verify(office)
    assert r.exit_code == 1 and json.loads(r.stdout)["missing"] == [victim[cols.index("leaf_index")]]


def test_an_act_the_log_cannot_hold_is_refused_whole(registry_home: Path) -> None:
    """record_event refuses an act without a leaf kind, and nothing of it (row or leaf) is stored."""
    from registry.office.record import Event, record_event
    from registry.store import StoreError, open_store, write_transaction

    enrol(registry_home)
    db = open_store(registry_home / "registry.db")
    before = (db.execute("SELECT count(*) FROM events").fetchone()[0], tlog_store.tree_size(db))
    with pytest.raises(Exception, match="no leaf kind"), write_transaction(db):
        record_event(db, Event("teleport", 1, 1))
    with pytest.raises(StoreError, match="operator"), write_transaction(db):
        record_event(db, Event("revoke", 1, None, number=None))
    assert (db.execute("SELECT count(*) FROM events").fetchone()[0], tlog_store.tree_size(db)) == before


def test_publish_with_a_bad_token_publishes_and_logs_nothing(office: dict) -> None:
    home, out = office["home"], office["out"]
    before = (out / "log" / "checkpoint").read_bytes(), tlog_store.tree_size(sqlite3.connect(home / "registry.db"))
    r = cli_run(home, "prt_not-a-real-token", "publish", "-o", str(out))
    assert r.exit_code != 0
    after = (out / "log" / "checkpoint").read_bytes(), tlog_store.tree_size(sqlite3.connect(home / "registry.db"))
    assert after == before
