"""Publishing: the files verifiers download, written as static files any web server or CDN can serve."""

from __future__ import annotations

from pathlib import Path

from keys import algorithms
from keys.files import write_atomic
from keys.trustlist import build_trust_list
from registry.home import Home

ROOT_FILE = "root.pem"
TRUST_FILE = "trust-list.cwt"
DAY = 86400


def publish_trust_list(home: Home, outdir: Path, now: int) -> int:
    """Sign a new trust list version listing every issuing key, and write it with the root public key.
    Returns the version written."""
    config = home.config()
    store = home.keys()
    root = store.root_private()
    data = build_trust_list(
        version=store.next_trust_list_version(),
        issuer=config.authority,
        issued_at=now,
        expires_at=now + config.trust_list_days * DAY,
        status_uri=config.status_uri,
        keys=store.keys,
        root_key=root,
    )
    write_atomic(outdir / ROOT_FILE, algorithms.public_pem(root.public_key()).encode())
    write_atomic(outdir / TRUST_FILE, data)
    return store.trust_list_version
