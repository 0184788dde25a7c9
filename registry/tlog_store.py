"""The transparency log inside the register's SQLite database, and its publication as C2SP static files.

Tables (created by `ensure_schema`, called by the store's migrations):
- `tlog_leaves (idx, data, hash)`: the leaves in log order; `hash` is RFC 6962's leaf hash of `data`.
- `tlog_nodes (id, hash)`: the hash of every complete perfect subtree above the leaves, `id = level << 48 |
  index`. An append stores the leaf and the nodes it completes (amortised O(1), at most log2 n), so tree
  heads and proofs for any past size need O(log n) reads and no rehashing.

The tables are not the evidence: they can be rewritten like any row. The evidence is the signed checkpoint
and the tiles once published, which is why `verify_against` compares the register with a published copy.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from keys.errors import LogError, LogForkError, Reason
from keys.tlog import merkle, tiles
from keys.tlog.checkpoint import Checkpoint, open_checkpoint
from keys.tlog.note import NoteSigner, NoteVerifier
from keys.tlog.tiles import TILE_HEIGHT, TILE_WIDTH, Fetch, Tile, TileClient

_LEVEL_SHIFT = 48
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS tlog_leaves (
        idx INTEGER PRIMARY KEY CHECK (idx >= 0),
        data BLOB NOT NULL CHECK (length(data) <= 65535),
        hash BLOB NOT NULL CHECK (length(hash) = 32)
    )""",
    """CREATE TABLE IF NOT EXISTS tlog_nodes (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL CHECK (length(hash) = 32)
    )""",
]


def _conn(db: object) -> sqlite3.Connection:
    """The sqlite3 connection of a sqlite-utils Database, or the connection itself."""
    conn = getattr(db, "conn", db)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError("expected a sqlite_utils.Database or a sqlite3.Connection")
    return conn


def ensure_schema(db: object) -> None:
    conn = _conn(db)
    for statement in SCHEMA:
        conn.execute(statement)


def _node_id(level: int, index: int) -> int:
    return level << _LEVEL_SHIFT | index


def tree_size(db: object) -> int:
    row = _conn(db).execute("SELECT max(idx) FROM tlog_leaves").fetchone()
    return 0 if row[0] is None else row[0] + 1


def append_leaf(db: object, data: bytes) -> int:
    """Append one leaf inside the caller's open write transaction; returns its index. The leaf and the
    register row it records commit or roll back together, so they stay in the same order."""
    conn = _conn(db)
    if not conn.in_transaction:
        raise LogError("append_leaf must run inside the caller's write transaction", Reason.LOG_MALFORMED)
    data = bytes(data)
    if len(data) > 0xFFFF:
        raise LogError(f"a leaf of {len(data)} bytes exceeds the 65,535 an entry bundle holds", Reason.LOG_MALFORMED)
    index = tree_size(conn)
    h = merkle.leaf_hash(data)
    conn.execute("INSERT INTO tlog_leaves (idx, data, hash) VALUES (?, ?, ?)", (index, data, h))
    level, i = 0, index
    while i & 1:
        h = merkle.node_hash(node(conn, level, i - 1), h)
        level, i = level + 1, i >> 1
        conn.execute("INSERT INTO tlog_nodes (id, hash) VALUES (?, ?)", (_node_id(level, i), h))
    return index


def node(db: object, level: int, index: int) -> bytes:
    """The stored hash of the perfect subtree (level, index); LogError if the register lacks it."""
    conn = _conn(db)
    if level == 0:
        row = conn.execute("SELECT hash FROM tlog_leaves WHERE idx = ?", (index,)).fetchone()
    else:
        row = conn.execute("SELECT hash FROM tlog_nodes WHERE id = ?", (_node_id(level, index),)).fetchone()
    if row is None:
        raise LogError(f"the register's log lacks node ({level}, {index})", Reason.LOG_PROOF_INVALID)
    return bytes(row[0])


def _source(db: object) -> merkle.NodeSource:
    conn = _conn(db)
    return lambda level, index: node(conn, level, index)


def _size(db: object, size: int | None) -> int:
    current = tree_size(db)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise LogError(f"the log has {current} leaves, not {size}", Reason.LOG_PROOF_INVALID)
    return size


