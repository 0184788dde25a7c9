"""The audit trail of checks, written off the request path.

A request only appends a tuple to an in-memory queue; one background thread per worker writes what
has queued in a single transaction every 100 ms. `close()` (called on a clean shutdown: gunicorn's
worker_exit, SIGTERM, interpreter exit) drains the queue before returning, so no record is lost.
"""

from __future__ import annotations

import atexit
import queue
import sqlite3
import threading
import time
from pathlib import Path

from verifier.server.orgs import audit_secret, connect, number_hash

FLUSH_EVERY = 0.1


class AuditLog:
    def __init__(self, cache_dir: Path) -> None:
        self._secret = audit_secret(cache_dir)
        self._conn: sqlite3.Connection = connect(cache_dir)
        self._queue: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._pending: list[tuple] = []
        self.last_error: str | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, org: str, kind: str, number: str | None, verdict: str, reason: str) -> None:
        """Queue one record (cheap: no I/O on the request path)."""
        hashed = number_hash(self._secret, number) if number else None
        self._queue.put((time.time(), org, kind, hashed, verdict, reason))

    def _drain(self) -> None:
        """Move what is queued to the database; on a write failure (disk full, locked) keep it for the
        next round rather than drop it."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._pending.append(item)
        if not self._pending:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO audit (at, org, kind, number_hash, verdict, reason) VALUES (?, ?, ?, ?, ?, ?)",
                self._pending)
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
