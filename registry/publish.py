"""Publishing: a TUF repository of static files any web server, CDN or USB stick can carry.

OUTDIR gets `metadata/` (`<n>.root.json` for every root version and `root.json`, the latest, for pinning;
`<n>.targets.json`, `<n>.snapshot.json`, `timestamp.json`) and `targets/` (consistent snapshots:
`<sha256>.trust-list.cwt`, `status/<sha256>.<id>.cwt`, and any extra targets such as a log checkpoint).

The signed CWTs are kept under HOME/published/ with the digest of what they say; a file is signed anew
only when its content changed or half its lifetime has passed (a status list lives 48 h: re-signed after
24 h, long before it expires). The timestamp is re-signed on every run: a verifier's status age is the
time since the newest timestamp that vouched for its lists, so publishing every 15 minutes and syncing as
often never reads STATUS_STALE. Files are written so that a publish killed at any moment leaves whole
files and a consistent repository: targets first, then metadata, timestamp.json last.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tuf.api.metadata import Metadata

from keys import cbor
from keys.algorithms import PrivateKey
from keys.errors import Cause, KeyStoreError, PermitError, Reason
from keys.files import write_atomic
from keys.layout import METADATA_DIR, RESERVED_PREFIXES, TARGETS_DIR, TRUST_TARGET, status_target
from keys.statuslist import pack_entries, status_token
from keys.trustlist import KeyUse, build_trust_list
from registry import lifecycle, store
from registry.desk import write_desk
from registry.home import Home
from registry.repository import Lifetimes, Repository, serialize, target_file_name
from registry.rotation import ensure_repository, lifetimes

STATE_FILE = "state.json"
# Names of the files of the pre-TUF layout, removed from OUTDIR so no verifier keeps reading them.
ROOT_FILE = "root.pem"
INDEX_FILE = "index.json"
DAY, HOUR = 86400, 3600


@dataclass(frozen=True)
class PublishReport:
    trust_version: int
    trust_signed: bool
    lists: int
    lists_signed: int
    timestamp_version: int = 0
    root_version: int = 0


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _due(entry: dict | None, digest: str, now: int) -> bool:
    """Sign anew when the content changed or half the signed file's lifetime has passed."""
    return entry is None or entry["digest"] != digest or now >= (entry["iat"] + entry["exp"]) // 2


def _copy_if_changed(data: bytes, target: Path) -> None:
    try:
        if target.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(target, data)


def publish(home: Home, outdir: Path, now: int, extra_targets: dict[str, bytes] | None = None,
            operator_id: int | None = None) -> PublishReport:
    """Sign what changed, re-sign the timestamp, and write the repository to OUTDIR.

    `extra_targets` (target path -> bytes) are published as targets beside the trust list and the status
    lists. The publish is an act in the transparency log (by `operator_id`, or the office), and the log's
    OUTDIR/log/checkpoint and key.vkey are targets too (registry/tlog_office.py)."""
    for path in extra_targets or {}:
        if path == TRUST_TARGET or path.startswith((*RESERVED_PREFIXES, "/")) or ".." in path.split("/"):
            raise PermitError(f"extra target {path!r} clashes with a published file or leaves the repository; "
                              "nothing was published", Reason.USAGE, cause=Cause.USAGE)
    from registry.tlog_office import publish_log

    extra_targets = {**publish_log(home, outdir, now, operator_id), **(extra_targets or {})}
    config, keys = home.config(), home.keys()
    signed_dir = home.path / "published"
    for directory in (signed_dir, outdir):  # temporary files of a publish that was killed midway
        if directory.is_dir():
            for stale in directory.rglob(".*.tmp"):
                stale.unlink(missing_ok=True)
    repo = Repository(signed_dir / METADATA_DIR)
    ensure_repository(home, repo, now)
    online_key, online = keys.timestamp_signer()
    state_path = signed_dir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {"trust": None, "lists": {}}

    trust_digest = _digest(json.dumps(config.to_json(), sort_keys=True).encode(), online_key.kid,
                           *[cbor.dumps(k.to_cbor()) for k in keys.keys])
    trust_signed = _due(state["trust"], trust_digest, now)
    if trust_signed:
        expires = now + config.trust_list_days * DAY
        data = build_trust_list(version=keys.next_trust_list_version(), issuer=config.authority, issued_at=now,
                                expires_at=expires, status_uri=config.status_uri, keys=keys.keys, root_key=online)
        write_atomic(signed_dir / TRUST_TARGET, data)
        state["trust"] = {"digest": trust_digest, "iat": now, "exp": expires, "version": keys.trust_list_version}

    db = store.open_store(home.db_path)
    lists = store.rows(db, "SELECT list_id, size FROM status_lists ORDER BY list_id")
    signed_count = 0
    status_key = None
    for row in lists:
        list_id, size = row["list_id"], row["size"]
        raw = pack_entries(size, lifecycle.set_entries(db, list_id))
        status_kid = keys.active(KeyUse.STATUS).kid
        digest = _digest(bytes(raw), str(config.status_ttl).encode(), status_kid)
        entry = state["lists"].get(str(list_id))
        if _due(entry, digest, now):
            if status_key is None:
                status_key = keys.signer(KeyUse.STATUS)[1]
            expires = now + config.status_list_hours * HOUR
            token = status_token(config.status_uri.replace("{id}", str(list_id)), raw, now, config.status_ttl,
                                 expires, status_key)
            write_atomic(signed_dir / "status" / f"{list_id}.cwt", token)
            state["lists"][str(list_id)] = {"digest": digest, "iat": now, "exp": expires}
            signed_count += 1

    files = {TRUST_TARGET: (signed_dir / TRUST_TARGET).read_bytes()}
    for row in lists:
        files[status_target(row["list_id"])] = (signed_dir / status_target(row["list_id"])).read_bytes()
    files.update(extra_targets or {})
    write_atomic(state_path, json.dumps(state, indent=2).encode())
    root, _, timestamp = export(repo, outdir, files, now, online, lifetimes(config))
    write_desk(outdir)  # the desk's static page, check/, beside the repository it syncs from
    return PublishReport(state["trust"]["version"], trust_signed, len(lists), signed_count,
                         timestamp.signed.version, root.signed.version)