def tree_head(db: object, size: int | None = None) -> tuple[int, bytes]:
    """(size, root hash) of the whole log, or of its first `size` leaves."""
    size = _size(db, size)
    return size, merkle.tree_hash(size, _source(db))


def leaf(db: object, index: int) -> bytes:
    row = _conn(db).execute("SELECT data FROM tlog_leaves WHERE idx = ?", (index,)).fetchone()
    if row is None:
        raise LogError(f"the log has no leaf {index}", Reason.LOG_PROOF_INVALID)
    return bytes(row[0])


def inclusion_proof(db: object, index: int, size: int | None = None) -> list[bytes]:
    return merkle.inclusion_proof(index, _size(db, size), _source(db))


def consistency_proof(db: object, old_size: int, new_size: int | None = None) -> list[bytes]:
    return merkle.consistency_proof(old_size, _size(db, new_size), _source(db))


def _tile_hashes(conn: sqlite3.Connection, tile: Tile) -> bytes:
    first = tile.index * TILE_WIDTH
    if tile.level == 0:
        rows = conn.execute("SELECT hash FROM tlog_leaves WHERE idx BETWEEN ? AND ? ORDER BY idx",
                            (first, first + tile.width - 1)).fetchall()
    else:
        level = tile.level * TILE_HEIGHT
        rows = conn.execute("SELECT hash FROM tlog_nodes WHERE id BETWEEN ? AND ? ORDER BY id",
                            (_node_id(level, first), _node_id(level, first + tile.width - 1))).fetchall()
    if len(rows) != tile.width:
        raise LogError(f"the register's log lacks hashes of {tile.path}", Reason.LOG_PROOF_INVALID)
    return b"".join(bytes(r[0]) for r in rows)


def _bundle(conn: sqlite3.Connection, tile: Tile) -> list[bytes]:
    first = tile.index * TILE_WIDTH
    rows = conn.execute("SELECT data FROM tlog_leaves WHERE idx BETWEEN ? AND ? ORDER BY idx",
                        (first, first + tile.width - 1)).fetchall()
    if len(rows) != tile.width:
        raise LogError(f"the register's log lacks entries of {tile.entries_path}", Reason.LOG_PROOF_INVALID)
    return [bytes(r[0]) for r in rows]


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction (a WAL snapshot) unless the caller already holds one."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _published_size(logdir: Path, signer: NoteSigner, conn: sqlite3.Connection, size: int) -> int:
    """The size of the checkpoint already in `logdir` (0 if none or not ours), after proving the register
    extends it: signing a checkpoint inconsistent with one already published would fork the log."""
    try:
        data = (logdir / "checkpoint").read_bytes()
    except FileNotFoundError:
        return 0
    try:
        old = open_checkpoint(data, signer.verifier)
    except LogError:
        return 0  # another log's files, or damaged ones: everything is rewritten
    if old.size > size or merkle.tree_hash(old.size, _source(conn)) != old.root:
        raise LogForkError(f"the register's log (size {size}) does not extend the checkpoint already published "
                           f"in {logdir} (size {old.size}); publishing would fork the log. Restore the acts "
                           "missing from the register first (see `registry log verify --against`)")
    return old.size


def write_published_log(db: object, outdir: Path, signer_key: str | NoteSigner, origin: str) -> Checkpoint:
    """Write OUTDIR/log/{checkpoint, key.vkey, tile/...}: the tiles and entry bundles that changed since the
    checkpoint already there (all of them if none), then the signed checkpoint last, each file atomically."""
    conn = _conn(db)
    signer = signer_key if isinstance(signer_key, NoteSigner) else NoteSigner.from_skey(signer_key)
    if signer.name != origin:
        raise LogError(f"the log key is named {signer.name!r}, not the origin {origin!r}", Reason.LOG_MALFORMED)
    logdir = Path(outdir) / "log"
    with _snapshot(conn):
        size, root = tree_head(conn)
        old_size = _published_size(logdir, signer, conn, size)
        superseded = tiles.write_tiles(logdir, old_size, size, lambda tile: _tile_hashes(conn, tile),
                                       lambda tile: _bundle(conn, tile))
    checkpoint = Checkpoint(origin, size, root)
    tiles.write_atomic(logdir / "key.vkey", (signer.verifier.vkey + "\n").encode())
    tiles.write_atomic(logdir / "checkpoint", checkpoint.sign([signer]))
    for path in superseded:  # only once no checkpoint published here needs them any more
        shutil.rmtree(path, ignore_errors=True)
    return checkpoint


