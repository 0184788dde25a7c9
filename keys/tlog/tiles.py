"""C2SP tiled logs (c2sp.org/tlog-tiles): tile paths, which tiles a tree has, entry bundles, and a client
that computes proofs and reads entries from tiles fetched through `fetch(path) -> bytes`.

A tile at level L, index N holds up to 256 consecutive hashes of Merkle level 8*L (level 0: leaf hashes);
a full tile is 8,192 bytes, the right edge of the tree has partial tiles `.p/<W>`. An entry bundle holds the
leaves of one level-0 tile, each prefixed by its length as a big-endian uint16.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keys.errors import LogError, Reason
from keys.tlog import merkle
from keys.tlog.checkpoint import Checkpoint

TILE_WIDTH = 256
TILE_HEIGHT = 8
MAX_ENTRY_BYTES = 0xFFFF

Fetch = Callable[[str], bytes]


@dataclass(frozen=True, order=True)
class Tile:
    level: int  # tile level (the hashes are of Merkle level 8 * level)
    index: int
    width: int  # 1..256; 256 is a full tile

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)

    @property
    def entries_path(self) -> str:
        return entries_path(self.index, self.width)


def _index_path(n: int) -> str:
    if n < 0:
        raise LogError(f"negative tile index {n}", Reason.LOG_MALFORMED)
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def _width_suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise LogError(f"tile width {width} is not between 1 and 256", Reason.LOG_MALFORMED)
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`, N in 3-digit path elements, all but the last prefixed with `x`."""
    if not 0 <= level <= 63:
        raise LogError(f"tile level {level} is not between 0 and 63", Reason.LOG_MALFORMED)
    return f"tile/{level}/{_index_path(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    return f"tile/entries/{_index_path(index)}{_width_suffix(width)}"


def hashes_at(size: int, level: int) -> int:
    """How many complete hashes of tile level `level` a tree of `size` leaves has."""
    return size >> (TILE_HEIGHT * level)


def tile_for(size: int, level: int, index: int) -> Tile:
    """The tile (full, or partial at the right edge) at (level, index) in a tree of `size` leaves."""
    count = hashes_at(size, level)
    width = min(TILE_WIDTH, count - index * TILE_WIDTH)
    if width <= 0:
        raise LogError(f"a tree of size {size} has no tile {index} at level {level}", Reason.LOG_PROOF_INVALID)
    return Tile(level, index, width)


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every tile of a tree of `size` leaves: the full ones and the partial right edge of each level."""
    level = 0
    while (count := hashes_at(size, level)) > 0:
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            yield tile_for(size, level, index)
        level += 1


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """The tiles of `new_size` whose content differs from the tree of `old_size` (new or grown)."""
    level = 0
    while (count := hashes_at(new_size, level)) > 0:
        old_count = hashes_at(old_size, level)
        for index in range(old_count // TILE_WIDTH, (count + TILE_WIDTH - 1) // TILE_WIDTH):
            tile = tile_for(new_size, level, index)
            old_width = min(TILE_WIDTH, old_count - index * TILE_WIDTH)
            if tile.width != old_width:
                yield tile
        level += 1


def encode_bundle(entries: list[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise LogError(f"a log entry of {len(entry)} bytes exceeds 65,535", Reason.LOG_MALFORMED)
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def decode_bundle(data: bytes, count: int) -> list[bytes]:
    """Exactly `count` length-prefixed entries and nothing after them."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise LogError("an entry bundle ends inside a length prefix", Reason.LOG_MALFORMED)
        (length,) = struct.unpack_from(">H", data, pos)
        end = pos + 2 + length
        if end > len(data):
            raise LogError("an entry bundle ends inside an entry", Reason.LOG_MALFORMED)
        entries.append(data[pos + 2:end])
        pos = end
    if len(entries) != count:
        raise LogError(f"an entry bundle holds {len(entries)} entries, expected {count}", Reason.LOG_MALFORMED)
    return entries


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file in the same directory and a rename (readers see the
    old file or the new one, never a part); False, and nothing written, if the file already holds `data`."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def write_tiles(logdir: Path, old_size: int, size: int, hashes: Callable[[Tile], bytes],
                entries: Callable[[Tile], list[bytes]]) -> list[Path]:
    """Write under `logdir` the tiles and entry bundles of a tree of `size` leaves: those that differ from
    the tree of `old_size` already published there, and any other whose file is missing. Only full tiles
    and the partial right edge are written. Returns the partial-tile directories that full tiles now
    supersede: remove them once a checkpoint of `size` is in place (older checkpoints still need them)."""
    changed = set(new_tiles(old_size, size))
    superseded: list[Path] = []
    for tile in tiles_for_size(size):
        bundle = tile.level == 0
        if tile in changed or not (logdir / tile.path).is_file() or (bundle and not
                                                                      (logdir / tile.entries_path).is_file()):
            data = hashes(tile)
            if len(data) != tile.width * merkle.HASH_SIZE:
                raise LogError(f"{tile.path} would hold {len(data)} bytes, not {tile.width * 32}",
                               Reason.LOG_PROOF_INVALID)
            write_atomic(logdir / tile.path, data)
            if bundle:
                write_atomic(logdir / tile.entries_path, encode_bundle(entries(tile)))
        if tile in changed and tile.width == TILE_WIDTH:
            superseded.append(logdir / f"{tile.path}.p")
            if bundle:
                superseded.append(logdir / f"{tile.entries_path}.p")
    return superseded


