"""The verifier's copy of the office's transparency log, kept by `verifier sync`.

The office publishes `log/checkpoint` and `log/key.vkey` as TUF targets (signed by the repository's
targets key). On the first sync that carries them the log key is pinned; from then on a checkpoint is
accepted only if that key signed it and its tree contains the tree of the checkpoint held (a consistency
proof from the source's tiles under SOURCE/log/), else the sync is refused with LOG_INCONSISTENT and the
old cache kept. A different log key later is refused the same way: a new key is a new log.

Beside the checkpoint the cache keeps an index of the cards the log holds (`log/cards`: the SHA-256 of
each card's COSE bytes, 32 bytes each, in log order) and `log/state.json` (`size`: leaves read,
`covered_until`: the newest leaf's time), read only from entries proven under an accepted checkpoint; it
is what `verifier check --require-logged` looks cards up in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keys.errors import LogError, LogForkError, Reason
from keys.layout import LOG_CHECKPOINT_TARGET, LOG_KEY_TARGET
from keys.tlog.checkpoint import Checkpoint
from keys.tlog.leaves import CardLeaf, decode_leaf
from verifier.logclient import open_log_checkpoint, read_entries, update_checkpoint

CHECKPOINT, KEY = LOG_CHECKPOINT_TARGET, LOG_KEY_TARGET
CARDS = "log/cards"
STATE = "log/state.json"
MAX_LOG_FILE = 1 << 20
HASH = 32


@dataclass(frozen=True)
class LoggedCards:
    """What the held log says: the cards in it and how far in time it reaches."""

    size: int
    covered_until: int
    cards: frozenset[bytes]


def _held(held_dir: Path | None, name: str) -> bytes | None:
    if held_dir is None:
        return None
    try:
        return (held_dir / name).read_bytes()
    except OSError:
        return None


def load(held_dir: Path | None) -> LoggedCards | None:
    raw, cards = _held(held_dir, STATE), _held(held_dir, CARDS)
    if raw is None or cards is None:
        return None
    state = json.loads(raw)
    return LoggedCards(int(state["size"]), int(state["covered_until"]),
                       frozenset(cards[i:i + HASH] for i in range(0, len(cards), HASH)))


def check_log(files: dict[str, bytes], held_dir: Path | None, fetch: Callable[[str], bytes]) -> None:
    """Judge the log files of a sync (`files`: the targets fetched, changed in place) against what the
    cache holds; `fetch(path)` reads the source's log directory. Raises LogForkError (LOG_INCONSISTENT)
    for a fork or a changed log key, LogError for anything unverifiable; the caller keeps the old cache."""
    held_key, held_checkpoint = _held(held_dir, KEY), _held(held_dir, CHECKPOINT)
    carried = {name: data for name in (KEY, CHECKPOINT, CARDS, STATE) if (data := _held(held_dir, name)) is not None}
    if CHECKPOINT not in files:
        files.update(carried)  # a publication without the log never makes this verifier forget its checkpoint
        return
    key = files.get(KEY)
    if key is None:
        raise LogError("the source publishes a log checkpoint without its key (log/key.vkey)", Reason.LOG_MALFORMED)
    if held_key is not None and held_key.strip() != key.strip():
        raise LogForkError("the source's log key is not the one this verifier pinned: a new key is a different "
                           "log (keep both as evidence)")
    vkey = (held_key or key).decode().strip()
    kept = update_checkpoint(held_checkpoint, files[CHECKPOINT], vkey, fetch)
    if held_checkpoint is not None and kept.size > open_log_checkpoint(files[CHECKPOINT], vkey).size:
        files[CHECKPOINT] = held_checkpoint  # an older tree, proven a prefix of the held one: keep the held
    files[KEY] = (held_key or key)
    _index(files, carried, kept, fetch)


def _index(files: dict[str, bytes], carried: dict[str, bytes], checkpoint: Checkpoint,
           fetch: Callable[[str], bytes]) -> None:
    state = json.loads(carried[STATE]) if STATE in carried and CARDS in carried else {"size": 0, "covered_until": 0}
    cards = bytearray(carried.get(CARDS, b"")) if state["size"] else bytearray()
    start, covered = int(state["size"]), int(state["covered_until"])
    if checkpoint.size > start:
        for data in read_entries(checkpoint, fetch, start, checkpoint.size):
            leaf = decode_leaf(data)
            covered = max(covered, leaf.time)
            if isinstance(leaf, CardLeaf):
                cards += leaf.cose_sha256
    files[CARDS] = bytes(cards)
    files[STATE] = json.dumps({"size": max(start, checkpoint.size), "covered_until": covered}).encode()
