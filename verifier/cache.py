"""The verifier's local cache: the pinned root key, the trust list and the status lists.

Layout: `root.pem` (pinned once), and `current` -> `gen-<n>/` holding `trust-list.cwt` and
`status/<id>.cwt`. Every change (trust add, sync) writes a complete new generation, flushes it to
disk and then swaps the `current` link in one rename: a crash mid-sync leaves the old cache intact,
and readers (the CLI, server workers) see the old generation or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from keys import algorithms
from keys.algorithms import PublicKey
from keys.errors import PermitError, Reason, StatusError, TrustError
from keys.files import fsync_dir, write_atomic
from keys.trustlist import MAX_TRUST_LIST, TrustList, verify_trust_list
from verifier.status import MAX_STATUS_TOKEN, CachedStatus, SignedStatusList, verify_status_list

ROOT_FILE = "root.pem"
TRUST_FILE = "trust-list.cwt"
INDEX_FILE = "index.json"
STATUS_DIR = "status"
CURRENT = "current"
MAX_INDEX = 1024 * 1024
FETCH_TIMEOUT = 15


class CacheError(PermitError):
    reason = Reason.USAGE


@dataclass(frozen=True)
class SyncReport:
    trust_version: int
    status_lists: int
    generation: str


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise CacheError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise CacheError(f"{what} {path} is larger than {limit} bytes")
    return data


class Cache:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    # -- the pinned root ------------------------------------------------------------------------
    def root(self) -> PublicKey | None:
        path = self.dir / ROOT_FILE
        if not path.exists():
            return None
        return algorithms.load_public_pem(_read(path, 16 * 1024, "pinned root key"))

    def pin_root(self, pem: bytes) -> PublicKey:
        """Pin the root key on first use; a different root is refused (re-pinning is a deliberate act)."""
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

    def _require_root(self) -> PublicKey:
        root = self.root()
        if root is None:
            raise TrustError(f"no root key pinned in {self.dir}; pass --root ROOT.pem", Reason.NO_TRUST_LIST)
        return root

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

    def trust_list_bytes(self) -> bytes | None:
        path = self._current_file(TRUST_FILE)
        return _read(path, MAX_TRUST_LIST, "trust list") if path is not None and path.exists() else None

    def status_list_bytes(self, list_id: int) -> bytes | None:
        path = self._current_file(f"{STATUS_DIR}/{int(list_id)}.cwt")
        return _read(path, MAX_STATUS_TOKEN, "status list") if path is not None and path.exists() else None

    def trust_list(self) -> TrustList | None:
        """The trust list held, re-checked against the pinned root (None if there is none yet).
        Its expiry is not judged here: a check reports an expired list as TRUST_LIST_STALE."""
        data, root = self.trust_list_bytes(), self.root()
        if data is None or root is None:
            return None
        return verify_trust_list(data, root, at=0)

    def status_lists(self, trust: TrustList) -> dict[int, SignedStatusList]:
        """Every cached status list that still verifies against `trust` (others are left out, so
        the permits they cover come out STATUS_UNKNOWN rather than trusted on stale grounds)."""
        directory = self._current_file(STATUS_DIR)
        lists: dict[int, SignedStatusList] = {}
        if directory is None or not directory.is_dir():
            return lists
        for path in directory.glob("*.cwt"):
            if not path.stem.isdigit():
                continue
            with contextlib.suppress(StatusError):
                lists[int(path.stem)] = verify_status_list(_read(path, MAX_STATUS_TOKEN, "status list"), trust,
                                                           int(path.stem))
        return lists

    def status_lookup(self, max_age: int | None = None) -> CachedStatus | None:
        """The status source for checks (None without a trust list). `max_age`: the caller's
        staleness allowance in seconds (None: each list's own ttl)."""
        trust = self.trust_list()
        return None if trust is None else CachedStatus(self.status_lists(trust), max_age)

    def _held_status_files(self) -> dict[str, bytes]:
        directory = self._current_file(STATUS_DIR)
        if directory is None or not directory.is_dir():
            return {}
        return {f"{STATUS_DIR}/{p.name}": _read(p, MAX_STATUS_TOKEN, "status list") for p in directory.glob("*.cwt")}

    # -- changes --------------------------------------------------------------------------------
    def add_trust_list(self, data: bytes, at: int) -> TrustList:
        """Accept a new trust list (signature, expiry, rollback checked) into a new generation."""
        trust = verify_trust_list(data, self._require_root(), at, current=self.trust_list())
        self._commit({TRUST_FILE: trust.raw, **self._held_status_files()})
        return trust

    def sync(self, source: str, at: int) -> SyncReport:
        """Fetch the published files from a directory or an http(s) URL, check every signature,
        refuse rollbacks and expired lists, and replace the cache in one step."""
        fetch = _fetcher(source)
        try:
            index = json.loads(fetch(INDEX_FILE, MAX_INDEX))
            entries = [(int(e["id"]), str(e["path"])) for e in index["status_lists"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise CacheError(f"{INDEX_FILE} at {source} is not a valid index: {exc}") from None
        held_trust = self.trust_list()
        trust = verify_trust_list(fetch(TRUST_FILE, MAX_TRUST_LIST), self._require_root(), at, current=held_trust)
        held = self.status_lists(held_trust) if held_trust is not None else {}
        files: dict[str, bytes] = {TRUST_FILE: trust.raw}
        for list_id, path in entries:
            signed = verify_status_list(fetch(path, MAX_STATUS_TOKEN), trust, list_id)
            if at >= signed.expires_at:
                raise StatusError(f"status list {list_id} at {source} has expired", Reason.STATUS_LIST_EXPIRED)
            previous = held.get(list_id)
            if previous is not None and signed.issued_at < previous.issued_at:
                raise StatusError(f"status list {list_id} at {source} is older than the one held",
                                  Reason.STATUS_LIST_ROLLBACK)
            files[f"{STATUS_DIR}/{list_id}.cwt"] = signed.raw
        generation = self._commit(files)
        return SyncReport(trust.version, len(entries), generation)

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


def _fetcher(source: str):
    """A function reading published files by relative name from a directory or an http(s) URL."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        base = source if source.endswith("/") else source + "/"

        def fetch_url(name: str, limit: int) -> bytes:
            url = urllib.parse.urljoin(base, _safe_name(name))
            try:
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
                    data = response.read(limit + 1)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise CacheError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None
            if len(data) > limit:
                raise CacheError(f"{url} is larger than {limit} bytes")
            return data

        return fetch_url
    if parsed.scheme not in ("", "file"):
        raise CacheError(f"unsupported source {source!r}: give a directory or an http(s) URL")
    directory = Path(parsed.path if parsed.scheme == "file" else source)
    try:
        is_dir = directory.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise CacheError(f"{str(directory)[:200]} is not a directory or an http(s) URL")

    def fetch_file(name: str, limit: int) -> bytes:
        return _read(directory / _safe_name(name), limit, name)

    return fetch_file


def _safe_name(name: str) -> str:
    """Published names are relative paths inside the source: no absolute paths, no `..`."""
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts or "\\" in name:
        raise CacheError(f"refusing the path {name!r} from the index")
    return "/".join(parts)
