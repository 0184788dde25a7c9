"""How the office's CLI knows who acts: an operator's token, never a typed name.

`registry` takes the token from `--token-file FILE` (the file's first line) or from the environment
variable PERMIT_REGISTRY_TOKEN; `registry operators add` prints a new operator's token once. Every command
that changes the register authenticates it exactly as the admin API does (registry/office/operators.py);
reading the register needs only access to the home's files.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import sqlite_utils

from keys.errors import Cause, PermitError, Reason
from registry import store
from registry.home import Home
from registry.office.operators import Operator, authenticate
from registry.office.service import Office
from registry.office.setup import office_for

TOKEN_ENV = "PERMIT_REGISTRY_TOKEN"
TOKEN_META = "registry.token_file"


class AuthError(PermitError):
    """Who acts is not proven: no token, an unknown or revoked one (FORBIDDEN), an unreadable token file (USAGE)."""

    reason = Reason.USAGE
    cause = Cause.FORBIDDEN


def token_text() -> str | None:
    path = click.get_current_context().meta.get(TOKEN_META)
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise AuthError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or 'empty'}",
                            cause=Cause.USAGE) \
                from None
    return os.environ.get(TOKEN_ENV, "").strip() or None


def open_db(home: Home) -> sqlite_utils.Database:
    home.config()  # a clear error if this is not a registry home
    return store.open_store(home.db_path)


def current_operator(db: sqlite_utils.Database, required: bool = True) -> Operator | None:
    """The operator whose token this command was given; an AuthError without a valid one."""
    token = token_text()
    if token is None:
        if not required:
            return None
        raise AuthError(f"who acts must be proven: give an operator's token in {TOKEN_ENV} or with --token-file "
                        "(`registry operators add` prints one)")
    found = authenticate(db, token)
    if found is None or found.revoked_at is not None:
        raise AuthError("the operator token is not valid (unknown or revoked); nothing was changed")
    return found


def acting_office(home: Home) -> tuple[Office, Operator]:
    db = open_db(home)
    return office_for(home, db), current_operator(db)  # type: ignore[return-value]
