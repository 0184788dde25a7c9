"""`verifier sync`: a python-tuf ngclient update, then the signed CWTs checked and cached in one step.

The trust rules are python-tuf's (tuf.ngclient.Updater): the root chain is followed (a rotation
reaches the verifier by sync alone), and rollback, freeze, mix-and-match and endless data are refused
there. This module pins the first root, runs the update at a given time, downloads the targets the
signed metadata lists (reusing cached files whose hashes match), checks each as a CWT and writes the
generation with what vouched for it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from tuf.api.exceptions import DownloadError, RepositoryError
from tuf.api.metadata import Metadata, Root, Targets, Timestamp
from tuf.ngclient import Updater

from keys import algorithms
from keys.errors import Cause, FormatError, Reason, StatusError, SyncError
from keys.layout import TRUST_TARGET, target_kind
from keys.statuslist import MAX_STATUS_TOKEN, verify_status_list
from keys.times import ISO_FORMAT, iso
from keys.trustlist import MAX_TRUST_LIST, TrustList
from keys.tufkeys import public_of
from verifier import logsync, tufsync
from verifier.cache import (
    MAX_STATUS_LISTS,
    SYNC_FILE,
    TUF_DIR,
    Cache,
    SyncReport,
    _read,
    _verify_with_any,
    epoch,
)

ISSUED_FIELD = "issued"
_TIME_ATTRIBUTE = "reference_time"


def _parse_root(data: bytes, what: str) -> Metadata[Root]:
    if data.lstrip().startswith(b"-----BEGIN"):
        raise SyncError(f"{what} is a root.pem key: since the office publishes a TUF repository, pin its "
                        "metadata/root.json instead (`verifier sync SOURCE --root metadata/root.json`)",
                        Reason.ROOT_NOT_PINNED)
    try:
        metadata = Metadata[Root].from_bytes(data)
    except Exception as exc:
        raise SyncError(f"{what} is not TUF root metadata: {type(exc).__name__}", Reason.ROOT_NOT_PINNED) from None
    if not isinstance(metadata.signed, Root):
        raise SyncError(f"{what} is {metadata.signed.type} metadata, not root", Reason.ROOT_NOT_PINNED)
    return metadata


def _bootstrap(cache: Cache, root: bytes | None) -> bytes | None:
    """The root bytes to start from on first use (None: the cache's own trusted root)."""
    tuf_dir = cache.dir / TUF_DIR
    pinned = (tuf_dir / "root.json").exists()
    if root is None:
        if pinned:
            return None
        if cache.root() is not None:
            raise SyncError(
                f"{cache.dir} is pinned to a root.pem key from before the office moved to TUF; a sync needs the "
                "published TUF root once: `verifier --cache DIR sync SOURCE --root metadata/root.json` "
                "(checks keep using the lists already held until then, and turn STATUS_STALE as they age)",
                Reason.ROOT_NOT_PINNED)
        raise SyncError(f"no root pinned in {cache.dir}; pass --root with the published metadata/root.json",
                        Reason.ROOT_NOT_PINNED)
    given = _parse_root(root, "--root")
    if pinned:
        history = tuf_dir / "root_history" / f"{given.signed.version}.root.json"
        if history.exists() and history.read_bytes() != root:
            raise SyncError(f"a different root version {given.signed.version} is already pinned in {cache.dir}; "
                            f"remove {tuf_dir} to pin another issuer on purpose", Reason.ROOT_MISMATCH)
        return None
    legacy = cache.root()
    if legacy is not None:
        spki = algorithms.spki_der(legacy)
        named = set()
        for key in given.signed.keys.values():
            with contextlib.suppress(FormatError):
                named.add(algorithms.spki_der(public_of(key)))
        if spki not in named:
            raise SyncError(f"{cache.dir} is pinned to a root.pem key that this root.json does not name: another "
                            f"issuer? Remove {cache.dir / 'root.pem'} to pin it on purpose", Reason.ROOT_MISMATCH)
    return root


def pin_root(cache: Cache, data: bytes) -> int:
    """Make `data` (a root.json) the trusted root of an empty cache, or check it is the one held."""
    bootstrap = _bootstrap(cache, data)
    tuf_dir = cache.dir / TUF_DIR
    tuf_dir.mkdir(parents=True, exist_ok=True)
    if bootstrap is not None:
        try:
            Updater(str(tuf_dir), tufsync.LOCAL_BASE, None, None, tufsync.DirectoryFetcher(tuf_dir),
                    tufsync.CONFIG, bootstrap=bootstrap)
        except (RepositoryError, ValueError) as exc:
            raise SyncError(f"--root is not a root its own keys signed: {exc}", Reason.ROOT_NOT_PINNED) from None
    root = cache.tuf_root()
    return root.signed.version  # type: ignore[union-attr]


def _at(updater: Updater, at: int) -> None:
    """Judge expiry at `at` (time passed in, as in tests and `--at`): python-tuf takes the clock once
    when the updater is made."""
    trusted = updater._trusted_set
    if not hasattr(trusted, _TIME_ATTRIBUTE):
        raise SyncError("this python-tuf has no reference time to set; pin tuf 7.x", Reason.USAGE, cause=Cause.CONFIG)
    setattr(trusted, _TIME_ATTRIBUTE, datetime.fromtimestamp(at, UTC))


def _load(tuf_dir: Path, role: str) -> Metadata:
    return Metadata.from_file(str(tuf_dir / f"{role}.json"))


def run_sync(cache: Cache, source: str, at: int, root: bytes | None) -> SyncReport:
    """A first pin holds only if its first sync succeeds: a wrong --root leaves nothing pinned."""
    first_pin = not (cache.dir / TUF_DIR / "root.json").exists()
    try:
        return _run_sync(cache, source, at, root)
    except BaseException:
        if first_pin:
            shutil.rmtree(cache.dir / TUF_DIR, ignore_errors=True)
        raise


def _run_sync(cache: Cache, source: str, at: int, root: bytes | None) -> SyncReport:
    bootstrap = _bootstrap(cache, root)
    fetcher, base = tufsync.source(source)
    where = source[:200]
    tuf_dir = cache.dir / TUF_DIR
    tuf_dir.mkdir(parents=True, exist_ok=True)
    downloads = cache.dir / ".download.tmp"
    shutil.rmtree(downloads, ignore_errors=True)
    held_dir = cache.dir / cache.generation() if cache.generation() else None
    files: dict[str, bytes] = {}
    try:
        updater = Updater(str(tuf_dir), base + "metadata/", str(downloads), base + "targets/", fetcher,
                          tufsync.CONFIG, bootstrap=bootstrap)
        _at(updater, at)
        updater.refresh()
        targets: Metadata[Targets] = _load(tuf_dir, Targets.type)
        kinds = {path: target_kind(path) for path in targets.signed.targets}
        if sum(1 for k, _ in kinds.values() if k == "status") > MAX_STATUS_LISTS:
            raise SyncError(f"{where} lists more than {MAX_STATUS_LISTS} status lists", Reason.SYNC_TOO_LARGE)
        if TRUST_TARGET not in kinds:
            raise SyncError(f"{where} publishes no trust list", Reason.SYNC_INVALID)
        for path, (kind, _) in kinds.items():
            if kind == "ignored":
                continue
            info = updater.get_targetinfo(path)
            if info is None:
                raise SyncError(f"{where}: target {path} vanished from the signed metadata", Reason.SYNC_INVALID)
            cached = updater.find_cached_target(info, str(held_dir / path)) if held_dir is not None else None
            local = cached or updater.download_target(info, str(downloads / path))
            files[path] = _read(Path(local), MAX_STATUS_TOKEN, path)
    except (RepositoryError, DownloadError, OSError, SyncError, ValueError) as exc:
        raise tufsync.explain(exc, where) from None
    finally:
        shutil.rmtree(downloads, ignore_errors=True)

    root_md: Metadata[Root] = _load(tuf_dir, Root.type)
    timestamp: Metadata[Timestamp] = _load(tuf_dir, Timestamp.type)
    trust_pems = [algorithms.public_pem(public_of(root_md.signed.keys[k]))
                  for k in root_md.signed.roles["targets"].keyids]
    held_trust = cache.trust_list()
    if len(files[TRUST_TARGET]) > MAX_TRUST_LIST:
        raise SyncError(f"the trust list at {where} is too large", Reason.SYNC_TOO_LARGE)
    trust = _verify_with_any(files[TRUST_TARGET], [algorithms.load_public_pem(p.encode()) for p in trust_pems], at,
                             current=held_trust)
    count = _check_status_lists(cache, files, trust, held_trust, at, where)
    logsync.check_log(files, held_dir, lambda path: fetcher.download_bytes(base + "log/" + path, logsync.MAX_LOG_FILE))
    issued = _vouched_at(timestamp.signed.unrecognized_fields.get(ISSUED_FIELD), at)
    state = {
        "source": source[:1000],
        "last_sync": iso(at),
        "root_version": root_md.signed.version,
        "timestamp_version": timestamp.signed.version,
        "timestamp_issued": issued,
        "timestamp_expires": timestamp.signed.expires.strftime(ISO_FORMAT),
        "targets_version": targets.signed.version,
        "trust_keys": trust_pems,
    }
    files[SYNC_FILE] = json.dumps(state, indent=1).encode()
    generation = cache._commit(files)
    return SyncReport(trust.version, count, generation, root_md.signed.version, timestamp.signed.version)


def _vouched_at(issued: object, at: int) -> str | None:
    """The timestamp's `issued` time, never later than the sync that received it (an office clock running
    ahead cannot make lists look younger than they are); None if absent or not ISO 8601."""
    if not isinstance(issued, str):
        return None
    try:
        when = epoch(issued)
    except ValueError:
        return None
    return iso(min(when, at))


def _check_status_lists(cache: Cache, files: dict[str, bytes], trust: TrustList, held_trust: TrustList | None,
                        at: int, where: str) -> int:
    """Every status list verifies as a CWT signed by a status key inside its window and has not expired;
    none is older than the one held (python-tuf already refused older metadata)."""
    held = cache.status_lists(held_trust) if held_trust is not None else {}
    count = 0
    for path, data in files.items():
        kind, list_id = target_kind(path)
        if kind != "status" or list_id is None:
            continue
        signed = verify_status_list(data, trust, list_id)
        if at >= signed.expires_at:
            raise StatusError(f"status list {list_id} at {where} has expired", Reason.STATUS_LIST_EXPIRED)
        previous = held.get(list_id)
        if previous is not None and signed.issued_at < previous.issued_at:
            raise StatusError(f"status list {list_id} at {where} is older than the one held",
                              Reason.STATUS_LIST_ROLLBACK)
        count += 1
    return count
