"""Concurrency and crash safety of the permit store, with real processes. The homes here let an operator
issue without a second one (a documented policy: `issue` left out of the four-eyes acts), so that many
issuers and imports write at once."""

from __future__ import annotations

import csv
import itertools
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import REGISTRY_PASSPHRASE

from registry import lifecycle, store
from registry.home import Home
from registry.lockwait import writers_waiting
from registry.office.operators import add_operator, authenticate
from registry.office.policy import DEFAULT_FOUR_EYES
from registry.office.setup import office_for
from registry.store import StoreError, open_store
from registry.validation import validate_application

ROOT = Path(__file__).resolve().parents[1]
SAME_PREFIX = {"surname": "Nguyen", "sex": "M", "birth_date": "1992-03-04", "nationality": "VNM",
               "province": "44", "category": "employment", "passport_country": "VNM"}
TOKEN = {}


@pytest.fixture(autouse=True)
def issuing_without_approval(registry_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = json.loads((registry_home / "config.json").read_text())
    config["office"]["four_eyes"] = [a for a in DEFAULT_FOUR_EYES if a != "issue"]
    (registry_home / "config.json").write_text(json.dumps(config))
    db = open_store(registry_home / "registry.db")
    TOKEN["admin"] = add_operator(db, "root", "admin", "S-0001", int(time.time()), None)[1]
    db.conn.close()
    monkeypatch.setenv("PERMIT_REGISTRY_TOKEN", TOKEN["admin"])
    return TOKEN["admin"]


def _issue_many(home_dir: str, worker: int, count: int, token: str) -> list[str]:
    home = Home(Path(home_dir), lambda: REGISTRY_PASSPHRASE.encode())
    db = open_store(home.db_path)
    office, op = office_for(home, db), authenticate(db, token)
    issued = []
    for i in range(count):
        app = validate_application({**SAME_PREFIX, "given_names": f"Van W{chr(65 + worker)} {chr(65 + i % 26)}",
                                    "passport_number": f"V{worker}{i:07d}"}, int(time.time()))
        issued.append(office.issue(op, app).number)
    return issued


def check_consistent(db_path: Path) -> int:
    """Every permit has exactly one current card, each card an allocation, each permit its issue event;
    numbers, (number, serial) and status entries are unique. Returns the number of permits."""
    conn = sqlite3.connect(db_path)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    permits = q("SELECT number FROM permits")
    assert q("PRAGMA integrity_check") == [("ok",)]
    assert q("SELECT count(*) FROM permits p WHERE (SELECT count(*) FROM cards c WHERE c.number = p.number "
             "AND c.state = 'current') != 1") == [(0,)]
    assert q("SELECT count(*) FROM cards c LEFT JOIN allocations a ON a.card_id = c.id WHERE a.card_id IS NULL") \
        == [(0,)]
    assert q("SELECT count(*) FROM permits p WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.number = p.number "
             "AND e.action = 'issue')") == [(0,)]
    assert q("SELECT count(*) FROM allocations") == q("SELECT count(*) FROM cards")
    assert q("SELECT count(DISTINCT list_id || ':' || idx) FROM allocations") == q("SELECT count(*) FROM cards")
    assert q("SELECT sum(used) FROM status_lists") == q("SELECT count(*) FROM allocations")
    conn.close()
    return len(permits)


def test_concurrent_issuers_never_share_a_number_or_entry(registry_home: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_issue_many, [(str(registry_home), w, 20, TOKEN["admin"]) for w in range(3)])
    issued = [n for r in results for n in r]
    assert len(issued) == len(set(issued)) == 60
    assert check_consistent(registry_home / "registry.db") == 60
    sequences = sorted(int(n[14:17]) for n in issued)
    assert sequences == list(range(1, 120, 2))  # the lowest 60 odd sequences, none skipped, none shared


def letters(i: int) -> str:
    """A distinct Latin name part for each i (names cannot contain digits)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(65 + r) + out
        if i == 0:
            return out


def _write_csv(path: Path, start: int, count: int, ref: str = "A", given: str = "Luis") -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ref", "surname", "given_names", "sex", "birth_date", "nationality", "province",
                         "category", "passport_number", "passport_country"])
        for i in range(start, start + count):
            birth = date(1960, 1, 1) + timedelta(days=i % 9000)
            nationality = ("ESP", "MEX", "ARG")[i % 3]
            writer.writerow([f"{ref}{i}", "Garcia", f"{given} {letters(i)}", "MF"[i % 2], birth.isoformat(),
                             nationality, "11", "talent", f"{ref}{i:08d}", nationality])


def _registry(home: Path, *args: str, **kw: object) -> subprocess.Popen:
    env = {**os.environ, "PERMIT_REGISTRY_PASSPHRASE": REGISTRY_PASSPHRASE}
    return subprocess.Popen([sys.executable, "-m", "registry.cli", "--home", str(home), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]


def test_two_cli_imports_at_once(registry_home: Path, tmp_path: Path) -> None:
    """Two imports started while another writer holds the lock for twice the busy timeout: neither gives
    up (each batch waits the lock out), both finish whole, and once the lock is free they interleave."""
    # Same birth dates and nationalities in both files: both processes compete for the same sequences.
    _write_csv(tmp_path / "a.csv", 0, 3000)
    _write_csv(tmp_path / "b.csv", 0, 3000, ref="B", given="Jose")
    holder = sqlite3.connect(registry_home / "registry.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long publish or a stuck writer would hold it
    try:
        procs = [_registry(registry_home, "import", str(tmp_path / name), "--batch-size", "50")
                 for name in ("a.csv", "b.csv")]
        time.sleep(2 * store.BUSY_TIMEOUT_MS / 1000)
        assert all(p.poll() is None for p in procs), "an import gave up while the lock was held"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "issued 3000" in out
    assert check_consistent(registry_home / "registry.db") == 6000
    conn = sqlite3.connect(registry_home / "registry.db")
    order = [r[0][4] for r in conn.execute("SELECT applicant_key FROM permits ORDER BY rowid")]
    conn.close()
    assert sum(a != b for a, b in itertools.pairwise(order)) >= 2  # the two imports really interleaved


def test_kill_9_during_import_loses_nothing_committed(registry_home: Path, tmp_path: Path) -> None:
    total = 1500
    _write_csv(tmp_path / "big.csv", 0, total)
    db_path = registry_home / "registry.db"
    proc = _registry(registry_home, "import", str(tmp_path / "big.csv"), "--batch-size", "50")
    deadline = time.monotonic() + 120
    count = 0
    while count < 200 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        conn = sqlite3.connect(db_path)
        count = conn.execute("SELECT count(*) FROM permits").fetchone()[0]
        conn.close()
    assert proc.poll() is None, "the import finished before it could be killed: make the file larger"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    survived = check_consistent(db_path)
    assert 200 <= survived < total
    assert survived % 50 == 0  # whole batches only
    rerun = _registry(registry_home, "import", str(tmp_path / "big.csv"))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"issued {total - survived}, already issued {survived}, refused 0" in out
    assert check_consistent(db_path) == total
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(DISTINCT applicant_key) FROM permits").fetchone()[0] == total
    conn.close()


def _issue_one(home: Path, busy_timeout_ms: int) -> None:
    h = Home(home, lambda: REGISTRY_PASSPHRASE.encode())
    db = open_store(h.db_path, busy_timeout_ms=busy_timeout_ms)
    office, op = office_for(h, db), authenticate(db, TOKEN["admin"])
    office.issue(op, validate_application({**SAME_PREFIX, "given_names": "Van A", "passport_number": "V0000001"},
                                          int(time.time())))


def test_locked_database_is_a_clear_error_after_a_bounded_wait(registry_home: Path) -> None:
    holder = sqlite3.connect(registry_home / "registry.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="is busy") as info:
            _issue_one(registry_home, 300)
        waited = time.monotonic() - started
        assert 0.25 <= waited < 3
        assert info.value.reason.value == "STORE"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _issue_one(registry_home, 300)  # free again: works


def test_locked_database_through_the_cli(registry_home: Path) -> None:
    _issue_one(registry_home, 300)
    number = open_store(registry_home / "registry.db").execute("SELECT number FROM permits").fetchone()[0]
    holder = sqlite3.connect(registry_home / "registry.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        proc = _registry(registry_home, "suspend", number)
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 4  # operational: the store is busy
    assert err.startswith("error (STORE): ") and "busy" in err and "Traceback" not in err
    assert 4.5 <= waited < 30  # the 5 s busy timeout, then the error
    assert lifecycle.get_permit(open_store(registry_home / "registry.db"), number)["state"] == "active"


_WAIT_FOR_LOCK = """
import sys
from pathlib import Path
from registry.store import open_store, write_transaction
db = open_store(Path(sys.argv[1]))
with write_transaction(db):
    print(db.execute("SELECT count(*) FROM permits").fetchone()[0], flush=True)
"""


def test_writer_queued_behind_the_lock_is_seen_waiting(registry_home: Path) -> None:
    """The import's question "does anyone wait?" answers yes exactly while another process is blocked in
    write_transaction, and no once it got the lock and left."""
    db_path = registry_home / "registry.db"
    conn = sqlite3.connect(db_path, isolation_level=None)
    assert not writers_waiting(conn)
    conn.execute("BEGIN IMMEDIATE")  # held, as an import holds it between its pauses
    waiter = subprocess.Popen([sys.executable, "-c", _WAIT_FOR_LOCK, str(db_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3000):  # up to a minute for the waiter to start on a loaded machine
            if writers_waiting(conn):
                break
            time.sleep(0.02)
        assert writers_waiting(conn), "a writer blocked on the lock did not show as waiting"
    finally:
        conn.execute("ROLLBACK")
    out, _ = waiter.communicate(timeout=60)
    assert waiter.returncode == 0 and out.strip() == "0"
    assert not writers_waiting(conn)  # it left: nobody waits, an import need not pause
    conn.close()



def test_a_process_holding_the_waiting_marker_cannot_stall_the_registers_writers(registry_home: Path) -> None:
    """A stuck or hostile process holding DB-writers exclusively must not hang every writer on it: a writer
    stops trying to announce itself after a moment and writes all the same."""
    import fcntl

    marker = os.open(str(registry_home / "registry.db") + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(marker, fcntl.LOCK_EX)
    try:
        waiter = subprocess.run([sys.executable, "-c", _WAIT_FOR_LOCK, str(registry_home / "registry.db")],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        os.close(marker)
    assert waiter.returncode == 0, waiter.stderr[-2000:]
    assert waiter.stdout.strip() == "0"
