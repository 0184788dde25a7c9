"""The office's transparency log in the product: its key, the acts of the office as a whole, publication.

- The log key is an Ed25519 note signer named after the log's origin (by default the host of the status
  URI and `/log`), generated on first need and kept in the key store folder encrypted like the other keys
  (HOME/keys/log.key: PBKDF2 + AES-256-GCM under the office passphrase, mode 0600). Its generation is itself
  a key event in the log.
- Key events, publishes and organisation changes become events (and so leaves) through `record_office_act`:
  with the acting operator when a token was given, else as acts of the office (the key store's holder).
- `publish_log` runs inside `registry publish`: it records the publish (its manifest is the SHA-256 of the
  status lists and trust keys being published), writes OUTDIR/log/ (checkpoint, tiles, key.vkey) and
  returns the files published as TUF targets (`log/checkpoint`, `log/key.vkey`).
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import Any

import sqlite_utils

from keys import cbor, keyfile
from keys.errors import KeyStoreError
from keys.files import write_atomic
from keys.layout import LOG_CHECKPOINT_TARGET, LOG_KEY_TARGET
from keys.tlog.note import NoteSigner
from keys.trustlist import TrustedKey
from registry import lifecycle, store, tlog_store
from registry.home import Home
from registry.office.record import Event, record_event

LOG_KEY_FILE = "log.key"
LOG_KEY_AAD = b"permit-registry log key"
LAST_PUBLISH_FILE = "log-published.json"  # HOME/published/: where the log was last published


def default_origin(home: Home) -> str:
    host = urllib.parse.urlparse(home.config().status_uri.replace("{id}", "0")).hostname or "permit-registry"
    return f"{host}/log"


def _key_path(home: Home) -> Path:
    return home.path / "keys" / LOG_KEY_FILE


def public_key_sha256(key: TrustedKey) -> str:
    from cryptography.hazmat.primitives import serialization

    der = key.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def record_office_act(db: sqlite_utils.Database, action: str, now: int, detail: dict[str, Any],
                      operator_id: int | None = None) -> int:
    """One act of the office as a whole (key event, publish, organisation change) as an event and a leaf."""
    with store.write_transaction(db):
        return record_event(db, Event(action, now, operator_id, detail=detail))


def record_key_event(home: Home, action: str, key: TrustedKey, role: str, now: int,
                     operator_id: int | None = None) -> None:
    db = store.open_store(home.db_path)
    try:
        record_office_act(db, action, now, {"kid": key.kid.hex(), "role": role,
                                            "public_key_sha256": public_key_sha256(key)}, operator_id)
    finally:
        db.conn.close()


def record_all_keys(home: Home, now: int) -> None:
    """At init: a key-generate event for every key the new key store holds."""
    keys = home.keys()
    db = store.open_store(home.db_path)
    roles = [(k, "root") for k in keys.roots] + [(k, "timestamp") for k in keys.timestamp_keys]
    roles += [(k, k.use.value) for k in keys.keys]
    try:
        for key, role in roles:
            record_office_act(db, "key-generate", now, {"kid": key.kid.hex(), "role": role,
                                                        "public_key_sha256": public_key_sha256(key)})
    finally:
        db.conn.close()


def log_signer(home: Home, db: sqlite_utils.Database, now: int, operator_id: int | None = None) -> NoteSigner:
    """The log key, generated (and logged as a key event) the first time it is needed."""
    path = _key_path(home)
    if path.exists():
        skey = keyfile.decrypt(path.read_bytes(), LOG_KEY_AAD, home.passphrase(), str(path)).decode()
        return NoteSigner.from_skey(skey)
    signer = NoteSigner.generate(default_origin(home))
    write_atomic(path, keyfile.encrypt(signer.skey.encode(), LOG_KEY_AAD, home.passphrase()), mode=0o600)
    public = signer.verifier.public_bytes()
    record_office_act(db, "key-generate", now, {"kid": f"{signer.key_id:08x}", "role": "log",
                                                "public_key_sha256": hashlib.sha256(public).hexdigest()},
                      operator_id)
    return signer


def log_verifier_key(home: Home) -> str:
    """The log's verifier key (note vkey) from the home's own key: never from a published copy."""
    path = _key_path(home)
    if not path.exists():
        raise KeyStoreError(f"{home.path} has no log key yet: run `registry publish` once")
    skey = keyfile.decrypt(path.read_bytes(), LOG_KEY_AAD, home.passphrase(), str(path)).decode()
    return NoteSigner.from_skey(skey).verifier.vkey


def manifest_sha256(home: Home, db: sqlite_utils.Database) -> str:
    """What a publish vouches for: each status list's 2-bit entries and the keys of the trust list."""
    from keys.statuslist import pack_entries

    lists = {row["list_id"]: hashlib.sha256(bytes(pack_entries(row["size"],
                                                               lifecycle.set_entries(db, row["list_id"])))).digest()
             for row in store.rows(db, "SELECT list_id, size FROM status_lists ORDER BY list_id")}
    keys = sorted(k.kid for k in home.keys().keys)
    return hashlib.sha256(cbor.dumps({"lists": lists, "keys": keys})).hexdigest()


def publish_log(home: Home, outdir: Path, now: int, operator_id: int | None = None) -> dict[str, bytes]:
    """Record this publish, write OUTDIR/log/ and return the TUF extra targets of the log."""
    db = store.open_store(home.db_path)
    try:
        signer = log_signer(home, db, now, operator_id)
        manifest = manifest_sha256(home, db)
        with store.write_transaction(db):  # the count and the act in one transaction: no two publishes share it
            version = 1 + store.one(db, "SELECT count(*) AS n FROM events WHERE action = 'publish'")["n"]  # type: ignore[index]
            record_event(db, Event("publish", now, operator_id, detail={"version": version,
                                                                        "manifest_sha256": manifest}))
        checkpoint = tlog_store.write_published_log(db, outdir, signer, signer.name)
    finally:
        db.conn.close()
    write_atomic(home.path / "published" / LAST_PUBLISH_FILE,
                 json.dumps({"outdir": str(Path(outdir).resolve()), "size": checkpoint.size}).encode())
    logdir = Path(outdir) / "log"
    return {LOG_CHECKPOINT_TARGET: (logdir / "checkpoint").read_bytes(),
            LOG_KEY_TARGET: (logdir / "key.vkey").read_bytes()}


def last_published(home: Home) -> Path | None:
    try:
        return Path(json.loads((home.path / "published" / LAST_PUBLISH_FILE).read_text())["outdir"])
    except (OSError, ValueError, KeyError):
        return None