def export(repo: Repository, outdir: Path, files: dict[str, bytes], now: int, online: PrivateKey,
           spans: Lifetimes) -> tuple[Metadata, Metadata, Metadata]:
    """Sign the metadata for `files` and write the repository to OUTDIR in an order that keeps it
    consistent at every instant: targets, roots, targets and snapshot metadata, the repository's own
    state, and timestamp.json last. Returns (root, targets, timestamp)."""
    root = repo.root()
    if root is None:
        raise KeyStoreError("the repository has no root metadata yet")
    previous_targets = repo.latest("targets")
    targets, snapshot, timestamp = repo.update(files, now, online, spans)
    meta_out, targets_out = outdir / METADATA_DIR, outdir / TARGETS_DIR
    for path, info in targets.signed.targets.items():
        _copy_if_changed(files[path], targets_out / target_file_name(path, info.hashes["sha256"]))
    for version in repo.root_versions():
        _copy_if_changed((repo.dir / f"{version}.root.json").read_bytes(), meta_out / f"{version}.root.json")
    _copy_if_changed(serialize(root), meta_out / "root.json")
    _copy_if_changed(serialize(targets), meta_out / f"{targets.signed.version}.targets.json")
    _copy_if_changed(serialize(snapshot), meta_out / f"{snapshot.signed.version}.snapshot.json")
    repo.save(targets, snapshot, timestamp)
    write_atomic(meta_out / "timestamp.json", serialize(timestamp))
    _prune(outdir, targets, previous_targets, snapshot.signed.version)
    return root, targets, timestamp


def _prune(outdir: Path, targets: object, previous: object, snapshot_version: int) -> None:
    """Drop what no recent metadata names: targets of neither the current nor the previous targets
    version, metadata older than the previous version (a verifier mid-sync may still read those), and
    the files of the pre-TUF layout."""
    keep: set[str] = set()
    for md in (targets, previous):
        if md is not None:
            for path, info in md.signed.targets.items():  # type: ignore[attr-defined]
                keep.add(target_file_name(path, info.hashes["sha256"]))
    targets_out = outdir / TARGETS_DIR
    for file in targets_out.rglob("*"):
        if file.is_file() and file.relative_to(targets_out).as_posix() not in keep:
            file.unlink(missing_ok=True)
    current = {"targets": targets.signed.version, "snapshot": snapshot_version}  # type: ignore[attr-defined]
    for file in (outdir / METADATA_DIR).glob("*.*.json"):
        version, role = file.name.split(".")[:2]
        if role in current and version.isdigit() and int(version) < current[role] - 1:
            file.unlink(missing_ok=True)
    for legacy in (ROOT_FILE, INDEX_FILE, TRUST_TARGET):
        (outdir / legacy).unlink(missing_ok=True)
    if (outdir / "status").is_dir():
        for file in (outdir / "status").glob("*.cwt"):
            file.unlink(missing_ok=True)
