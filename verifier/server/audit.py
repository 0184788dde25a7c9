"""The audit trail of checks, written off the request path.

A request only appends a tuple to an in-memory queue; one background thread per worker writes what
has queued in a single transaction every 100 ms. `close()` (called on a clean shutdown: gunicorn's
worker_exit, SIGTERM, interpreter exit) drains the queue before returning, so no record is lost.

The writer shares the worker's interpreter lock with the requests, and Python's sqlite3 lets go of that
lock around every statement step: `executemany` would hand it back and forth once per record, each time
a thread switch stolen from the requests. So the writer inserts each round's records with one multi-row
INSERT per chunk (as many rows as SQLite's variable limit allows), and computes the permit numbers' HMACs
there too rather than on the request path.
"""

from __future__ import annotations

import atexit
import collections
import sqlite3
import threading
import time
from pathlib import Path

from verifier.server.orgs import audit_secret, connect, number_hash

FLUSH_EVERY = 0.1
_COLUMNS = "INSERT INTO audit (at, org, kind, number_hash, verdict, reason) VALUES "
_ROW = "(?,?,?,?,?,?)"
_WIDTH = 6


class AuditLog:
    def __init__(self, cache_dir: Path) -> None:
        self._secret = audit_secret(cache_dir)
        self._conn: sqlite3.Connection = connect(cache_dir)
        self._chunk = max(1, self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _WIDTH)
        self._queue: collections.deque[tuple] = collections.deque()
        self._pending: list[tuple] = []
        self._lock = threading.Lock()  # one drain at a time (the writer's, or close()'s)
        self.last_error: str | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, org: str, kind: str, number: str | None, verdict: str, reason: str) -> None:
        """Queue one record (cheap: no I/O and no hashing on the request path)."""
        self._queue.append((time.time(), org, kind, number, verdict, reason))

    def _drain(self) -> None:
        """Move what is queued to the database; on a write failure (disk full, locked) keep it for the
        next round rather than drop it."""
        with self._lock:
            queue, pending, secret = self._queue, self._pending, self._secret
            while queue:
                at, org, kind, number, verdict, reason = queue.popleft()
                pending.append((at, org, kind, number_hash(secret, number) if number else None, verdict, reason))
            if not pending:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for start in range(0, len(pending), self._chunk):
                    rows = pending[start:start + self._chunk]
                    self._conn.execute(_COLUMNS + ",".join([_ROW] * len(rows)), [v for row in rows for v in row])
                self._conn.execute("COMMIT")
                self._pending = []
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self.last_error = str(exc)

    def _run(self) -> None:
        while not self._closed.is_set():
            self._closed.wait(FLUSH_EVERY)
            self._drain()

    def close(self) -> None:
        """Write everything queued, then stop. Safe to call more than once."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=10)
        self._drain()
