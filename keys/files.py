"""Crash-safe file writes shared by the key store, the registry's publisher and the verifier cache."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from keys.errors import KeyStoreError


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same directory, are flushed to disk, and replace the
    target in one rename. A full disk or a read-only directory raises KeyStoreError naming the path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        what = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise KeyStoreError(f"cannot write {path}: {what}; nothing was changed") from None


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename into it) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
