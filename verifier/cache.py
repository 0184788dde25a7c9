"""The verifier's local cache: the pinned TUF root, the trust list and the status lists.

Layout: `tuf/` (python-tuf's trusted metadata: `root.json`, `root_history/`, timestamp, snapshot,
targets), and `current` -> `gen-<n>/` holding `trust-list.cwt`, `status/<id>.cwt` and `sync.json` (what
vouched for them: root and timestamp versions, the timestamp's `issued` and expiry, the trust-list
keys named by the root, the time of the sync). Every change writes a complete new generation, flushes
it to disk and swaps the `current` link in one rename: a crash mid-sync leaves the old cache intact, and
readers (the CLI, server workers) see the old generation or the new one, never a mix.

`root.pem` is the pre-TUF pin (one trust-list key): still honoured by `trust add` (conformance kits),
refused by `sync` with ROOT_NOT_PINNED until the published `metadata/root.json` is pinned with --root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from keys import algorithms
from keys.algorithms import PublicKey
from keys.errors import PermitError, Reason, StatusError, StorageError, SyncError, TrustError
from keys.files import fsync_dir, write_atomic
from keys.layout import TRUST_TARGET
from keys.statuslist import MAX_STATUS_TOKEN, SignedStatusList, verify_status_list
from keys.trustlist import MAX_TRUST_LIST, TrustList, verify_trust_list
from verifier.status import CachedStatus

ROOT_FILE = "root.pem"
STATUS_DIR = "status"
SYNC_FILE = "sync.json"
TUF_DIR = "tuf"
CURRENT = "current"
MAX_STATUS_LISTS = 10_000


class CacheError(StorageError):
    """The cache cannot be read or written (I/O error, a file too large): the verifier is broken, not the
    permit. Reason STORE, cause STORAGE."""


@dataclass(frozen=True)
class SyncReport:
    trust_version: int
    status_lists: int
    generation: str
    root_version: int = 0
    timestamp_version: int = 0


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise CacheError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise CacheError(f"{what} {path} is larger than {limit} bytes")
    return data


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class Cache:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    # -- the pinned roots -------------------------------------------------------------------------
    def root(self) -> PublicKey | None:
        """The pre-TUF pin: one trust-list key in root.pem (None if there is none)."""
        path = self.dir / ROOT_FILE
        if not path.exists():
            return None
        return algorithms.load_public_pem(_read(path, 16 * 1024, "pinned root key"))

    def pin_root(self, pem: bytes) -> PublicKey:
        """Pin a trust-list key on first use (for `trust add`); a different one is refused."""
        key = algorithms.load_public_pem(pem)
        current = self.root()
        if current is not None:
            if algorithms.spki_der(current) != algorithms.spki_der(key):
                raise TrustError(
                    f"a different root key is already pinned in {self.dir}; remove {ROOT_FILE} there to re-pin",
                    Reason.TRUST_LIST_BAD_SIGNATURE,
                )
            return current
        write_atomic(self.dir / ROOT_FILE, algorithms.public_pem(key).encode())
        return key

    def pin_tuf_root(self, data: bytes) -> int:
        """Pin TUF root metadata without syncing (for `trust add`): python-tuf checks that the root's
        own threshold signed it. Returns its version; a different root already pinned is refused."""
        from verifier.sync import pin_root

        with self._locked():
            return pin_root(self, data)

    def tuf_root(self) -> object | None:
        """The TUF root metadata this cache trusts now (None before the first pin)."""
        from tuf.api.metadata import Metadata

        path = self.dir / TUF_DIR / "root.json"
        return Metadata.from_file(str(path)) if path.exists() else None

    def _tuf_trust_keys(self) -> list[str]:
        """PEMs of the keys the trusted root gives the targets role (they sign the trust list)."""
        from keys.tufkeys import public_of

        root = self.tuf_root()
        if root is None:
            return []
        signed = root.signed  # type: ignore[attr-defined]
        return [algorithms.public_pem(public_of(signed.keys[k])) for k in signed.roles["targets"].keyids]

    # -- the current generation ---------------------------------------------------------------
    def generation(self) -> str:
        """Name of the generation in use ("" if none): it changes with every trust add or sync."""
        try:
            return os.readlink(self.dir / CURRENT)
        except OSError:
            return ""

    def _current_file(self, name: str) -> Path | None:
        generation = self.generation()
        return self.dir / generation / name if generation else None

    def sync_state(self) -> dict | None:
        """What vouched for the generation in use (sync.json), or None (nothing synced)."""
        path = self._current_file(SYNC_FILE)
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(_read(path, 1024 * 1024, "sync record"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def trust_list_bytes(self) -> bytes | None:
        path = self._current_file(TRUST_TARGET)
        return _read(path, MAX_TRUST_LIST, "trust list") if path is not None and path.exists() else None

    def status_list_bytes(self, list_id: int) -> bytes | None:
        path = self._current_file(f"{STATUS_DIR}/{int(list_id)}.cwt")
        return _read(path, MAX_STATUS_TOKEN, "status list") if path is not None and path.exists() else None

    def _trust_keys(self) -> list[PublicKey]:
        state = self.sync_state()
        if state is not None and state.get("trust_keys"):
            return [algorithms.load_public_pem(p.encode()) for p in state["trust_keys"]]
        root = self.root()
        return [root] if root is not None else []

    def trust_list(self) -> TrustList | None:
        """The trust list held, re-checked against the keys that vouched for it (None if there is none
        yet). Its expiry is not judged here: a check reports an expired list as TRUST_LIST_STALE."""
        data = self.trust_list_bytes()
        if data is None:
            return None
        try:
            keys = self._trust_keys()
            return _verify_with_any(data, keys, at=0) if keys else None
        except PermitError as exc:  # what this cache wrote itself no longer verifies: the cache is broken
            raise CacheError(f"the trust list held in {self.dir} does not verify ({exc.message}); sync again",
                             exc.reason) from None

    def status_lists(self, trust: TrustList) -> dict[int, SignedStatusList]:
        """Every cached status list that still verifies against `trust`, with the time the newest
        timestamp vouched for it (others are left out: their permits come out STATUS_UNKNOWN)."""
        directory = self._current_file(STATUS_DIR)
        lists: dict[int, SignedStatusList] = {}
        if directory is None or not directory.is_dir():
            return lists
        state = self.sync_state() or {}
        vouched = epoch(state["timestamp_issued"]) if state.get("timestamp_issued") else None
        vouch_expires = epoch(state["timestamp_expires"]) if state.get("timestamp_expires") else None
        for path in directory.glob("*.cwt"):
            if not path.stem.isdigit():
                continue
            with contextlib.suppress(StatusError):
                signed = verify_status_list(_read(path, MAX_STATUS_TOKEN, "status list"), trust, int(path.stem))
                lists[int(path.stem)] = replace(signed, vouched_at=vouched, vouch_expires=vouch_expires)
        return lists

    def status_lookup(self, max_age: int | None = None) -> CachedStatus | None:
        """The status source for checks (None without a trust list). `max_age`: the caller's
        staleness allowance in seconds (None: each list's own ttl)."""
        trust = self.trust_list()
        return None if trust is None else CachedStatus(self.status_lists(trust), max_age)

    def _held_files(self) -> dict[str, bytes]:
        generation = self.generation()
        if not generation:
            return {}
        base = self.dir / generation
        return {p.relative_to(base).as_posix(): _read(p, MAX_STATUS_TOKEN, "cached file")
                for p in base.rglob("*") if p.is_file() and p.name not in (TRUST_TARGET, SYNC_FILE)}

    # -- changes --------------------------------------------------------------------------------
    def add_trust_list(self, data: bytes, at: int) -> TrustList:
        """Accept a trust list by hand (signature, expiry, rollback checked) into a new generation. The
        signer must be a key the pinned TUF root names for the trust list, or the pinned root.pem."""
        state = dict(self.sync_state() or {})
        pems = self._tuf_trust_keys() or ([algorithms.public_pem(self.root())] if self.root() else [])  # type: ignore[arg-type]
        if not pems:
            raise TrustError(f"no root pinned in {self.dir}; sync with --root ROOT.json first",
                             Reason.NO_TRUST_LIST)
        trust = _verify_with_any(data, [algorithms.load_public_pem(p.encode()) for p in pems], at,
                                 current=self.trust_list())
        state["trust_keys"] = pems
        self._commit({TRUST_TARGET: trust.raw, **self._held_files(), SYNC_FILE: json.dumps(state).encode()})
        return trust

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".sync.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def sync(self, source: str, at: int, root: bytes | None = None) -> SyncReport:
        """A python-tuf update from SOURCE (a directory or an http(s) URL): root rotations followed,
        rollback, freeze, mix-and-match and endless data refused (SyncError with our reason), then every
        target checked again as a signed CWT and the cache replaced in one step."""
        from verifier.sync import run_sync

        with self._locked():
            return run_sync(self, source, at, root)

    def _commit(self, files: dict[str, bytes]) -> str:
        """Write a complete generation, flush it, and make it current in one rename."""
        self.dir.mkdir(parents=True, exist_ok=True)
        previous = self.generation()
        generation = f"gen-{time.time_ns()}"
        staging = self.dir / f".{generation}.tmp"
        try:
            for name, data in files.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            staging.rename(self.dir / generation)
            link = self.dir / f".{CURRENT}.{generation}"
            os.symlink(generation, link)
            os.replace(link, self.dir / CURRENT)
            fsync_dir(self.dir)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CacheError(f"cannot write the cache in {self.dir}: {exc.strerror}; the old cache is kept") from None
        for old in self.dir.iterdir():  # keep the new and the previous generation (readers in flight)
            if old.name not in {generation, previous, CURRENT, ROOT_FILE} and (
                old.name.startswith("gen-") or old.name.endswith(".tmp")
            ):
                shutil.rmtree(old, ignore_errors=True)
        return generation


def _verify_with_any(data: bytes, keys: list[PublicKey], at: int, current: TrustList | None = None) -> TrustList:
    """The trust list, verified with the first of `keys` that signed it."""
    error: TrustError | None = None
    for key in keys:
        try:
            return verify_trust_list(data, key, at, current=current)
        except TrustError as exc:
            if exc.reason is not Reason.TRUST_LIST_BAD_SIGNATURE:
                raise
            error = exc
    assert error is not None
    raise error


__all__ = ["Cache", "CacheError", "SyncError", "SyncReport"]