@dataclass(frozen=True)
class LogComparison:
    """How the register's leaves differ from a published log. Indexes are positions in the published log
    except `extra` and `unpublished`, which are positions in the register."""

    published_size: int
    register_size: int
    missing: tuple[int, ...] = ()  # published acts the register no longer has
    altered: tuple[int, ...] = ()  # published acts the register holds with different bytes
    out_of_order: tuple[int, ...] = ()  # published acts the register holds in another order
    extra: tuple[int, ...] = ()  # register leaves inside the published range that the log never had
    unpublished: tuple[int, ...] = ()  # register leaves after the published checkpoint (not yet published)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.out_of_order or self.extra)

    def problems(self) -> list[str]:
        return ([f"leaf {i}: missing from the register" for i in self.missing]
                + [f"leaf {i}: altered in the register" for i in self.altered]
                + [f"leaf {i}: out of order in the register" for i in self.out_of_order]
                + [f"register position {i}: an act the published log does not have" for i in self.extra])


def register_leaves(db: object) -> dict[int, bytes]:
    """Every leaf row of the register, by its index (gaps left by deleted rows stay gaps)."""
    return {idx: bytes(data) for idx, data in _conn(db).execute("SELECT idx, data FROM tlog_leaves ORDER BY idx")}


def compare_leaves(published: list[bytes], register: dict[int, bytes]) -> LogComparison:
    """Match each register leaf to a published one by its bytes, then name every difference by index."""
    where: dict[bytes, list[int]] = {}
    for index in reversed(range(len(published))):
        where.setdefault(published[index], []).append(index)
    matched: list[tuple[int, int]] = []  # (register position, published index), in register order
    unmatched: list[int] = []
    for position in sorted(register):
        candidates = where.get(register[position])
        if candidates:
            matched.append((position, candidates.pop()))
        else:
            unmatched.append(position)
    seen = {index for _position, index in matched}
    altered = [p for p in unmatched if p < len(published) and p not in seen]
    altered_set = set(altered)
    missing = [i for i in range(len(published)) if i not in seen and i not in altered_set]
    disorder: set[int] = set()
    for (_p1, a), (_p2, b) in itertools.pairwise(matched):
        if a > b:
            disorder.update((a, b))
    return LogComparison(
        published_size=len(published), register_size=len(register), missing=tuple(missing),
        altered=tuple(altered), out_of_order=tuple(sorted(disorder)),
        extra=tuple(p for p in unmatched if p < len(published) and p not in altered_set),
        unpublished=tuple(p for p in unmatched if p >= len(published)))


def verify_against(db: object, fetch: Fetch, verifier: NoteVerifier | str,
                   leaves: Mapping[int, bytes] | Sequence[bytes] | None = None) -> LogComparison:
    """Compare the register with a published log read through `fetch(path)` (paths relative to the log
    directory: `checkpoint`, `tile/...`). The checkpoint must be signed by the log key `verifier` and its
    entries must hash to its root before anything is compared. `leaves` replaces the register's leaf
    table, e.g. leaves re-encoded from the register's event rows (a list, or a mapping by log index)."""
    key = verifier if isinstance(verifier, NoteVerifier) else NoteVerifier.from_vkey(verifier)
    try:
        raw = fetch("checkpoint")
    except Exception as exc:
        raise LogError(f"cannot read the published checkpoint: {exc}", Reason.LOG_MALFORMED) from None
    checkpoint = open_checkpoint(raw, key)
    published = TileClient(fetch, checkpoint).all_entries()
    if leaves is None:
        register = register_leaves(db)
    elif isinstance(leaves, Mapping):
        register = {int(i): bytes(data) for i, data in leaves.items()}
    else:
        register = {i: bytes(data) for i, data in enumerate(leaves)}
    return compare_leaves(published, register)
