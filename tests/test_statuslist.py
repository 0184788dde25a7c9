"""The status-list codec against the IETF draft's own test vectors, and against hostile input."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.publish import pack_entries
from verifier.statuslist import StatusListError, decode_status_list

VECTORS = json.loads((Path(__file__).parent / "data" / "status_list_vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decoder_reads_the_drafts_vectors(vector: dict) -> None:
    decoded = decode_status_list(cbor2.loads(bytes.fromhex(vector["cbor"])))
    assert decoded.bits == vector["bits"]
    expected = {int(i): v for i, v in vector["status"].items()}
    for idx, value in expected.items():
        assert decoded.get(idx) == value, idx
    probe = [i for i in range(0, decoded.size, max(1, decoded.size // 5000)) if i not in expected]
    assert all(decoded.get(i) == 0 for i in probe)


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["bits"] == 2], ids=lambda v: v["name"])
def test_encoder_reproduces_the_drafts_bytes(vector: dict) -> None:
    draft = cbor2.loads(bytes.fromhex(vector["cbor"]))
    size = decode_status_list(draft).size
    raw = pack_entries(size, [(int(i), v) for i, v in vector["status"].items()])
    assert zlib.compress(bytes(raw), 9) == draft["lst"]


@given(st.dictionaries(st.integers(0, 4095), st.integers(1, 3), max_size=40))
def test_round_trip(entries: dict[int, int]) -> None:
    lst = zlib.compress(bytes(pack_entries(4096, list(entries.items()))), 9)
    decoded = decode_status_list({"bits": 2, "lst": lst})
    assert {i: decoded.get(i) for i in range(4096) if decoded.get(i)} == entries


def test_zlib_bomb_is_refused_quickly() -> None:
    compressor = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(1024)) + compressor.flush()  # 1 GiB of zeros
    assert len(bomb) < 2 << 20
    with pytest.raises(StatusListError, match="more than"):
        decode_status_list({"bits": 2, "lst": bomb})


@pytest.mark.parametrize("obj", [
    None, [], {"bits": 3, "lst": b"x"}, {"bits": True, "lst": b"x"}, {"bits": 2, "lst": "text"},
    {"bits": 2, "lst": b"not zlib"}, {"bits": 2, "lst": zlib.compress(b"\x00" * 100)[:-3]},
    {"bits": 2, "lst": zlib.compress(b"")}, {"bits": 2},
])
def test_malformed_lists(obj: object) -> None:
    with pytest.raises(StatusListError):
        decode_status_list(obj)


def test_index_outside_the_list() -> None:
    decoded = decode_status_list({"bits": 2, "lst": zlib.compress(bytes(16))})
    assert decoded.size == 64
    for idx in (-1, 64, 10**12):
        with pytest.raises(StatusListError):
            decoded.get(idx)
