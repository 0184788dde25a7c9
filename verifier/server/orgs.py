"""The organisations allowed to call the service, their sectors and API keys, and the audit trail,
in one SQLite file under the verifier cache (standard library sqlite3: no registry dependencies).

API keys are 32 random bytes, shown once; only their SHA-256 is stored (keys this random need no
slow hash). Audit records carry a keyed hash (HMAC-SHA256 with a secret kept in the cache, mode
0600) of the permit number, never the number or a name: a compliance officer can match a record to
a permit they already know, nobody can list whom an organisation checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keys.errors import Cause, PermitError, Reason
from keys.files import ensure_private, write_atomic
from keys.times import iso
from verifier.server.schema import migrate

DB_FILE = "service.db"
SECRET_FILE = "audit.key"
KEY_PREFIX = "pvk_"


class OrgError(PermitError):
    """An organisation that exists already (CONFLICT) or does not (NOT_FOUND)."""

    reason = Reason.USAGE
    cause = Cause.CONFLICT


@dataclass(frozen=True)
class Org:
    name: str
    sector: str
    created_at: int
    revoked_at: int | None
    rate: float | None = None


def connect(cache_dir: Path) -> sqlite3.Connection:
    """The service database (token hashes): 0600 in a 0700 folder, corrected if found looser."""
    ensure_private(cache_dir / DB_FILE, create_dir=True)
    try:
        conn = sqlite3.connect(cache_dir / DB_FILE, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise PermitError(f"cannot open {cache_dir / DB_FILE}: {exc}", Reason.STORE, cause=Cause.STORAGE) from None
    migrate(conn)
    return conn


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_org(conn: sqlite3.Connection, name: str, sector: str, now: int, rate: float | None = None) -> str:
    """Register an organisation; returns its new API key (shown once, stored hashed)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        conn.execute("INSERT INTO orgs (name, sector, key_hash, created_at, rate) VALUES (?, ?, ?, ?, ?)",
                     (name, sector, key_hash(key), now, rate))
    except sqlite3.IntegrityError:
        raise OrgError(f"an organisation named {name!r} exists already; revoke it or choose another name") from None
    return key


def revoke_org(conn: sqlite3.Connection, name: str, now: int) -> None:
    cursor = conn.execute("UPDATE orgs SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (now, name))
    if cursor.rowcount == 0:
        raise OrgError(f"no active organisation named {name!r}", cause=Cause.NOT_FOUND)


def list_orgs(conn: sqlite3.Connection) -> list[Org]:
    return [Org(*row) for row in conn.execute(
        "SELECT name, sector, created_at, revoked_at, rate FROM orgs ORDER BY name")]


def active_keys(conn: sqlite3.Connection) -> dict[str, Org]:
    """key hash -> organisation, for every key not revoked."""
    rows = conn.execute(
        "SELECT key_hash, name, sector, created_at, revoked_at, rate FROM orgs WHERE revoked_at IS NULL")
    return {row[0]: Org(*row[1:]) for row in rows}


def audit_secret(cache_dir: Path) -> bytes:
    path = cache_dir / SECRET_FILE
    if not path.exists():
        write_atomic(path, secrets.token_bytes(32), mode=0o600)
    return path.read_bytes()


def number_hash(secret: bytes, number: str) -> str:
    return hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()


def export_audit(conn: sqlite3.Connection, org: str | None = None, since: float | None = None) -> Iterator[str]:
    """The audit records as JSON lines, oldest first."""
    sql = "SELECT id, at, org, kind, number_hash, verdict, reason FROM audit WHERE 1=1"
    params: list[object] = []
    if org is not None:
        sql += " AND org = ?"
        params.append(org)
    if since is not None:
        sql += " AND at >= ?"
        params.append(since)
    for row in conn.execute(sql + " ORDER BY id", params):
        rid, at, who, kind, nh, verdict, reason = row
        yield json.dumps({"id": rid, "at": iso(at), "org": who,
                          "kind": kind, "permit_number_hmac": nh, "verdict": verdict, "reason": reason})

