"""Abuse limits of the verification service, each attacked from outside: batches that try to buy more checks
than the rate, a low-rate key that tries to burst like its sector, a small PNG of many megapixels, pictures
sent all at once, and JSON nested until the decoder gives up."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from helpers import NOW, Issuer
from test_server import service  # noqa: F401 - the app with a synced cache and three organisations

from keys.errors import FormatError
from verifier.scan import MAX_PIXELS, read_qr_text
from verifier.server import orgs
from verifier.server.limits import CheckLimiter, DecodeSlots, burst_for, json_depth_ok, load_json


def _post(client, key: str, body: object):
    return client.post("/v1/verify", json=body, headers={"Authorization": f"Bearer {key}"})


def _org(cache_dir: Path, name: str, sector: str, rate: float | None = None) -> str:
    key = orgs.add_org(orgs.connect(cache_dir), name, sector, NOW, rate)
    return key


def _fresh_keys(client) -> None:
    """Make the app re-read the organisations now (it does so at most once a second)."""
    client.application.extensions["verifier"]._checked_keys = 0.0


def test_batch_of_1000_costs_1000_checks(service) -> None:  # noqa: F811
    client, _, cache = service
    key = _org(cache.dir, "batcher", "other")  # 20 checks/s, burst 40
    _fresh_keys(client)
    first = _post(client, key, {"payloads": ["x"] * 1000})
    assert first.status_code == 200 and len(first.get_json()["results"]) == 1000
    refused = _post(client, key, {"payload": "x"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    # 1,000 checks at 20 per second: the key waits out the ~50 s they cost, not one request's worth
    assert int(refused.headers["Retry-After"]) >= 45


def test_batches_cannot_outrun_the_rate(service) -> None:  # noqa: F811
    client, _, cache = service
    key = _org(cache.dir, "packer", "other")
    _fresh_keys(client)
    admitted = sum(len(r.get_json()["results"]) for r in (_post(client, key, {"payloads": ["x"] * 10})
                                                          for _ in range(20)) if r.status_code == 200)
    assert admitted <= 40 + 10  # the burst and at most the refill of a fast loop, never 200


def test_low_rate_key_cannot_burst_like_its_sector(service) -> None:  # noqa: F811
    client, _, cache = service
    key = _org(cache.dir, "slow bank", "bank", rate=1)  # the bank sector: 200/s, burst 400
    _fresh_keys(client)
    codes = [_post(client, key, {"payload": "x"}).status_code for _ in range(20)]
    assert codes[:2] == [200, 200]
    assert codes.count(200) <= 3 and codes.count(429) >= 17


def test_limiter_burst_follows_rate_and_debt_is_repaid() -> None:
    now = [0.0]
    limiter = CheckLimiter(clock=lambda: now[0])
    assert burst_for(1, 200, 400) == 2 and burst_for(200, 200, 400) == 400 and burst_for(0.1, 20, 40) == 1
    assert limiter.take("k", 100, rate=10, burst=20) is None  # a full bucket admits a batch above the burst
    wait = limiter.take("k", 1, rate=10, burst=20)
    assert wait == pytest.approx(8.1)  # (1 - (20 - 100)) / 10
    now[0] = 8.2
    assert limiter.take("k", 1, rate=10, burst=20) is None


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"payloads": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                  b'{"payload": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}"])
def test_deeply_nested_json_is_a_400_problem(service, body: bytes) -> None:  # noqa: F811
    client, keys, _ = service
    resp = client.post("/v1/verify", data=body, content_type="application/json",
                       headers={"Authorization": f"Bearer {keys['bank']}"})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert "Traceback" not in resp.get_data(as_text=True)


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert json_depth_ok(b'{"payload": "' + b"[" * 100 + b'"}')
    assert json_depth_ok(b'{"a": "\\"' + b"{" * 100 + b'"}')
    assert not json_depth_ok(b"[" * 33 + b"]" * 33)
    assert load_json(b"[" * 32 + b"]" * 32) is not None


def _png_header_only_bomb(width: int, height: int) -> bytes:
    """A valid greyscale PNG of width x height black pixels: a few dozen KB of deflated zeros."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    deflate = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def megapixel_png() -> bytes:
    data = _png_header_only_bomb(6245, 6245)  # 39 megapixels
    assert len(data) < 200_000
    return data


def test_39_megapixel_png_is_refused_before_decoding(megapixel_png: bytes) -> None:
    assert MAX_PIXELS < 6245 * 6245
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="pixels"):
            read_qr_text(megapixel_png)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # decoding would hold 39 MB of pixels; the header alone is read


def test_39_megapixel_png_upload_is_malformed_not_decoded(service, megapixel_png: bytes) -> None:  # noqa: F811
    client, keys, _ = service
    resp = client.post("/v1/verify-image", data={"image": (io.BytesIO(megapixel_png), "bomb.png")},
                       headers={"Authorization": f"Bearer {keys['bank']}"})
    assert resp.status_code == 200 and resp.get_json()["reason"] == "MALFORMED"
    assert "pixels" in resp.get_json()["detail"]


def test_pictures_sent_all_at_once_wait_for_a_decoder(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    state = client.application.extensions["verifier"]
    state.decoders = DecodeSlots(1, wait=0.05)
    assert state.decoders.acquire()  # another request is decoding
    try:
        resp = client.post("/v1/verify-image", data={"image": (io.BytesIO(b"\x89PNG"), "x.png")},
                           headers={"Authorization": f"Bearer {keys['bank']}"})
        assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
        assert resp.headers["Retry-After"] == "1"
    finally:
        state.decoders.release()
    resp = client.post("/v1/verify-image", data={"image": (io.BytesIO(b"\x89PNG"), "x.png")},
                       headers={"Authorization": f"Bearer {keys['bank']}"})
    assert resp.status_code == 200 and resp.get_json()["reason"] == "MALFORMED"  # the slot came back
