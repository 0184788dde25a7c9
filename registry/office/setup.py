"""The office service for a registry home: its store, its policy (config.json `office`) and its keys."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlite_utils

from registry.home import Home
from registry.issuance import signing_from_home
from registry.office.policy import load_policy
from registry.office.service import Office


def office_for(home: Home, db: sqlite_utils.Database, clock: Callable[[], float] | None = None) -> Office:
    """The office of `home` on the connection `db` (clock: default the system's); the signing key is read
    only when an act signs."""
    policy = load_policy(home.config().office)
    return Office(db, policy, lambda: signing_from_home(home), lambda: int((clock or time.time)()))
