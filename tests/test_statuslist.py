"""The status-list codec against the IETF draft's own test vectors, and against hostile input.

Vectors: draft-ietf-oauth-status-list-18, Appendix C (1-, 2-, 4- and 8-bit lists of 2^20 entries) and the
two small examples of section 4.1; see tests/data/status_list_vectors.json.
"""

from __future__ import annotations

import contextlib
import json
import random
import tracemalloc
import zlib
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.statuslist import DEFAULT_MAX_ENTRIES, StatusList, StatusListError, decode_status_list, pack_entries

DATA = json.loads((Path(__file__).parent / "data" / "status_list_vectors.json").read_text())
VECTORS = DATA["vectors"]
IDS = [v["name"] for v in VECTORS]
# Byte-for-byte reproduction of the draft's compressed bytes relies on classic zlib's level-9 deflate (what the
# draft's authors used, and what CPython links here). zlib-ng produces different, equally valid streams.
CLASSIC_ZLIB = "ng" not in zlib.ZLIB_RUNTIME_VERSION


def _nonzero(decoded: StatusList) -> dict[int, int]:
    """Every non-zero entry of the list, found by scanning bytes rather than calling get() per entry."""
    per_byte = 8 // decoded.bits
    found = {}
    for byte_no, byte in enumerate(decoded.data):
        if byte:
            for idx in range(byte_no * per_byte, (byte_no + 1) * per_byte):
                if value := decoded.get(idx):
                    found[idx] = value
    return found


def _zero_bomb(mib: int) -> bytes:
    """A valid zlib stream inflating to `mib` MiB of zeros, built in milliseconds: one 1 MiB chunk is compressed
    and ended with a full flush (byte-aligned, history reset), so every further chunk compresses to the same
    block, which is repeated; the trailer's Adler-32 of n zero bytes is (n mod 65521) << 16 | 1."""
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = compressor.flush()[:-4]  # the empty last block; its Adler-32 covers only 2 MiB, so replace it
    adler = (((mib << 20) % 65521) << 16) | 1
    return first + repeat * (mib - 1) + final_block + adler.to_bytes(4, "big")


# --- the draft's vectors -------------------------------------------------------------------------------------


def test_vector_file_names_its_source() -> None:
    assert "draft-ietf-oauth-status-list-18" in DATA["source"] and "Appendix C" in DATA["source"]
    assert sorted(v["bits"] for v in VECTORS if v["section"].startswith("Appendix C")) == [1, 2, 4, 8]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_decoder_reads_the_drafts_vectors(vector: dict) -> None:
    draft_map = cbor2.loads(bytes.fromhex(vector["cbor"]))
    assert draft_map["lst"].hex() == vector["lst"]
    decoded = decode_status_list(draft_map)
    assert (decoded.bits, decoded.size) == (vector["bits"], vector["size"])
    expected = {int(i): v for i, v in vector["status"].items()}
    assert {i: decoded.get(i) for i in expected} == expected
    # ... and nothing else is set: every entry the draft does not list is 0 (VALID).
    assert _nonzero(decoded) == {i: v for i, v in expected.items() if v}


def test_small_examples_bit_order() -> None:
    """Section 4.1: bits 1 packs to b9 a3, bits 2 to c9 44 f9 (index 0 in the least significant bits)."""
    one, two = (decode_status_list(cbor2.loads(bytes.fromhex(v["cbor"]))) for v in VECTORS[:2])
    assert (one.data, two.data) == (bytes.fromhex("b9a3"), bytes.fromhex("c944f9"))


TWO_BIT = [v for v in VECTORS if v["bits"] == 2]


@pytest.mark.parametrize("vector", TWO_BIT, ids=[v["name"] for v in TWO_BIT])
def test_encoder_reproduces_the_drafts_bytes(vector: dict) -> None:
    """The publisher's 2-bit packing (all our lists are 2-bit) gives the draft's bytes."""
    raw = bytes(pack_entries(vector["size"], [(int(i), v) for i, v in vector["status"].items()]))
    assert raw == zlib.decompress(bytes.fromhex(vector["lst"]))
    if not CLASSIC_ZLIB:
        pytest.skip(f"zlib {zlib.ZLIB_RUNTIME_VERSION} is not classic zlib; its level-9 bytes differ (round trip ok)")
    assert zlib.compress(raw, 9).hex() == vector["lst"]  # exactly the draft's compressed bytes


