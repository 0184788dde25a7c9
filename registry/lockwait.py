"""Who waits for the register's write lock: lets a long batch (an import) yield the lock only when another
writer is actually waiting for it.

SQLite cannot tell a writer that others wait. So every writer announces itself while it asks for the lock:
`write_transaction` holds a shared `flock` on DB-writers (a file beside the register, like DB-wal) for as
long as its `BEGIN IMMEDIATE` waits, and `writers_waiting` asks for that file exclusively without waiting:
refused means somebody is queued. The lock is the kernel's, so a writer that dies stops announcing itself.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

ANNOUNCE_WAIT = 0.1  # seconds a writer tries to announce itself before it waits unannounced


def marker_path(conn: sqlite3.Connection) -> str | None:
    """DB-writers beside the register's file, or None for a database with no file (in memory)."""
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return file + "-writers"
    return None


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


@contextmanager
def waiting_for_lock(conn: sqlite3.Connection) -> Iterator[None]:
    """Announce, for the duration of the block, that this process waits for the write lock."""
    path = marker_path(conn)
    if path is None:
        yield
        return
    fd = _open(path)
    try:
        _share(fd)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def _share(fd: int) -> bool:
    """Take the shared lock without ever hanging on it: `writers_waiting` holds it exclusively only for an
    instant, so a holder that keeps it (a stuck or hostile process) costs a writer ANNOUNCE_WAIT seconds
    and its announcement, never its write."""
    deadline = time.monotonic() + ANNOUNCE_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)


def writers_waiting(conn: sqlite3.Connection) -> bool:
    """Whether another writer is waiting for the write lock right now."""
    path = marker_path(conn)
    if path is None:
        return False
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
