"""Per-app state (the registry home, where to publish) and the per-request store connection."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from flask import current_app, g

from registry import store
from registry.home import Home

EXTENSION = "permit_registry"


@dataclass(frozen=True)
class AppState:
    home: Home
    publish_dir: Path

    def fresh_home(self) -> Home:
        """A Home whose key store is read anew (keys.json is small; decrypting a key costs ~2 ms), sharing the
        passphrase already obtained. A long-running worker thus signs with the key that is active now, not
        the one active when it started."""
        return Home(self.home.path, self.home.passphrase)


def app_state() -> AppState:
    return current_app.extensions[EXTENSION]


def fold(text: str | None) -> str | None:
    """Text compared without regard to case or Unicode normal form (for name searches)."""
    return None if text is None else unicodedata.normalize("NFC", text).casefold()


def get_db() -> sqlite_utils.Database:
    """One store connection per request, opened on first use and closed at teardown (connections are never
    shared across gunicorn's forked workers or threads)."""
    if "db" not in g:
        g.db = store.open_store(app_state().home.db_path)
        g.db.conn.create_function("fold", 1, fold, deterministic=True)
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
