"""The office's TUF repository (python-tuf Metadata API): root, targets, snapshot and timestamp.

Kept under HOME/published/metadata/: every root version (`<n>.root.json`) and the latest targets,
snapshot and timestamp. Consistent snapshots: targets are published as `<sha256>.<name>`, snapshot
and targets metadata as `<version>.<role>.json`, so a verifier always reads one coherent state.

- root: the officers' keys, threshold M (offline; signs only at init and at rotations). A new root
  version is signed by the old threshold and the new one, so verifiers follow it on their next sync.
- targets, snapshot, timestamp: the office's online timestamp key. Timestamp is re-signed on every
  publish (short expiry: freshness); snapshot and targets when what they list changes or half their
  lifetime has passed. The timestamp carries `issued` (ISO 8601), the moment it vouched for the lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.signer import Signer as SslibSigner
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import (
    SPECIFICATION_VERSION,
    Metadata,
    MetaFile,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from keys.algorithms import PrivateKey
from keys.errors import KeyStoreError, Reason
from keys.files import write_atomic
from keys.times import iso
from keys.trustlist import TrustedKey
from keys.tufkeys import TufSigner, tuf_key

ISSUED_FIELD = "issued"
ROOT_DAYS = 365
SPEC = ".".join(SPECIFICATION_VERSION)
_SERIALIZER = JSONSerializer(compact=False)


def _when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _signers(keys: list[PrivateKey]) -> list[SslibSigner]:
    return [TufSigner(k) for k in keys]


@dataclass(frozen=True)
class Lifetimes:
    timestamp: int  # seconds
    metadata: int  # targets and snapshot, seconds
    root: int = ROOT_DAYS * 86400


class Repository:
    """The signed metadata of one registry home."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    # -- reading ----------------------------------------------------------------------------------
    def root_versions(self) -> list[int]:
        if not self.dir.is_dir():
            return []
        return sorted(int(p.name.split(".")[0]) for p in self.dir.glob("*.root.json") if p.name.split(".")[0].isdigit())

    def root(self) -> Metadata[Root] | None:
        versions = self.root_versions()
        return Metadata[Root].from_file(str(self.dir / f"{versions[-1]}.root.json")) if versions else None

    def latest(self, role: str) -> Metadata | None:
        path = self.dir / f"{role}.json"
        return Metadata.from_file(str(path)) if path.exists() else None

    # -- root ---------------------------------------------------------------------------------------
    def write_root(self, roots: list[TrustedKey], threshold: int, online: TrustedKey, now: int,
                   signers: list[PrivateKey], lifetimes: Lifetimes) -> Metadata[Root]:
        """The next root version naming `roots` (threshold) and the online key for the other roles, signed
        by every key in `signers`. Refused unless the previous root's threshold and the new one both signed."""
        previous = self.root()
        root = Root(version=1 if previous is None else previous.signed.version + 1, spec_version=SPEC,
                    expires=_when(now + lifetimes.root), consistent_snapshot=True)
        for key in roots:
            root.add_key(tuf_key(key.public_key), Root.type)
        root.roles[Root.type].threshold = threshold
        for role in (Targets.type, Snapshot.type, Timestamp.type):
            root.add_key(tuf_key(online.public_key), role)
            root.roles[role] = Role(root.roles[role].keyids, 1)
        metadata = Metadata(root)
        for signer in _signers(signers):
            metadata.sign(signer, append=True)
        try:
            metadata.verify_delegate(Root.type, metadata)
            if previous is not None:
                previous.verify_delegate(Root.type, metadata)
        except UnsignedMetadataError as exc:
            raise KeyStoreError(f"root version {root.version} lacks signatures: {exc}", Reason.BAD_PASSPHRASE) from None
        write_atomic(self.dir / f"{root.version}.root.json", metadata.to_bytes(_SERIALIZER))
        return metadata

    # -- targets, snapshot, timestamp ------------------------------------------------------------
    def update(self, files: dict[str, bytes], now: int, online: PrivateKey, lifetimes: Lifetimes,
               ) -> tuple[Metadata[Targets], Metadata[Snapshot], Metadata[Timestamp]]:
        """Sign the metadata for `files` (target path -> bytes): targets and snapshot when changed or
        half-expired, timestamp always. Nothing is written here: `write` does it in a crash-safe order."""
        signer = TufSigner(online)
        half = lifetimes.metadata // 2
        targets_md: Metadata[Targets] | None = self.latest(Targets.type)
        wanted = {path: TargetFile.from_data(path, data, ["sha256"]) for path, data in files.items()}
        if (targets_md is None or targets_md.signed.targets != wanted
                or _when(now + half) >= targets_md.signed.expires or not _signed_by(targets_md, signer)):
            version = 1 if targets_md is None else targets_md.signed.version + 1
            targets_md = Metadata(Targets(version=version, spec_version=SPEC,
                                          expires=_when(now + lifetimes.metadata), targets=wanted))
            targets_md.sign(signer)
        snapshot_md: Metadata[Snapshot] | None = self.latest(Snapshot.type)
        if (snapshot_md is None or snapshot_md.signed.meta["targets.json"].version != targets_md.signed.version
                or _when(now + half) >= snapshot_md.signed.expires or not _signed_by(snapshot_md, signer)):
            version = 1 if snapshot_md is None else snapshot_md.signed.version + 1
            snapshot_md = Metadata(Snapshot(version=version, spec_version=SPEC,
                                            expires=_when(now + lifetimes.metadata),
                                            meta={"targets.json": MetaFile(targets_md.signed.version)}))
            snapshot_md.sign(signer)
        previous_ts: Metadata[Timestamp] | None = self.latest(Timestamp.type)
        timestamp = Timestamp(version=1 if previous_ts is None else previous_ts.signed.version + 1, spec_version=SPEC,
                              expires=_when(now + lifetimes.timestamp),
                              snapshot_meta=MetaFile(snapshot_md.signed.version),
                              unrecognized_fields={ISSUED_FIELD: iso(now)})
        timestamp_md = Metadata(timestamp)
        timestamp_md.sign(signer)
        return targets_md, snapshot_md, timestamp_md

    def save(self, targets: Metadata[Targets], snapshot: Metadata[Snapshot], timestamp: Metadata[Timestamp]) -> None:
        for role, md in ((Targets.type, targets), (Snapshot.type, snapshot), (Timestamp.type, timestamp)):
            write_atomic(self.dir / f"{role}.json", md.to_bytes(_SERIALIZER))


def _signed_by(metadata: Metadata, signer: SslibSigner) -> bool:
    """Whether the online key that signed this metadata is still the current one (after a rotation of
    the timestamp key, everything it signs is signed anew)."""
    return signer.public_key.keyid in metadata.signatures


def serialize(metadata: Metadata) -> bytes:
    return metadata.to_bytes(_SERIALIZER)


def target_file_name(path: str, data_hash: str) -> str:
    """Where a target is published under consistent snapshots: `<dir>/<sha256>.<name>`."""
    directory, sep, name = path.rpartition("/")
    return f"{directory}{sep}{data_hash}.{name}"
