"""Benchmark: what the transparency log adds to the office's own work (not the library's, see bench/tlog.py).

Issues N permits through the office (four eyes: a proposal and its approval, two events and two leaves
each) in a fresh home, timing the log's share of every act (the leaf built from the event row, with its
HMACs and the card lookup, and the append with its tree nodes) against the whole act; then times the
re-encoding `registry log verify` does for every event row, a publish of the log (key decrypt, manifest,
tiles, checkpoint) and prints the per-act figures to scale to 1,000,000 permits.

    PERMIT_REGISTRY_PASSPHRASE=... python bench/tlog_office.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from registry import tlog_events, tlog_store
from registry.cli import cli
from registry.home import Home
from registry.office.operators import add_operator
from registry.office.setup import office_for
from registry.store import open_store
from registry.tlog_office import publish_log
from registry.validation import validate_application

PASSPHRASE = "benchmark passphrase"
spent = {"log": 0.0}


def _timed(fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent["log"] += time.perf_counter() - t0
    return wrapper


def main(n: int) -> None:
    os.environ["PERMIT_REGISTRY_PASSPHRASE"] = PASSPHRASE
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        assert CliRunner().invoke(cli, ["--home", str(home), "init"]).exit_code == 0
        db = open_store(home / "registry.db")
        now = int(time.time())
        admin, _ = add_operator(db, "admin", "admin", "S-0001", now, None)
        clerk, _ = add_operator(db, "clerk", "clerk", "S-0002", now, admin)
        officer, _ = add_operator(db, "officer", "officer", "S-0003", now, admin)
        office = office_for(Home(home, lambda: PASSPHRASE.encode()), db)
        tlog_events.event_leaf = _timed(tlog_events.event_leaf)
        tlog_store.append_leaf = _timed(tlog_store.append_leaf)
        apps = [validate_application({"surname": "BENCH", "given_names": f"PERSON {chr(65 + i % 26)}", "sex": "F",
                                      "birth_date": date(1950 + i % 50, 1 + i % 12, 1 + i % 28).isoformat(),
                                      "nationality": "DEU", "province": "11", "category": "talent",
                                      "passport_number": f"P{i:08d}", "passport_country": "DEU"}, now)
                for i in range(n)]
        t0 = time.perf_counter()
        for app in apps:
            office.approve(officer, office.issue(clerk, app).proposal)
        total = time.perf_counter() - t0
        rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
        t0 = time.perf_counter()
        tlog_events.register_event_leaves(db.conn)
        reencode = time.perf_counter() - t0
        t0 = time.perf_counter()
        publish_log(Home(home, lambda: PASSPHRASE.encode()), Path(tmp) / "out", int(time.time()))
        publish = time.perf_counter() - t0
        print(f"{n:,} permits issued under four eyes ({rows:,} events, each a leaf): {total / n * 1e3:.1f} ms per "
              f"permit, of which the log {spent['log'] / n * 1e3:.2f} ms ({spent['log'] / total:.1%})")
        print(f"log verify re-encodes {rows / reencode:,.0f} event rows per second "
              f"({reencode / rows * 1e6:.0f} us each; 2,000,000 rows for 1,000,000 permits: "
              f"{reencode / rows * 2e6:.0f} s)")
        mean = db.execute("SELECT avg(length(data)) FROM tlog_leaves").fetchone()[0]
        print(f"mean leaf: {mean:.0f} bytes")
        print(f"publish_log (key decrypt, manifest, tiles, checkpoint) at {rows:,} leaves: {publish:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
