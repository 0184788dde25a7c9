"""The verifier in one call, for integrators: `Verifier(cache_dir).check(text_or_image)`.

    from verifier import Verifier, VerifierError

    verifier = Verifier("bank")                       # the cache directory, str or Path
    verifier.sync("public/", root="public/metadata/root.json")   # pin the root the first time
    result = verifier.check("PR1:...")                # scanner text, an image's bytes, or a Path to an image
    if result.valid: ...                              # result.verdict, .reason, .message, .permit

A bad permit is never an exception: whatever the text or picture, `check` returns a Result (an unreadable
picture is INVALID / MALFORMED, like unreadable text). `VerifierError` is the one error family, raised
only for operational faults: a broken cache, an I/O error, a refused sync, a missing `scan` extra, or no
trust material where the caller asked for it (`require_trust_list=True`). It carries `reason` (the stable
code) and `cause` (keys.errors.Cause).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from keys.errors import Cause, PermitError, Reason
from keys.trustlist import TrustList
from verifier.cache import Cache, SyncReport
from verifier.check import Result, check, failure
from verifier.console import parse_time
from verifier.holdings import holdings
from verifier.status import CachedStatus

__all__ = ["Result", "SyncReport", "Verifier", "VerifierError"]

Moment = int | float | datetime | str | None


class VerifierError(PermitError):
    """An operational fault of the verifier (never a verdict on a permit): see `reason` and `cause`."""

    cause = Cause.STORAGE

    @classmethod
    def of(cls, exc: PermitError) -> VerifierError:
        error = cls(exc.message, exc.reason, exc.cause)
        error.__cause__ = exc
        return error


def _epoch(at: Moment) -> int:
    if at is None:
        return int(time.time())
    if isinstance(at, datetime):
        return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp())
    if isinstance(at, str):
        try:
            return parse_time(at)
        except ValueError:
            raise VerifierError(f"{at[:100]!r} is not epoch seconds or an ISO 8601 date/time", Reason.USAGE,
                                Cause.USAGE) from None
    return int(at)


class Verifier:
    """Checks permits against the trust material synced into `cache_dir`. Thread-safe; the lists are read
    once and read again only when a sync (by this object or another process) replaced them."""

    def __init__(self, cache_dir: str | os.PathLike[str], *, max_status_age: int | None = None,
                 require_trust_list: bool = False) -> None:
        self.cache = Cache(Path(cache_dir))
        self.max_status_age = max_status_age
        self.require_trust_list = require_trust_list
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._lists: tuple[TrustList | None, CachedStatus | None] = (None, None)

    def _current(self) -> tuple[TrustList | None, CachedStatus | None]:
        generation = self.cache.generation()
        with self._lock:
            if generation != self._generation:
                try:
                    trust = self.cache.trust_list()
                    status = CachedStatus(self.cache.status_lists(trust), self.max_status_age) if trust else None
                except PermitError as exc:
                    raise VerifierError.of(exc) from None
                self._lists, self._generation = (trust, status), generation
            trust, status = self._lists
        if trust is None and self.require_trust_list:
            raise VerifierError(f"no trust list in {self.cache.dir}: sync first", Reason.NO_TRUST_LIST, Cause.TRUST)
        return trust, status

    def check(self, item: str | bytes | os.PathLike[str], at: Moment = None) -> Result:
        """Check scanner text, the bytes of an image, or the Path of an image file, at `at` (None: now;
        epoch seconds, an aware or UTC datetime, or ISO 8601 text). Returns the Result, never raises for
        a bad permit; raises VerifierError for an operational fault (e.g. an image file that cannot be read)."""
        moment = _epoch(at)
        trust, status = self._current()
        if isinstance(item, str):
            return check(item, trust, moment, status)
        if not isinstance(item, bytes | bytearray | os.PathLike):
            raise VerifierError(f"check takes text, bytes or a Path, not {type(item).__name__}", Reason.USAGE,
                                Cause.USAGE)
        from verifier.scan import read_qr_text

        try:
            text = read_qr_text(bytes(item) if isinstance(item, bytes | bytearray) else Path(item))
        except PermitError as exc:
            if exc.cause is Cause.FORMAT:
                return failure(exc)
            raise VerifierError.of(exc) from None
        return check(text, trust, moment, status)

    def sync(self, source: str | os.PathLike[str], root: bytes | str | os.PathLike[str] | None = None) -> SyncReport:
        """Update from `source` (a directory, str or Path, or an http(s) URL) with TUF. `root`: the published
        metadata/root.json to pin the first time (its bytes or its path). A refused sync raises
        VerifierError (reason SYNC_ROLLBACK, SYNC_FROZEN, ROOT_NOT_PINNED, ...) and keeps the cache."""
        try:
            pinned = root if isinstance(root, bytes | None) else Path(root).read_bytes()
        except OSError as exc:
            raise VerifierError(f"cannot read the root {root}: {exc.strerror}", Reason.ROOT_NOT_PINNED,
                                Cause.STORAGE) from None
        try:
            return self.cache.sync(os.fspath(source), int(time.time()), pinned)
        except PermitError as exc:
            raise VerifierError.of(exc) from None
        except OSError as exc:
            raise VerifierError(f"cannot sync into {self.cache.dir}: {exc.strerror}", Reason.STORE,
                                Cause.STORAGE) from None

    def status(self, at: Moment = None) -> dict:
        """What this verifier holds (as `verifier status --json`): versions, last sync, list ages."""
        try:
            return holdings(self.cache, _epoch(at))
        except PermitError as exc:
            raise VerifierError.of(exc) from None
