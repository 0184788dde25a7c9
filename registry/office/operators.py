"""The office's operators: accounts with a role and a token, each bound to one person.

An operator is enrolled with a person reference (the staff number of the human being behind the
account). At most one active account per person: otherwise one human could approve their own proposal
from a second account. The reference is compared normalised (NFKC, case-folded, without spaces, dots and
hyphens), so `AB-12` and `ab 12` are one person. Only the SHA-256 of a token is stored.

The first operator of a registry is enrolled without a token (someone with the home's files bootstraps
the office) and must be an admin; every later enrolment needs an admin. Enrolment and revocation are
events, like every other act.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils

from registry.office.errors import FORBIDDEN, INVALID, NOT_FOUND, OfficeError
from registry.office.record import Event, record_event
from registry.store import one, rows, write_transaction

TOKEN_PREFIX = "prt_"
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 200
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
PERSON_PATTERN = re.compile(r"[a-z0-9]{3,40}")


class Role(StrEnum):
    CLERK = "clerk"
    OFFICER = "officer"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)
OFFICER_ROLES = frozenset({Role.OFFICER, Role.ADMIN})


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    role: Role
    created_at: int
    person: str
    revoked_at: int | None = None

    @property
    def is_officer(self) -> bool:
        return self.revoked_at is None and self.role in OFFICER_ROLES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """`prt_` and 32 random bytes, base64url (43 characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def person_key(reference: str) -> str:
    """The normalised person reference, or an OfficeError."""
    key = "".join(ch for ch in unicodedata.normalize("NFKC", reference or "").casefold() if ch not in " .-_/")
    if not PERSON_PATTERN.fullmatch(key):
        raise OfficeError("bad-person", "a person reference is the staff number of the operator: 3 to 40 letters "
                                        "and digits (spaces, dots and hyphens are ignored)", INVALID)
    return key


_COLUMNS = "id, name, role, created_at, person, revoked_at"


def _operator(row: dict) -> Operator:
    return Operator(row["id"], row["name"], Role(row["role"]), row["created_at"], row["person"], row["revoked_at"])


def add_operator(db: sqlite_utils.Database, name: str, role: str, person: str, now: int,
                 by: Operator | None) -> tuple[Operator, str]:
    """Enrol an operator and return it with its token (shown once). `by` is the admin enrolling it, or None
    for the very first operator (an admin)."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise OfficeError("bad-name", "an operator name is 1 to 64 characters: letters, digits and . _ @ - "
                                      "(starting with a letter or digit)", INVALID)
    if role not in ROLES:
        raise OfficeError("bad-role", f"a role is one of {', '.join(ROLES)}", INVALID)
    key = person_key(person)
    token = new_token()
    with write_transaction(db):
        active = one(db, "SELECT count(*) AS n FROM operators WHERE revoked_at IS NULL")["n"]  # type: ignore[index]
        if by is None and active:
            raise OfficeError("authentication-required", "this registry has operators: enrolling another needs an "
                                                         "admin's token", FORBIDDEN)
        if by is None and role != Role.ADMIN:
            raise OfficeError("bootstrap-admin", "the first operator of a registry is an admin", INVALID)
        if by is not None and (by.revoked_at is not None or by.role != Role.ADMIN):
            raise OfficeError("forbidden", "only an admin enrols operators", FORBIDDEN)
        if one(db, "SELECT id FROM operators WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise OfficeError("name-taken", f"operator {name} already exists; revoke it first to give it a new token")
        holder = one(db, "SELECT name FROM operators WHERE person = ? AND revoked_at IS NULL", (key,))
        if holder:
            raise OfficeError("person-has-account", f"that person already has the active account {holder['name']}; "
                                                    "one person, one account (revoke it first)")
        cursor = db.execute("INSERT INTO operators (name, role, token_hash, created_at, created_by, person) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (name, role, hash_token(token), now, by.name if by else "bootstrap", key))
        added = Operator(int(cursor.lastrowid or 0), name, Role(role), now, key)
        record_event(db, Event("operator-add", now, by.id if by else added.id,
                               detail={"operator": added.id, "role": role, "bootstrap": by is None}))
    return added, token


def list_operators(db: sqlite_utils.Database, include_revoked: bool = True) -> list[dict]:
    """Every operator (never the token hashes)."""
    sql = "SELECT id, name, role, person, created_at, created_by, revoked_at, revoked_by FROM operators"
    if not include_revoked:
        sql += " WHERE revoked_at IS NULL"
    return rows(db, sql + " ORDER BY name, id")


def revoke_operator(db: sqlite_utils.Database, name: str, now: int, by: Operator) -> None:
    if by.role != Role.ADMIN or by.revoked_at is not None:
        raise OfficeError("forbidden", "only an admin revokes operators", FORBIDDEN)
    with write_transaction(db):
        row = one(db, "SELECT id FROM operators WHERE name = ? AND revoked_at IS NULL", (name,))
        if row is None:
            raise OfficeError("no-operator", f"no active operator named {name}", NOT_FOUND)
        db.execute("UPDATE operators SET revoked_at = ?, revoked_by = ? WHERE id = ?", (now, by.name, row["id"]))
        record_event(db, Event("operator-revoke", now, by.id, detail={"operator": row["id"]}))


def authenticate(db: sqlite_utils.Database, token: str) -> Operator | None:
    """The operator holding `token` (a revoked one too: the caller refuses it but can name it), or None."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    row = one(db, f"SELECT {_COLUMNS} FROM operators WHERE token_hash = ?", (hash_token(token),))
    return _operator(row) if row else None


def operator_by_id(db: sqlite_utils.Database, operator_id: int) -> Operator:
    row = one(db, f"SELECT {_COLUMNS} FROM operators WHERE id = ?", (operator_id,))
    if row is None:
        raise OfficeError("no-operator", f"no operator {operator_id}", NOT_FOUND)
    return _operator(row)


def require_active(op: Operator | None) -> Operator:
    if op is None or op.revoked_at is not None:
        raise OfficeError("authentication-required", "an operator's valid token is required", FORBIDDEN)
    return op

