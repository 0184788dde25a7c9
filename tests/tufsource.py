"""A published TUF repository built from a test Issuer, the way `registry publish` builds one (same
python-tuf code, same layout), so attacks on sync are a few lines each: publish, copy, tamper, sync."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from helpers import DAY, NOW, STATUS_URI, Issuer, trusted

from keys.statuslist import pack_entries, status_token
from registry.publish import export
from registry.repository import Lifetimes, Repository

LIFETIMES = Lifetimes(timestamp=DAY, metadata=7 * DAY)
URI1 = STATUS_URI.replace("{id}", "1")


class TufSource:
    """An office in miniature: the issuer's root key is the 1-of-1 root and the online key."""

    def __init__(self, issuer: Issuer, directory: Path, now: int = NOW) -> None:
        self.issuer, self.out = issuer, directory
        self.repo = Repository(directory.parent / f".{directory.name}-state")
        self.files: dict[str, bytes] = {}
        self.trust_lists: dict[int, bytes] = {}
        root = trusted(issuer.root)
        self.repo.write_root([root], 1, root, now, [issuer.root], LIFETIMES)

    @property
    def root_json(self) -> bytes:
        return (self.out / "metadata" / "root.json").read_bytes()

    def publish(self, now: int = NOW, trust_version: int = 1, entries: list[tuple[int, int]] | None = None,
                iat: int | None = None, exp: int | None = None, lists: dict[int, bytes] | None = None,
                status_key: object = None) -> Path:
        """Sign a trust list and status list 1 (with `entries` set) and publish them with fresh metadata."""
        if trust_version not in self.trust_lists:  # one text per version, as the office keeps it
            self.trust_lists[trust_version] = self.issuer.trust_bytes(version=trust_version, issued_at=now - DAY,
                                                                      expires_at=now + 7 * DAY)
        self.files = {"trust-list.cwt": self.trust_lists[trust_version]}
        if lists is None:
            iat = now - 60 if iat is None else iat
            token = status_token(URI1, pack_entries(131072, entries or []), iat, 3600,
                                 now + 2 * DAY if exp is None else exp, status_key or self.issuer.status_key)
            lists = {1: token}
        for list_id, token in lists.items():
            self.files[f"status/{list_id}.cwt"] = token
        export(self.repo, self.out, self.files, now, self.issuer.root, LIFETIMES)
        return self.out

    def target_path(self, path: str) -> Path:
        """Where the current version of target `path` is published (hash-prefixed)."""
        digest = hashlib.sha256(self.files[path]).hexdigest()
        directory, _, name = path.rpartition("/")
        return self.out / "targets" / directory / f"{digest}.{name}"

    def copy(self, to: Path) -> Path:
        """A mirror's frozen copy of the published directory as it is now."""
        shutil.copytree(self.out, to)
        return to