@given(st.integers(1, 512), st.data())
def test_round_trip(quads: int, data: st.DataObject) -> None:
    size = quads * 4
    entries = data.draw(st.dictionaries(st.integers(0, size - 1), st.integers(0, 3), max_size=64))
    decoded = decode_status_list({"bits": 2, "lst": zlib.compress(bytes(pack_entries(size, list(entries.items()))))})
    assert (decoded.bits, decoded.size) == (2, size)
    assert _nonzero(decoded) == {i: v for i, v in entries.items() if v}


def test_aggregation_uri() -> None:
    cbor_map = {"bits": 1, "lst": zlib.compress(bytes(1)), "aggregation_uri": "https://example.com/statuslists"}
    assert decode_status_list(cbor_map).aggregation_uri == "https://example.com/statuslists"
    with pytest.raises(StatusListError):
        decode_status_list({**cbor_map, "aggregation_uri": b"https://example.com"})


def test_ten_million_entries() -> None:
    size = 10_000_000
    rng = random.Random(20260218)
    revoked = rng.sample(range(size), size // 100)
    raw = bytes(pack_entries(size, [(idx, 1) for idx in revoked]))
    encoded = cbor2.dumps({"bits": 2, "lst": zlib.compress(raw, 9)})
    decoded = decode_status_list(cbor2.loads(encoded))
    assert decoded.size == size and decoded.data == raw
    assert all(decoded.get(idx) == 1 for idx in revoked)
    packed = int.from_bytes(decoded.data, "little")
    assert packed.bit_count() == len(revoked)  # nothing else is set ...
    assert packed & int.from_bytes(b"\xaa" * len(decoded.data), "little") == 0  # ... and every set entry is 1


# --- hostile input -------------------------------------------------------------------------------------------


def test_bomb_construction_is_honest() -> None:
    """The helper's stream really is n MiB of zeros (checked at a size cheap enough to inflate in full)."""
    assert zlib.decompress(_zero_bomb(8)) == bytes(8 << 20)


def test_zlib_bomb_is_refused_without_inflating_it() -> None:
    """Measured by memory, not time (tests never assert a wall-clock time): what is inflated stops at
    the entry cap; the 1 GiB never exists."""
    bomb = _zero_bomb(1024)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 2 << 20
    for bits in (1, 2, 4, 8):
        tracemalloc.start()
        try:
            with pytest.raises(StatusListError, match="more than"):
                decode_status_list({"bits": bits, "lst": bomb})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 256 << 20  # stopped at the entry cap (64 MiB at 8 bits, held twice at most), not 1 GiB


def test_cap_is_exact() -> None:
    lst = zlib.compress(bytes(1024), 9)  # 1024 bytes = 4096 two-bit entries
    assert decode_status_list({"bits": 2, "lst": lst}, max_entries=4096).size == 4096
    for cap in range(4089, 4096):  # whole bytes only: never more entries than the cap
        with pytest.raises(StatusListError, match=f"more than {cap} "):
            decode_status_list({"bits": 2, "lst": lst}, max_entries=cap)
    assert decode_status_list({"bits": 2, "lst": zlib.compress(bytes(1023))}, max_entries=4095).size == 4092
    assert DEFAULT_MAX_ENTRIES == 2**26


VALID_LST = zlib.compress(bytes(range(256)) * 4, 9)


def _with_preset_dictionary(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zdict=b"\x00" * 32)
    return compressor.compress(data) + compressor.flush()


BAD_ZLIB = [
    b"",
    b"not zlib",
    VALID_LST[:-3],  # truncated inside the trailer
    VALID_LST[: len(VALID_LST) // 2],  # truncated inside the data
    VALID_LST[:2],  # header only
    VALID_LST[:-1] + bytes([VALID_LST[-1] ^ 1]),  # wrong Adler-32
    VALID_LST + b"\x00",  # trailing bytes after the stream
    VALID_LST + VALID_LST,  # two streams
    zlib.compress(b""),  # a valid stream of nothing
    zlib.compress(bytes(16))[2:],  # raw DEFLATE, no zlib header
    bytes.fromhex("1f8b0800000000000003") + zlib.compress(bytes(16))[2:-4],  # gzip
    _with_preset_dictionary(bytes(16)),  # needs a preset dictionary (FDICT)
    bytes([0x78, 0xDA ^ 0x01]) + VALID_LST[2:],  # header check bits wrong
    bytes([0x79]) + VALID_LST[1:],  # compression method 9
]


@pytest.mark.parametrize("lst", BAD_ZLIB, ids=range(len(BAD_ZLIB)))
def test_corrupt_or_truncated_zlib(lst: bytes) -> None:
    with pytest.raises(StatusListError):
        decode_status_list({"bits": 2, "lst": lst})


@pytest.mark.parametrize("obj", [
    None, [], "bits", b"lst", 7, {}, {"bits": 2}, {"lst": VALID_LST},
    {"bits": 0, "lst": VALID_LST}, {"bits": 3, "lst": VALID_LST}, {"bits": 16, "lst": VALID_LST},
    {"bits": -1, "lst": VALID_LST}, {"bits": True, "lst": VALID_LST}, {"bits": 2.0, "lst": VALID_LST},
    {"bits": "2", "lst": VALID_LST}, {"bits": None, "lst": VALID_LST}, {"bits": 2, "lst": VALID_LST.hex()},
    {"bits": 2, "lst": bytearray(VALID_LST)}, {"bits": 2, "lst": memoryview(VALID_LST)},
    {"bits": 2, "lst": list(VALID_LST)}, {"bits": 2, "lst": None}, {"bits": 2, "lst": VALID_LST, "aggregation_uri": 1},
    {1: 2, 2: VALID_LST}, {"bits": 2, "lst": cbor2.CBORTag(24, VALID_LST)},
], ids=range(24))
def test_wrong_types(obj: object) -> None:
    with pytest.raises(StatusListError):
        decode_status_list(obj)


@pytest.mark.parametrize("max_entries", [0, -1, 2**64, 1.5, True, "100", None])
def test_bad_cap(max_entries: object) -> None:
    with pytest.raises(StatusListError):
        decode_status_list({"bits": 2, "lst": VALID_LST}, max_entries=max_entries)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.binary(max_size=300), st.sampled_from([1, 2, 4, 8]), st.integers(1, 1 << 12))
def test_arbitrary_bytes_only_ever_raise_status_list_error(lst: bytes, bits: int, max_entries: int) -> None:
    try:
        decoded = decode_status_list({"bits": bits, "lst": lst}, max_entries=max_entries)
    except StatusListError:
        return
    assert 0 < decoded.size <= max_entries


@settings(max_examples=300)
@given(st.integers(0, len(VALID_LST) - 1), st.integers(1, 255), st.integers(0, len(VALID_LST)))
def test_mutated_streams_only_ever_raise_status_list_error(pos: int, xor: int, cut: int) -> None:
    mutated = bytearray(VALID_LST)
    mutated[pos] ^= xor
    for lst in (bytes(mutated), bytes(mutated[:cut])):
        with contextlib.suppress(StatusListError):
            decode_status_list({"bits": 8, "lst": lst})


def test_index_outside_the_list() -> None:
    decoded = decode_status_list({"bits": 2, "lst": zlib.compress(bytes(16))})
    assert decoded.size == 64 and decoded.get(63) == 0
    for idx in (-1, 64, 10**12, -(10**12), True, 1.0, "1", None):
        with pytest.raises(StatusListError):
            decoded.get(idx)  # type: ignore[arg-type]


def test_status_list_is_read_only() -> None:
    decoded = StatusList(2, bytearray(b"\x01"))
    assert decoded.data == b"\x01" and type(decoded.data) is bytes and decoded.size == 4
    with pytest.raises(AttributeError):
        decoded.bits = 4  # type: ignore[misc]
    for bits, data in ((3, b"\x00"), (2, "text"), (True, b"\x00")):
        with pytest.raises(StatusListError):
            StatusList(bits, data)  # type: ignore[arg-type]
