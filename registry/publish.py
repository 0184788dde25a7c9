"""Publishing: the signed files verifiers download, as static files any web server or CDN can serve.

OUTDIR gets `root.pem`, `trust-list.cwt`, `status/<id>.cwt` (IETF Token Status List tokens, CWT
form, 2 bits per entry) and `index.json` naming them. Only what changed is re-signed: the last
signed files are kept under HOME/published/ with the digest of what they say, and a file is signed
anew only when its content changed or half of its lifetime has passed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from keys import algorithms, cbor
from keys.algorithms import PrivateKey
from keys.cose import sign1
from keys.files import write_atomic
from keys.trustlist import KeyUse, build_trust_list
from registry import lifecycle, store
from registry.home import Home
from verifier.status import CLAIM_EXP, CLAIM_IAT, CLAIM_STATUS_LIST, CLAIM_SUB, CLAIM_TTL, TYP

ROOT_FILE = "root.pem"
TRUST_FILE = "trust-list.cwt"
INDEX_FILE = "index.json"
STATE_FILE = "state.json"
DAY, HOUR = 86400, 3600


@dataclass(frozen=True)
class PublishReport:
    trust_version: int
    trust_signed: bool
    lists: int
    lists_signed: int


def pack_entries(size: int, entries: list[tuple[int, int]]) -> bytearray:
    """A 2-bit status array of `size` entries with the given (index, value) pairs set (others 0).
    Index i lives in byte i // 4 at bit (i % 4) * 2, least significant first."""
    raw = bytearray(size // 4)
    for idx, value in entries:
        raw[idx >> 2] |= value << ((idx & 3) << 1)
    return raw


def status_token(uri: str, raw: bytes, now: int, ttl: int, expires_at: int, key: PrivateKey) -> bytes:
    """Sign a Status List Token (CWT) over a packed 2-bit array."""
    claims = {
        CLAIM_SUB: uri,
        CLAIM_IAT: now,
        CLAIM_EXP: expires_at,
        CLAIM_TTL: ttl,
        CLAIM_STATUS_LIST: {"bits": 2, "lst": zlib.compress(bytes(raw), 9)},
    }
    return sign1(cbor.dumps(claims), key, algorithms.key_id(key.public_key()), typ=TYP)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _due(entry: dict | None, digest: str, now: int) -> bool:
    """Sign anew when the content changed or half the signed file's lifetime has passed."""
    return entry is None or entry["digest"] != digest or now >= (entry["iat"] + entry["exp"]) // 2


def publish(home: Home, outdir: Path, now: int) -> PublishReport:
    """Sign what changed and write every published file to OUTDIR."""
    config, keys = home.config(), home.keys()
    signed_dir = home.path / "published"
    for directory in (signed_dir, outdir):  # temporary files of a publish that was killed midway
        if directory.is_dir():
            for stale in directory.rglob(".*.tmp"):
                stale.unlink(missing_ok=True)
    state_path = signed_dir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {"trust": None, "lists": {}}

    trust_digest = _digest(json.dumps(config.to_json(), sort_keys=True).encode(),
                           *[cbor.dumps(k.to_cbor()) for k in keys.keys])
    trust_signed = _due(state["trust"], trust_digest, now)
    if trust_signed:
        expires = now + config.trust_list_days * DAY
        data = build_trust_list(version=keys.next_trust_list_version(), issuer=config.authority, issued_at=now,
                                expires_at=expires, status_uri=config.status_uri, keys=keys.keys,
                                root_key=keys.root_private())
        write_atomic(signed_dir / TRUST_FILE, data)
        state["trust"] = {"digest": trust_digest, "iat": now, "exp": expires, "version": keys.trust_list_version}

    db = store.open_store(home.db_path)
    lists = store.rows(db, "SELECT list_id, size FROM status_lists ORDER BY list_id")
    signed_count = 0
    status_key = None
    for row in lists:
        list_id, size = row["list_id"], row["size"]
        raw = pack_entries(size, lifecycle.set_entries(db, list_id))
        digest = _digest(bytes(raw), str(config.status_ttl).encode())
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
    write_atomic(state_path, json.dumps(state, indent=2).encode())

    index = {
        "published_at": now,
        "root": ROOT_FILE,
        "trust_list": TRUST_FILE,
        "trust_list_version": state["trust"]["version"],
        "status_lists": [
            {"id": row["list_id"], "path": f"status/{row['list_id']}.cwt",
             "iat": state["lists"][str(row["list_id"])]["iat"], "exp": state["lists"][str(row["list_id"])]["exp"]}
            for row in lists
        ],
    }
    write_atomic(outdir / ROOT_FILE, algorithms.public_pem(keys.root.public_key).encode())
    for name in [TRUST_FILE, *[f"status/{row['list_id']}.cwt" for row in lists]]:
        target = outdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != (signed_dir / name).read_bytes():
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(signed_dir / name, tmp)
            tmp.replace(target)
    write_atomic(outdir / INDEX_FILE, json.dumps(index, indent=2).encode() + b"\n")
    return PublishReport(state["trust"]["version"], trust_signed, len(lists), signed_count)
