"""The admin API's side of operators: which role may call which non-act route, and the audit table of
every API call.

Operators themselves (enrolment with a person reference, tokens, revocation) live in
registry/office/operators.py, shared with the CLI; their tables are created by the store's migrations.
Whether an operator may carry out an act (issue, revoke, approve ...) is decided by the office service
(registry/office/service.py), not here.

- `api_calls`: append-only (triggers refuse UPDATE and DELETE, as for `events`): every admin API call,
  refused ones included, with the operator (NULL when no valid token was given), the status code and the
  reason code. Acts are also in `events`, written by the office in the same transaction as the act.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from registry import store
from registry.office.operators import (
    NAME_PATTERN,
    ROLES,
    Operator,
    Role,
    add_operator,
    authenticate,
    list_operators,
    revoke_operator,
)

API_MIGRATIONS = Migrations("permit-registry-api")

# What each role may do besides the office's acts. Every non-act admin route names one of these.
PERMISSIONS: dict[str, frozenset[Role]] = {
    **{p: frozenset(Role) for p in ("read", "qr")},
    "publish": frozenset({Role.OFFICER, Role.ADMIN}),
    "operators": frozenset({Role.ADMIN}),
}


def may(op: Operator, permission: str) -> bool:
    return op.revoked_at is None and op.role in PERMISSIONS[permission]


@API_MIGRATIONS(name="0001_operators_and_api_calls")
def _operators_and_api_calls(db: sqlite_utils.Database) -> None:
    """Kept so stores migrated by it stay consistent; the tables now come from the store's migration 0002."""


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Mark the API's migration set applied (idempotent; under the write lock when several workers start)."""
    with store.translate_errors():
        if API_MIGRATIONS.pending(db):
            with store.write_transaction(db):
                API_MIGRATIONS.apply(db)


def record_call(db: sqlite_utils.Database, at: int, operator: Operator | None, method: str, path: str,
                query: str | None, permission: str | None, number: str | None, status: int,
                reason: str | None, remote_addr: str | None) -> None:
    with store.write_transaction(db):
        db.execute(
            "INSERT INTO api_calls (at, operator, role, method, path, query, permission, number, status, reason, "
            "remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at, operator.name if operator else None, operator.role.value if operator else None, method,
             path[:300], (query or None) and query[:500], permission, number, status, reason, remote_addr),
        )


__all__ = ["NAME_PATTERN", "PERMISSIONS", "ROLES", "Operator", "Role", "add_operator", "authenticate",
           "ensure_schema", "list_operators", "may", "record_call", "revoke_operator"]
