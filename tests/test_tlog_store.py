"""The log in the register's SQLite and its C2SP publication: appends, proofs, files, and tampering found."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from keys.errors import LogError, LogForkError, Reason
from keys.tlog import merkle, tiles
from keys.tlog.checkpoint import open_checkpoint
from keys.tlog.note import NoteSigner
from keys.tlog.tiles import TileClient, decode_bundle
from registry import tlog_store
from registry.store import StoreError, open_store, write_transaction

ORIGIN = "log.permits.example/office-1"


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


def _entry(i: int) -> bytes:
    return b"act %06d" % i


def _db(path: Path, n: int = 0):
    db = open_store(path / "register.db")
    tlog_store.ensure_schema(db)
    _append(db, range(n))
    return db


def _append(db, indexes) -> None:
    with write_transaction(db):
        for i in indexes:
            tlog_store.append_leaf(db, _entry(i))


def _fetch(outdir: Path):
    return lambda path: (outdir / "log" / path).read_bytes()


def test_tree_heads_and_proofs_match_an_independent_recomputation(tmp_path: Path) -> None:
    db = _db(tmp_path, 300)
    hashes = [merkle.leaf_hash(_entry(i)) for i in range(300)]
    for size in (1, 2, 7, 8, 255, 256, 257, 300):
        assert tlog_store.tree_head(db, size) == (size, merkle.root_of(hashes[:size]))
    root = merkle.root_of(hashes)
    for index in (0, 1, 128, 255, 299):
        merkle.verify_inclusion(index, 300, hashes[index], tlog_store.inclusion_proof(db, index), root)
    for old in (1, 3, 64, 256, 299):
        merkle.verify_consistency(old, 300, tlog_store.consistency_proof(db, old), merkle.root_of(hashes[:old]), root)


def test_append_stores_only_the_nodes_it_completes(tmp_path: Path) -> None:
    db = _db(tmp_path, 1000)
    nodes = db.conn.execute("SELECT count(*) FROM tlog_nodes").fetchone()[0]
    assert nodes == 1000 - bin(1000).count("1")  # one per complete interior node: O(1) amortised, O(log n) max


def test_append_outside_a_transaction_is_refused(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with pytest.raises(LogError, match="inside the caller's write transaction"):
        tlog_store.append_leaf(db, b"off the record")
    assert tlog_store.tree_size(db) == 0


def test_failed_act_leaves_no_leaf_behind(tmp_path: Path) -> None:
    db = _db(tmp_path, 5)
    before = tlog_store.tree_head(db)
    with pytest.raises(RuntimeError), write_transaction(db):
        tlog_store.append_leaf(db, b"an act that fails after its leaf")
        raise RuntimeError("the register write failed")
    assert tlog_store.tree_head(db) == before


def test_oversized_leaf_is_refused(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with pytest.raises(LogError), write_transaction(db):
        tlog_store.append_leaf(db, b"x" * 65536)


def test_published_layout_is_the_c2sp_tiles_for_the_tree(tmp_path: Path, signer: NoteSigner) -> None:
    db = _db(tmp_path, 2 * 256 + 5)
    checkpoint = tlog_store.write_published_log(db, tmp_path / "out", signer, ORIGIN)
    files = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == ["log/checkpoint", "log/key.vkey", "log/tile/0/000", "log/tile/0/001", "log/tile/0/002.p/5",
                     "log/tile/1/000.p/2", "log/tile/entries/000", "log/tile/entries/001",
                     "log/tile/entries/002.p/5"]
    log = tmp_path / "out" / "log"
    assert (log / "key.vkey").read_text() == signer.verifier.vkey + "\n"
    assert open_checkpoint((log / "checkpoint").read_bytes(), signer.verifier) == checkpoint
    assert len((log / "tile/0/001").read_bytes()) == 8192
    assert decode_bundle((log / "tile/entries/002.p/5").read_bytes(), 5) == [_entry(i) for i in range(512, 517)]
    assert (log / "tile/1/000.p/2").read_bytes() == tlog_store.node(db, 8, 0) + tlog_store.node(db, 8, 1)


def test_republishing_rewrites_only_the_tiles_that_changed(tmp_path: Path, signer: NoteSigner) -> None:
    db = _db(tmp_path, 300)
    out = tmp_path / "out"
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    first_tile = out / "log/tile/0/000"
    stamp = first_tile.stat().st_mtime_ns, first_tile.stat().st_ino
    _append(db, range(300, 600))
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    assert (first_tile.stat().st_mtime_ns, first_tile.stat().st_ino) == stamp  # full tiles are never rewritten
    assert (out / "log/tile/0/001").exists() and not (out / "log/tile/0/001.p").exists()
    assert (out / "log/tile/0/002.p/88").exists()
    assert not list(out.rglob("*.tmp"))
    assert tlog_store.verify_against(db, _fetch(out), signer.verifier).ok


def test_tile_deleted_from_the_published_copy_is_written_again(tmp_path: Path, signer: NoteSigner) -> None:
    db = _db(tmp_path, 600)
    out = tmp_path / "out"
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    (out / "log/tile/0/001").unlink()
    (out / "log/tile/entries/000").unlink()
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    assert tlog_store.verify_against(db, _fetch(out), signer.verifier).ok


def test_publishing_a_register_that_does_not_extend_the_published_log_is_refused(
        tmp_path: Path, signer: NoteSigner) -> None:
    db = _db(tmp_path, 40)
    out = tmp_path / "out"
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    published = (out / "log/checkpoint").read_bytes()
    restored = open_store(tmp_path / "restored.db")  # a register restored from an older backup
    tlog_store.ensure_schema(restored)
    _append(restored, range(30))
    with pytest.raises(LogForkError):
        tlog_store.write_published_log(restored, out, signer, ORIGIN)
    (tmp_path / "other").mkdir()
    rewritten = _db(tmp_path / "other")
    _append(rewritten, [0, 1, 2, 99, *range(4, 41)])
    with pytest.raises(LogForkError):
        tlog_store.write_published_log(rewritten, out, signer, ORIGIN)
    assert (out / "log/checkpoint").read_bytes() == published


def test_publish_interrupted_midway_keeps_the_old_checkpoint_valid(
        tmp_path: Path, signer: NoteSigner, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _db(tmp_path, 100)
    out = tmp_path / "out"
    tlog_store.write_published_log(db, out, signer, ORIGIN)
    old = (out / "log/checkpoint").read_bytes()
    _append(db, range(100, 700))
    real = tiles.write_atomic
    calls = []

    def failing(path: Path, data: bytes) -> bool:
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(tiles, "write_atomic", failing)
    with pytest.raises(OSError):
        tlog_store.write_published_log(db, out, signer, ORIGIN)
    monkeypatch.undo()
    assert (out / "log/checkpoint").read_bytes() == old
    client = TileClient(_fetch(out), open_checkpoint(old, signer.verifier))
    client.verify_root()
    assert client.all_entries() == [_entry(i) for i in range(100)]
    assert tlog_store.write_published_log(db, out, signer, ORIGIN).size == 700  # the next publish completes it


def test_origin_must_be_the_log_key_name(tmp_path: Path, signer: NoteSigner) -> None:
    with pytest.raises(LogError, match="origin"):
        tlog_store.write_published_log(_db(tmp_path, 1), tmp_path / "out", signer, "another.example/log")


@pytest.fixture
def published(tmp_path: Path, signer: NoteSigner):
    db = _db(tmp_path, 20)
    tlog_store.write_published_log(db, tmp_path / "out", signer, ORIGIN)
    return db, _fetch(tmp_path / "out")


def test_faithful_register_matches_its_published_log(published, signer: NoteSigner) -> None:
    db, fetch = published
    _append(db, [20, 21])
    result = tlog_store.verify_against(db, fetch, signer.verifier.vkey)
    assert result.ok and result.unpublished == (20, 21) and result.problems() == []


def test_rewritten_leaf_row_is_named_altered(published, signer: NoteSigner) -> None:
    db, fetch = published
    db.conn.execute("INSERT OR REPLACE INTO tlog_leaves (idx, data, hash) VALUES (7, ?, ?)",
                    (b"a different act", merkle.leaf_hash(b"a different act")))
    db.conn.commit()
    result = tlog_store.verify_against(db, fetch, signer.verifier)
    assert (result.altered, result.missing, result.out_of_order) == ((7,), (), ())
    assert result.problems() == ["leaf 7: altered in the register"]


def test_deleted_leaf_row_is_named_missing(published, signer: NoteSigner) -> None:
    db, fetch = published
    db.conn.execute("DELETE FROM tlog_leaves WHERE idx = 11")
    db.conn.commit()
    result = tlog_store.verify_against(db, fetch, signer.verifier)
    assert (result.missing, result.altered, result.out_of_order) == ((11,), (), ())


def test_swapped_leaf_rows_are_named_out_of_order(published, signer: NoteSigner) -> None:
    db, fetch = published
    db.conn.execute("UPDATE tlog_leaves SET data = CASE idx WHEN 4 THEN ? ELSE ? END WHERE idx IN (4, 5)",
                    (_entry(5), _entry(4)))
    db.conn.commit()
    result = tlog_store.verify_against(db, fetch, signer.verifier)
    assert (result.out_of_order, result.missing, result.altered) == ((4, 5), (), ())


def test_register_restored_from_an_older_backup_lists_exactly_the_later_acts(published, signer, tmp_path) -> None:
    _db_full, fetch = published
    (tmp_path / "restore").mkdir()
    restored = _db(tmp_path / "restore", 14)
    result = tlog_store.verify_against(restored, fetch, signer.verifier)
    assert result.missing == tuple(range(14, 20)) and not result.altered and not result.out_of_order


def test_event_rows_re_encoded_by_the_caller_are_compared_too(published, signer: NoteSigner) -> None:
    db, fetch = published
    from_events = {i: _entry(i) for i in range(20)}
    from_events[3] = b"an event row rewritten behind the log's back"
    assert tlog_store.verify_against(db, fetch, signer.verifier, leaves=from_events).altered == (3,)
    as_list = [_entry(i) for i in range(20) if i != 6]  # an event row deleted: the rest shift up
    result = tlog_store.verify_against(db, fetch, signer.verifier, leaves=as_list)
    assert (result.missing, result.altered, result.out_of_order) == ((6,), (), ())


def test_tampered_published_copy_is_refused_not_trusted(tmp_path: Path, published, signer: NoteSigner) -> None:
    db, _fetch_ok = published
    bundle = tmp_path / "out/log/tile/entries/000.p/20"
    bundle.write_bytes(bundle.read_bytes().replace(b"act 000003", b"act 999999"))
    with pytest.raises(LogError) as caught:
        tlog_store.verify_against(db, _fetch(tmp_path / "out"), signer.verifier)
    assert caught.value.reason == Reason.LOG_PROOF_INVALID


def test_published_copy_signed_by_another_key_is_refused(tmp_path: Path, published) -> None:
    db, fetch = published
    with pytest.raises(LogError) as caught:
        tlog_store.verify_against(db, fetch, NoteSigner.generate(ORIGIN).verifier)
    assert caught.value.reason == Reason.LOG_BAD_SIGNATURE


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/log/"
    finally:
        server.shutdown()
        server.server_close()


def test_verify_against_a_published_copy_over_http(tmp_path: Path, published, signer: NoteSigner) -> None:
    db, _fetch_file = published
    db.conn.execute("DELETE FROM tlog_leaves WHERE idx = 2")
    db.conn.commit()
    with _serve(tmp_path / "out") as base:
        def fetch(path: str) -> bytes:
            with urllib.request.urlopen(base + path, timeout=5) as response:
                return response.read()
        assert tlog_store.verify_against(db, fetch, signer.verifier).missing == (2,)


def test_unreadable_published_copy_is_a_clear_error(tmp_path: Path, published, signer: NoteSigner) -> None:
    db, _fetch_ok = published
    with pytest.raises(LogError, match="cannot read the published checkpoint"):
        tlog_store.verify_against(db, _fetch(tmp_path / "nowhere"), signer.verifier)


def test_store_errors_stay_store_errors(tmp_path: Path) -> None:
    db = _db(tmp_path, 1)
    with pytest.raises(StoreError), write_transaction(db):
        db.conn.execute("INSERT INTO tlog_leaves (idx, data, hash) VALUES (0, x'00', ?)", (bytes(32),))
