"""Benchmark: the transparency log's cost at N card leaves (default 100,000; scale linearly to 1,000,000).

Appends N realistic card leaves to a register database (one transaction per 1,000 acts), then prints the
time per append (the extra cost of logging one act inside its own transaction), the time of a first full
publish (every tile, entry bundle and the signed checkpoint), of a publish after 1,000 more acts, of
`verify_against` over the whole published copy, and the size of the log in the database and on disk.

    python bench/tlog.py [N]
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from keys.tlog.leaves import CardLeaf, encode_leaf, operator_pseudonym, subject_id
from keys.tlog.note import NoteSigner
from registry import tlog_store
from registry.store import open_store, write_transaction

ORIGIN = "log.permits.example/bench"
SECRET = os.urandom(32)


def _leaf(i: int) -> bytes:
    return encode_leaf(CardLeaf(
        time=1_790_000_000 + i, operator=operator_pseudonym(SECRET, f"clerk-{i % 40}"),
        subject=subject_id(SECRET, f"{110101199001010000 + i}", 1),
        cose_sha256=hashlib.sha256(i.to_bytes(8, "big")).digest(), status_list=1 + i // 1_000_000,
        status_index=i % 1_000_000, kid="issuing-2026-1", valid_from=1_790_000_000, valid_until=2_105_000_000,
        cause="issue"))


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "register.db")
        tlog_store.ensure_schema(db)
        leaves = [_leaf(i) for i in range(n + 1000)]
        appending = 0.0
        for start in range(0, n, 1000):
            with write_transaction(db):
                t0 = time.perf_counter()
                for data in leaves[start:start + 1000]:
                    tlog_store.append_leaf(db, data)
                appending += time.perf_counter() - t0
        signer = NoteSigner.generate(ORIGIN)
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        tlog_store.write_published_log(db, out, signer, ORIGIN)
        first = time.perf_counter() - t0
        with write_transaction(db):
            for data in leaves[n:]:
                tlog_store.append_leaf(db, data)
        t0 = time.perf_counter()
        tlog_store.write_published_log(db, out, signer, ORIGIN)
        again = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = tlog_store.verify_against(db, lambda p: (out / "log" / p).read_bytes(), signer.verifier)
        verify = time.perf_counter() - t0
        assert result.ok
        pages = db.conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'tlog_%' OR name LIKE "
                                "'sqlite_autoindex_tlog_%'").fetchone()[0]
        print(f"leaves: {n:,} (mean leaf {sum(map(len, leaves)) / len(leaves):.0f} bytes)")
        print(f"append: {appending / n * 1e6:.1f} us per leaf inside its transaction ({appending:.1f} s in all)")
        print(f"first publish: {first:.2f} s; publish after 1,000 more acts: {again:.3f} s")
        print(f"verify_against the published copy: {verify:.2f} s")
        print(f"log tables in SQLite: {pages / 1e6:.1f} MB; published log/: {_du(out / 'log') / 1e6:.1f} MB in "
              f"{sum(1 for p in (out / 'log').rglob('*') if p.is_file()):,} files")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
