"""The verifier's local cache: the pinned root key and the current trust list, for offline checks.

Every file is replaced atomically, and a new trust list is accepted only if the pinned root signed
it, it has not expired, and it is not older than the one already held.
"""

from __future__ import annotations

from pathlib import Path

from keys import algorithms
from keys.algorithms import PublicKey
from keys.errors import PermitError, Reason, TrustError
from keys.files import write_atomic
from keys.trustlist import MAX_TRUST_LIST, TrustList, verify_trust_list

ROOT_FILE = "root.pem"
TRUST_FILE = "trust-list.cwt"


class CacheError(PermitError):
    reason = Reason.USAGE


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

    def trust_list(self) -> TrustList | None:
        """The trust list held, re-checked against the pinned root (None if there is none yet).
        Its expiry is not judged here: a check reports an expired list as TRUST_LIST_STALE."""
        path, root = self.dir / TRUST_FILE, self.root()
        if root is None or not path.exists():
            return None
        return verify_trust_list(_read(path, MAX_TRUST_LIST, "trust list"), root, at=0)

    def add_trust_list(self, data: bytes, at: int) -> TrustList:
        """Accept a new trust list (signature, expiry, rollback checked) and store it atomically."""
        root = self.root()
        if root is None:
            raise TrustError(f"no root key pinned in {self.dir}; pass --root ROOT.pem", Reason.NO_TRUST_LIST)
        trust = verify_trust_list(data, root, at, current=self.trust_list())
        write_atomic(self.dir / TRUST_FILE, trust.raw)
        return trust