class TileClient:
    """Reads a tiled log of a known (signature-checked) checkpoint. Every hash taken from a tile is used
    only through proofs checked against the checkpoint's root, so a bad tile fails a check, never lies."""

    def __init__(self, fetch: Fetch, checkpoint: Checkpoint) -> None:
        self._fetch = fetch
        self.checkpoint = checkpoint
        self.size = checkpoint.size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self._trusted: set[tuple[int, int]] = set()
        self._root_checked = False

    def _read(self, path: str) -> bytes:
        try:
            return self._fetch(path)
        except LogError:
            raise
        except Exception as exc:  # the fetch function is the caller's I/O: name what failed
            raise LogError(f"cannot read {path} of the log: {exc}", Reason.LOG_MALFORMED) from None

    def _read_tile(self, tile: Tile, entries: bool = False) -> bytes:
        """A tile (or its entry bundle). A partial one that is gone is read as the prefix of the full one:
        tlog-tiles lets a log delete partial tiles once the full tile exists."""
        try:
            return self._read(tile.entries_path if entries else tile.path)
        except LogError:
            if tile.width == TILE_WIDTH:
                raise
            full_tile = Tile(tile.level, tile.index, TILE_WIDTH)
            full = self._read(full_tile.entries_path if entries else full_tile.path)
        if entries:
            return encode_bundle(decode_bundle(full, TILE_WIDTH)[: tile.width])
        if len(full) != TILE_WIDTH * merkle.HASH_SIZE:
            raise LogError(f"{full_tile.path} is not a full tile", Reason.LOG_MALFORMED)
        return full[: tile.width * merkle.HASH_SIZE]

    def tile_hashes(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            tile = tile_for(self.size, level, index)
            data = self._read_tile(tile)
            if len(data) != tile.width * merkle.HASH_SIZE:
                raise LogError(f"{tile.path} has {len(data)} bytes, expected {tile.width * 32}",
                               Reason.LOG_MALFORMED)
            self._tiles[key] = [data[i:i + 32] for i in range(0, len(data), 32)]
        return self._tiles[key]

    def node(self, level: int, index: int) -> bytes:
        """The hash of a complete perfect subtree, from the tile holding its level (folding inside a tile)."""
        tile_level, below = divmod(level, TILE_HEIGHT)
        first = index << below
        count = 1 << below
        tile_index, offset = divmod(first, TILE_WIDTH)
        hashes = self.tile_hashes(tile_level, tile_index)[offset:offset + count]
        if len(hashes) != count:
            raise LogError(f"node ({level}, {index}) is beyond the tree of size {self.size}",
                           Reason.LOG_PROOF_INVALID)
        return merkle.root_of(hashes)

    def verify_root(self) -> None:
        """The tiles of the right edge hash to the checkpoint's root (every partial tile is used whole)."""
        if not self._root_checked:
            if merkle.tree_hash(self.size, self.node) != self.checkpoint.root:
                raise LogError("the log's tiles do not hash to its checkpoint's root", Reason.LOG_PROOF_INVALID)
            self._root_checked = True

    def authenticate_tile(self, level: int, index: int) -> None:
        """Prove a tile part of the checkpoint's tree: a full tile hashes to its entry in the tile above, up
        to a partial tile of the right edge, which the root covers."""
        chain: list[tuple[int, int]] = []
        while (level, index) not in self._trusted:
            chain.append((level, index))
            if tile_for(self.size, level, index).width < TILE_WIDTH:
                self.verify_root()
                break
            parent = self.tile_hashes(level + 1, index // TILE_WIDTH)[index % TILE_WIDTH]
            if merkle.root_of(self.tile_hashes(level, index)) != parent:
                raise LogError(f"{tile_path(level, index)} does not hash to its entry in the tile above",
                               Reason.LOG_PROOF_INVALID)
            level, index = level + 1, index // TILE_WIDTH
        self._trusted.update(chain)

    def inclusion_proof(self, index: int) -> list[bytes]:
        return merkle.inclusion_proof(index, self.size, self.node)

    def consistency_proof(self, old_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, self.size, self.node)

    def bundle(self, index: int) -> list[bytes]:
        """The entries of bundle `index`, each checked against its level-0 tile hash."""
        tile = tile_for(self.size, 0, index)
        entries = decode_bundle(self._read_tile(tile, entries=True), tile.width)
        for offset, (entry, h) in enumerate(zip(entries, self.tile_hashes(0, index), strict=True)):
            if merkle.leaf_hash(entry) != h:
                position = index * TILE_WIDTH + offset
                raise LogError(f"entry {position} does not hash to its tile's leaf hash", Reason.LOG_PROOF_INVALID)
        return entries

    def entry(self, index: int) -> bytes:
        """One entry, proven included under the checkpoint's root."""
        data = self.bundle(index // TILE_WIDTH)[index % TILE_WIDTH]
        merkle.verify_inclusion(index, self.size, merkle.leaf_hash(data), self.inclusion_proof(index),
                                self.checkpoint.root)
        return data

    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """The entries [start, end) of the tree (all by default), each bundle checked against its level-0
        tile and each tile proven part of the checkpoint's tree: what a monitor reads after each sync."""
        end = self.size if end is None else end
        if not 0 <= start <= end <= self.size:
            raise LogError(f"entries [{start}, {end}) are not in a tree of size {self.size}", Reason.LOG_PROOF_INVALID)
        out: list[bytes] = []
        for index in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH):
            bundle = self.bundle(index)
            self.authenticate_tile(0, index)
            first = index * TILE_WIDTH
            out.extend(bundle[max(start - first, 0):end - first])
        return out

    def all_entries(self) -> list[bytes]:
        return self.entries()
