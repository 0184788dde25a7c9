"""The verifier's log client: a newer checkpoint must extend the held one; a fork has its own reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from keys.errors import LogError, LogForkError, Reason
from keys.tlog import merkle
from keys.tlog.checkpoint import Checkpoint
from keys.tlog.note import NoteSigner
from keys.tlog.tiles import encode_bundle
from registry import tlog_store
from registry.store import open_store, write_transaction
from verifier.logclient import open_log_checkpoint, prove_inclusion, read_entries, update_checkpoint

ORIGIN = "log.permits.example/office-1"


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


class Log:
    """A register's log published into its own directory, to be grown, forked and served."""

    def __init__(self, root: Path, signer: NoteSigner, entries: list[bytes]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.dir = root / "out"
        self.signer = signer
        self.db = open_store(root / "register.db")
        tlog_store.ensure_schema(self.db)
        self.add(entries)

    def add(self, entries: list[bytes]) -> bytes:
        with write_transaction(self.db):
            for entry in entries:
                tlog_store.append_leaf(self.db, entry)
        tlog_store.write_published_log(self.db, self.dir, self.signer, ORIGIN)
        return self.checkpoint

    @property
    def checkpoint(self) -> bytes:
        return (self.dir / "log/checkpoint").read_bytes()

    def fetch(self, path: str) -> bytes:
        return (self.dir / "log" / path).read_bytes()


def _acts(start: int, stop: int, tag: bytes = b"act") -> list[bytes]:
    return [tag + b" %d" % i for i in range(start, stop)]


def test_first_checkpoint_is_kept_after_its_tiles_check(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 300))
    kept = update_checkpoint(None, log.checkpoint, signer.verifier.vkey, log.fetch)
    assert (kept.origin, kept.size) == (ORIGIN, 300)


def test_grown_log_is_accepted(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 37))
    held = log.checkpoint
    log.add(_acts(37, 600))
    assert update_checkpoint(held, log.checkpoint, signer.verifier, log.fetch).size == 600
    assert update_checkpoint(log.checkpoint, log.checkpoint, signer.verifier, log.fetch).size == 600


def test_forked_log_same_size_different_tree_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    honest = Log(tmp_path / "a", signer, _acts(0, 50))
    forked = Log(tmp_path / "b", signer, [*_acts(0, 20), b"rewritten act", *_acts(21, 50)])
    with pytest.raises(LogForkError) as caught:
        update_checkpoint(honest.checkpoint, forked.checkpoint, signer.verifier, forked.fetch)
    assert caught.value.reason == Reason.LOG_INCONSISTENT


def test_forked_log_that_grew_from_a_rewritten_history_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    honest = Log(tmp_path / "a", signer, _acts(0, 50))
    forked = Log(tmp_path / "b", signer, [*_acts(0, 5), b"an act slipped in", *_acts(5, 300)])
    with pytest.raises(LogForkError):
        update_checkpoint(honest.checkpoint, forked.checkpoint, signer.verifier, forked.fetch)


def test_forked_log_smaller_tree_not_a_prefix_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    honest = Log(tmp_path / "a", signer, _acts(0, 400))
    forked = Log(tmp_path / "b", signer, [b"a deleted act replaced", *_acts(1, 130)])
    # Served by the honest log's own directory, the proof shows the smaller tree is not its prefix.
    with pytest.raises(LogForkError):
        update_checkpoint(honest.checkpoint, forked.checkpoint, signer.verifier, honest.fetch)
    # Served by a source that only has the forked tree, it cannot be shown a prefix: refused as well.
    with pytest.raises(LogError) as caught:
        update_checkpoint(honest.checkpoint, forked.checkpoint, signer.verifier, forked.fetch)
    assert caught.value.reason == Reason.LOG_INCONSISTENT


def test_stale_mirror_serving_an_older_prefix_keeps_the_newer_checkpoint(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 100))
    old = log.checkpoint
    newer = log.add(_acts(100, 200))
    assert update_checkpoint(newer, old, signer.verifier, log.fetch).size == 200


def test_checkpoint_signed_by_another_key_is_refused(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 10))
    attacker = NoteSigner.generate(ORIGIN)
    forged = Checkpoint(ORIGIN, 10, tlog_store.tree_head(log.db)[1]).sign([attacker])
    with pytest.raises(LogError) as caught:
        update_checkpoint(log.checkpoint, forged, signer.verifier, log.fetch)
    assert caught.value.reason == Reason.LOG_BAD_SIGNATURE


