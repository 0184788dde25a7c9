"""Our published log, checked by code not written here: Go's golang.org/x/mod/sumdb/note and /tlog.

tests/go/verifylog opens the checkpoint with note.Open and the key in key.vkey, reads our tiles through
tlog.TileHashReader (which authenticates every tile against the tree), recomputes the root, proves the
record with tlog.ProveRecord and checks our inclusion and consistency proofs with CheckRecord/CheckTree.
It is built from Debian's golang-golang-x-mod-dev sources in GOPATH mode (no network).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from keys.tlog import merkle
from keys.tlog.checkpoint import Checkpoint
from keys.tlog.note import NoteSigner
from registry import tlog_store
from registry.store import open_store, write_transaction

GOPATH = os.environ.get("PERMIT_REGISTRY_GOPATH", "/usr/share/gocode")  # Debian's golang-*-dev layout
PROGRAM = Path(__file__).parent / "go" / "verifylog"
ORIGIN = "log.permits.example/office-1"


@pytest.fixture(scope="module")
def verifylog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed (Debian: golang-go golang-golang-x-mod-dev, see scripts/setup)")
    if not (Path(GOPATH) / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        pytest.skip(f"golang.org/x/mod sources are not under {GOPATH} (Debian: golang-golang-x-mod-dev)")
    out = tmp_path_factory.mktemp("go") / "verifylog"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOFLAGS": "", "GOPROXY": "off",
           "GOCACHE": str(out.parent / "cache")}
    built = subprocess.run(["go", "build", "-o", str(out), "."], cwd=PROGRAM, env=env, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _publish(tmp_path: Path, n: int, signer: NoteSigner):
    db = open_store(tmp_path / "register.db")
    tlog_store.ensure_schema(db)
    with write_transaction(db):
        for i in range(n):
            tlog_store.append_leaf(db, b"act %d" % i)
    tlog_store.write_published_log(db, tmp_path / "out", signer, ORIGIN)
    return db, tmp_path / "out" / "log"


def _request(db, index: int, old_size: int = 0, proof: list[bytes] | None = None) -> str:
    return json.dumps({
        "index": index, "leaf_hash": _b64(merkle.leaf_hash(tlog_store.leaf(db, index))),
        "proof": [_b64(h) for h in (proof if proof is not None else tlog_store.inclusion_proof(db, index))],
        "old_size": old_size,
        "old_root": _b64(tlog_store.tree_head(db, old_size)[1]) if old_size else "",
        "consistency": [_b64(h) for h in tlog_store.consistency_proof(db, old_size)] if old_size else [],
    })


def _run(verifylog: Path, logdir: Path, request: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(verifylog), str(logdir)], input=request, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("size", "index", "old_size"), [
    (1, 0, 0), (256, 255, 1), (257, 256, 256), (1000, 0, 1), (1000, 517, 513), (1000, 999, 999),
])
def test_go_x_mod_verifies_our_checkpoint_tiles_and_proofs(verifylog: Path, tmp_path: Path, size: int, index: int,
                                                           old_size: int) -> None:
    signer = NoteSigner.generate(ORIGIN)
    db, logdir = _publish(tmp_path, size, signer)
    result = _run(verifylog, logdir, _request(db, index, old_size))
    assert (result.returncode, result.stdout.strip()) == (0, "OK"), result.stdout + result.stderr


def test_go_x_mod_refuses_a_changed_inclusion_proof(verifylog: Path, tmp_path: Path) -> None:
    db, logdir = _publish(tmp_path, 300, NoteSigner.generate(ORIGIN))
    proof = tlog_store.inclusion_proof(db, 7)
    proof[2] = bytes([proof[2][0] ^ 1]) + proof[2][1:]
    result = _run(verifylog, logdir, _request(db, 7, proof=proof))
    assert result.returncode == 1 and "our inclusion proof" in result.stdout


def test_go_x_mod_refuses_a_checkpoint_signed_by_another_key(verifylog: Path, tmp_path: Path) -> None:
    db, logdir = _publish(tmp_path, 20, NoteSigner.generate(ORIGIN))
    size, root = tlog_store.tree_head(db)
    (logdir / "checkpoint").write_bytes(Checkpoint(ORIGIN, size, root).sign([NoteSigner.generate(ORIGIN)]))
    result = _run(verifylog, logdir, _request(db, 3))
    assert result.returncode == 1 and "checkpoint" in result.stdout


def test_go_x_mod_refuses_a_tampered_tile(verifylog: Path, tmp_path: Path) -> None:
    db, logdir = _publish(tmp_path, 600, NoteSigner.generate(ORIGIN))
    tile = logdir / "tile/0/001"
    data = bytearray(tile.read_bytes())
    data[100] ^= 1
    tile.write_bytes(bytes(data))
    result = _run(verifylog, logdir, _request(db, 300))
    assert result.returncode == 1 and ("tile" in result.stdout or "x/mod" in result.stdout), result.stdout
