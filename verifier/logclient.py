"""The verifier's side of the transparency log: keep the newest checkpoint, refuse a fork, prove inclusion.

A verifier pins the log's key (`key.vkey`) and keeps the last checkpoint it accepted. `update_checkpoint`
takes a newly fetched checkpoint and a `fetch(path) -> bytes` for the log's tiles (paths relative to the
log directory, e.g. `tile/0/000`): the note must be signed by the pinned key, and the new tree must
contain the held one (RFC 9162 consistency proof computed from the new tree's tiles). A log that shows
this verifier a tree its earlier checkpoint is not part of raises `LogForkError` (reason
LOG_INCONSISTENT); a bad signature, a malformed note and unusable tiles have their own reasons.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from keys.errors import LogError, LogForkError, Reason
from keys.tlog import merkle
from keys.tlog.checkpoint import Checkpoint, open_checkpoint
from keys.tlog.note import NoteVerifier
from keys.tlog.tiles import Fetch, TileClient


def log_verifier(vkey: str | NoteVerifier) -> NoteVerifier:
    return vkey if isinstance(vkey, NoteVerifier) else NoteVerifier.from_vkey(vkey)


def open_log_checkpoint(data: bytes, vkey: str | NoteVerifier) -> Checkpoint:
    """A checkpoint signed by the pinned log key, for the log the key is named after."""
    return open_checkpoint(data, log_verifier(vkey))


def update_checkpoint(previous: bytes | None, fetched: bytes, vkey: str | NoteVerifier, fetch: Fetch) -> Checkpoint:
    """The checkpoint to keep after seeing `fetched`: the new one if it extends `previous` (or there is
    none), the held one if `fetched` is an older tree that is provably its prefix. Raises LogForkError
    when the two cannot both be true, LogError otherwise (signature, format, tiles)."""
    verifier = log_verifier(vkey)
    new = open_checkpoint(fetched, verifier)
    if previous is None:
        TileClient(fetch, new).verify_root()
        return new
    old = open_checkpoint(previous, verifier)
    if new.size == old.size:
        if new.root != old.root:
            raise_fork(old, new)
        return new
    if new.size > old.size:
        if old.size == 0:
            TileClient(fetch, new).verify_root()
            return new
        proof = TileClient(fetch, new).consistency_proof(old.size)
        merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
        return new
    # An older tree than the one held: keep the held one if the source can show the older is its prefix.
    if new.size == 0:
        return old
    try:
        proof = TileClient(fetch, old).consistency_proof(new.size)
    except LogError:
        raise LogError(f"the log shows tree size {new.size}, older than the {old.size} this verifier holds, "
                       "and not the tiles to show it is a prefix of it", Reason.LOG_INCONSISTENT) from None
    merkle.verify_consistency(new.size, old.size, proof, new.root, old.root)
    return old


def raise_fork(old: Checkpoint, new: Checkpoint) -> None:
    raise LogForkError(f"the log {new.origin} signed two different trees of size {new.size}: it has forked "
                       "(keep both checkpoints as evidence)")


def prove_inclusion(leaf_hash: bytes, index: int, checkpoint: Checkpoint, fetch: Fetch) -> list[bytes]:
    """The inclusion proof of leaf `index` (hash `leaf_hash`) under `checkpoint`, computed from the log's
    tiles and verified against the checkpoint's root (LogError LOG_PROOF_INVALID if it does not hold)."""
    if index >= checkpoint.size:
        raise LogError(f"leaf {index} is not yet in the log (tree size {checkpoint.size})", Reason.LOG_PROOF_INVALID)
    proof = TileClient(fetch, checkpoint).inclusion_proof(index)
    merkle.verify_inclusion(index, checkpoint.size, leaf_hash, proof, checkpoint.root)
    return proof


def read_entries(checkpoint: Checkpoint, fetch: Fetch, start: int = 0, end: int | None = None) -> list[bytes]:
    """The log's entries [start, end) under a checkpoint already accepted, each proven part of its tree
    (LogError LOG_PROOF_INVALID otherwise): a monitor or an index of logged cards reads only what is new."""
    return TileClient(fetch, checkpoint).entries(start, end)


MAX_LOG_FILE = 1 << 20


def log_fetch(source: str | Path) -> Callable[[str], bytes]:
    """`fetch(path)` for the log under SOURCE (a publication directory or URL holding log/, or log/ itself)."""
    source = str(source)
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        base = source.rstrip("/") + ("/" if source.rstrip("/").endswith("/log") else "/log/")

        def fetch_url(path: str) -> bytes:
            with urllib.request.urlopen(base + path, timeout=15) as response:
                data = response.read(MAX_LOG_FILE + 1)
            if len(data) > MAX_LOG_FILE:
                raise LogError(f"{base + path} is larger than a log file can be", Reason.LOG_MALFORMED)
            return data

        return fetch_url
    root = Path(source)
    if (root / "log" / "checkpoint").exists():
        root = root / "log"
    root = root.resolve()

    def fetch_file(path: str) -> bytes:
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise LogError(f"refusing the log path {path!r}", Reason.LOG_MALFORMED)
        return target.read_bytes()

    return fetch_file
