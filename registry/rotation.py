"""Root ceremonies: the first root, root rotation and timestamp-key rotation.

Each writes the next root version with the python-tuf Metadata API, signed by the threshold of the root
keys in force and (at a root rotation) by the threshold of the new ones; verifiers follow the chain of
root versions on their next sync, with no manual step.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from tuf.api.metadata import Metadata, Root

from keys.errors import KeyStoreError, Reason
from keys.keystore import KeyStore
from keys.pkcs11 import TokenRef
from keys.trustlist import TrustedKey
from keys.tufkeys import tuf_key
from registry.home import Config, Home
from registry.repository import Lifetimes, Repository

HOUR, DAY = 3600, 86400


def lifetimes(config: Config) -> Lifetimes:
    return Lifetimes(timestamp=config.timestamp_hours * HOUR, metadata=config.metadata_days * DAY)


def warn_lone_root(count: int, threshold: int) -> None:
    if threshold == 1:
        print(f"warning: a {threshold}-of-{count} root: one officer alone can change what every verifier "
              "trusts; use --root-keys 3 --root-threshold 2 (or more) outside a demonstration", file=sys.stderr)


def _root_names(metadata: Metadata[Root], keys: list[TrustedKey], online: TrustedKey) -> bool:
    root = metadata.signed
    return (set(root.roles[Root.type].keyids) == {tuf_key(k.public_key).keyid for k in keys}
            and root.roles["timestamp"].keyids == [tuf_key(online.public_key).keyid])


def _settle(keys: KeyStore, root: Metadata[Root] | None, now: int) -> None:
    """Finish or abandon a ceremony that was cut short: pending keys the latest root version names are
    installed; pending keys it does not name are forgotten (their root version was never written)."""
    if not (keys.pending_roots or keys.pending_timestamp):
        return
    if root is None:
        return
    named = set(root.signed.roles[Root.type].keyids) | set(root.signed.roles["timestamp"].keyids)
    pending = [*keys.pending_roots, *([keys.pending_timestamp] if keys.pending_timestamp else [])]
    if {tuf_key(k.public_key).keyid for k in pending} <= named:
        keys.install_roots(now)
        keys.install_timestamp_key(now)
    else:
        keys.drop_pending()


def ensure_repository(home: Home, repo: Repository, now: int) -> Metadata[Root]:
    """The current root metadata. A home from before TUF (no timestamp key, no root metadata) gets its
    timestamp key and root version 1 here, signed by its root key."""
    keys = home.keys()
    root = repo.root()
    _settle(keys, root, now)
    online = keys.timestamp_key()
    if online is None:
        if root is not None:
            raise KeyStoreError("the root names a timestamp key this home no longer holds; "
                                "run `registry keys rotate --use timestamp`")
        keys.new_timestamp_key(now)
        keys.install_timestamp_key(now)
        online = keys.timestamp_key()
        assert online is not None
    if root is None:
        signers = [private for _, private in keys.root_signers()]
        return repo.write_root(keys.active_roots(), keys.root_threshold, online, now, signers,
                               lifetimes(home.config()))
    if not _root_names(root, keys.active_roots(), online):
        raise KeyStoreError(f"root version {root.signed.version} does not name this home's root and timestamp "
                            "keys: the key store and the published metadata disagree; restore both from the "
                            "same backup", Reason.KEY_STORE)
    if root.signed.is_expired(datetime.fromtimestamp(now + 30 * DAY, UTC)):
        print(f"warning: root version {root.signed.version} expires within 30 days; hold a root ceremony "
              "(`registry keys rotate --use root`) before then", file=sys.stderr)
    return root


def rotate_root(home: Home, repo: Repository, now: int, count: int, threshold: int,
                passphrases: list[bytes] | None, tokens: list[TokenRef] | None = None) -> Metadata[Root]:
    """New root keys (count, threshold; in files with `passphrases`, or one per officer's token): root
    version n+1 signed by the old threshold and the new."""
    keys = home.keys()
    ensure_repository(home, repo, now)
    old_signers = [private for _, private in keys.root_signers()]
    new_roots = keys.new_roots(count, threshold, passphrases, now, tokens=tokens)
    secrets = list(passphrases or [])
    new_signers = []
    for i, key in enumerate(new_roots[:threshold]):
        secret = secrets[i] if i < len(secrets) else b""
        new_signers.append(keys.private_key(key, lambda s=secret: s))  # type: ignore[misc]
    online = keys.timestamp_key()
    assert online is not None  # ensure_repository made one
    metadata = repo.write_root(new_roots, threshold, online, now, old_signers + new_signers, lifetimes(home.config()))
    keys.install_roots(now)
    return metadata


def rotate_timestamp(home: Home, repo: Repository, now: int) -> tuple[TrustedKey, Metadata[Root]]:
    """A new online key: root version n+1 (signed by the root threshold) names it for targets, snapshot
    and timestamp; the next publish re-signs everything with it."""
    keys = home.keys()
    ensure_repository(home, repo, now)
    signers = [private for _, private in keys.root_signers()]
    new = keys.new_timestamp_key(now)
    metadata = repo.write_root(keys.active_roots(), keys.root_threshold, new, now, signers, lifetimes(home.config()))
    keys.install_timestamp_key(now)
    return new, metadata
