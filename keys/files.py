"""Crash-safe file writes shared by the key store, the registry's publisher and the verifier cache."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from keys.errors import KeyStoreError, StorageError


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same directory, are flushed to disk, and replace the
    target in one rename. A full disk or a read-only directory raises StorageError naming the path.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {_why(exc)}; nothing was changed") from None
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
        raise StorageError(f"cannot write {path}: {_why(exc)}; nothing was changed") from None


def _why(exc: OSError) -> str:
    return "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename into it) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private(path: Path, create_dir: bool = False) -> None:
    """Make a data file readable by its owner only (0600) in a folder of its owner only (0700), creating
    the file if needed: the register's personal data and the service's token hashes are nobody else's.

    A looser mode found on an existing file or folder (0644 from an older version, a careless copy) is
    corrected; one that cannot be corrected (another user's file) is refused with a KeyStoreError.
    A missing folder is created only with `create_dir` (otherwise the caller's open reports it)."""
    directory = path.parent
    if not directory.is_dir():
        if not create_dir:
            return
        directory.mkdir(parents=True, mode=0o700)
    for target, mode in ((directory, 0o700), (path, 0o600)):
        if target is path and not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            if (os.stat(target).st_mode & 0o777) != mode:
                os.chmod(target, mode)
        except OSError as exc:
            raise KeyStoreError(f"{target} is readable by others and its mode cannot be set to {mode:o}: "
                                f"{exc.strerror}; refusing to use it") from None
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists() and (os.stat(side).st_mode & 0o777) != 0o600:
            os.chmod(side, 0o600)
