"""The published directory's layout, for the office that writes it and every verifier that reads it
(docs/format.md §5.3): the TUF metadata and targets folders, and the target path of each signed file.
A change of name touches this one file."""

from __future__ import annotations

import re

METADATA_DIR = "metadata"  # <n>.root.json, root.json, <n>.targets.json, <n>.snapshot.json, timestamp.json
TARGETS_DIR = "targets"  # each target under its hash-prefixed name (consistent snapshots)
TRUST_TARGET = "trust-list.cwt"
LOG_CHECKPOINT_TARGET = "log/checkpoint"
LOG_KEY_TARGET = "log/key.vkey"
RESERVED_PREFIXES = ("status/", "log/")  # no extra target may live under these
_STATUS_TARGET = re.compile(r"status/([1-9][0-9]{0,8})\.cwt")
_EXTRA_TARGET = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}(/[a-z0-9][a-z0-9._-]{0,63}){0,3}")


def status_target(list_id: int) -> str:
    """The target path of status list `list_id`."""
    return f"status/{list_id}.cwt"


def target_kind(path: str) -> tuple[str, int | None]:
    """What a target path is: ("trust", None), ("status", id), ("extra", None), or ("ignored", None)."""
    if path == TRUST_TARGET:
        return "trust", None
    match = _STATUS_TARGET.fullmatch(path)
    if match:
        return "status", int(match.group(1))
    if _EXTRA_TARGET.fullmatch(path) and ".." not in path:
        return "extra", None
    return "ignored", None