@pytest.mark.parametrize("bend", [lambda b: b[:-3], lambda b: b + b"extra line\n",
                                  lambda b: b.replace(b"\n", b"\r\n")])
def test_truncated_or_extended_checkpoint_note_is_refused(tmp_path: Path, signer: NoteSigner, bend) -> None:
    log = Log(tmp_path, signer, _acts(0, 10))
    with pytest.raises(LogError) as caught:
        update_checkpoint(None, bend(log.checkpoint), signer.verifier, log.fetch)
    assert caught.value.reason in (Reason.LOG_MALFORMED, Reason.LOG_BAD_SIGNATURE)


def test_bad_tiles_are_a_proof_failure_not_a_fork(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 10))
    held = log.checkpoint
    log.add(_acts(10, 700))
    tile = log.dir / "log/tile/0/000"  # holds the nodes the proof from size 10 is built from
    tile.write_bytes(bytes(8192))
    with pytest.raises(LogError) as caught:
        update_checkpoint(held, log.checkpoint, signer.verifier, log.fetch)
    assert caught.value.reason == Reason.LOG_PROOF_INVALID
    assert not isinstance(caught.value, LogForkError)


def test_inclusion_proof_from_tiles_verifies_and_a_wrong_leaf_does_not(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 1000))
    checkpoint = open_log_checkpoint(log.checkpoint, signer.verifier)
    for index in (0, 255, 256, 511, 999):
        proof = prove_inclusion(merkle.leaf_hash(b"act %d" % index), index, checkpoint, log.fetch)
        assert proof == tlog_store.inclusion_proof(log.db, index)
    with pytest.raises(LogError) as caught:
        prove_inclusion(merkle.leaf_hash(b"a permit never logged"), 5, checkpoint, log.fetch)
    assert caught.value.reason == Reason.LOG_PROOF_INVALID
    with pytest.raises(LogError, match="not yet in the log"):
        prove_inclusion(merkle.leaf_hash(b"act 1000"), 1000, checkpoint, log.fetch)


def test_client_with_an_old_checkpoint_reads_full_tiles_once_partials_are_gone(tmp_path: Path,
                                                                               signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 100))
    old = open_log_checkpoint(log.checkpoint, signer.verifier)
    log.add(_acts(100, 300))
    assert not (log.dir / "log/tile/0/000.p").exists()  # superseded by the full tile
    proof = prove_inclusion(merkle.leaf_hash(b"act 42"), 42, old, log.fetch)
    merkle.verify_inclusion(42, 100, merkle.leaf_hash(b"act 42"), proof, old.root)
    shutil.rmtree(log.dir / "log/tile/0")
    with pytest.raises(LogError, match="cannot read"):
        prove_inclusion(merkle.leaf_hash(b"act 42"), 42, old, log.fetch)


def test_monitor_reads_only_the_new_entries_each_proven(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 300))
    held = open_log_checkpoint(log.checkpoint, signer.verifier)
    log.add(_acts(300, 1100))
    new = open_log_checkpoint(log.checkpoint, signer.verifier)
    assert read_entries(new, log.fetch, held.size) == _acts(300, 1100)
    assert read_entries(new, log.fetch, 255, 257) == _acts(255, 257)
    with pytest.raises(LogError):
        read_entries(new, log.fetch, 1000, 1200)


def test_rewritten_bundle_with_a_matching_leaf_tile_is_still_refused(tmp_path: Path, signer: NoteSigner) -> None:
    log = Log(tmp_path, signer, _acts(0, 1100))
    checkpoint = open_log_checkpoint(log.checkpoint, signer.verifier)
    entries = _acts(0, 256)
    entries[9] = b"act rewritten"
    (log.dir / "log/tile/entries/000").write_bytes(encode_bundle(entries))
    (log.dir / "log/tile/0/000").write_bytes(b"".join(merkle.leaf_hash(e) for e in entries))
    with pytest.raises(LogError) as caught:
        read_entries(checkpoint, log.fetch, 0, 10)
    assert caught.value.reason == Reason.LOG_PROOF_INVALID
    partial = log.dir / "log/tile/entries/004.p/76"
    tail = _acts(1024, 1100)
    tail[0] = b"a late act rewritten"
    partial.write_bytes(encode_bundle(tail))
    (log.dir / "log/tile/0/004.p/76").write_bytes(b"".join(merkle.leaf_hash(e) for e in tail))
    with pytest.raises(LogError, match="root"):
        read_entries(checkpoint, log.fetch, 1050)
