"""The online verification service: organisations and sectors, problem+json errors, identity checks,
audit, and a real gunicorn on 127.0.0.1 that loses no audit record on a clean shutdown."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DAY, NOW, Issuer, make_permit
from tufsource import TufSource

from verifier.cache import Cache
from verifier.server import orgs
from verifier.server.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def _cache(issuer: Issuer, directory: Path, revoked: list[int] = (), now: int = NOW) -> Cache:  # type: ignore[assignment]
    """A synced verifier cache whose lists are fresh at `now` (a live server reads the real clock)."""
    source = TufSource(issuer, directory / "pub", now)
    source.publish(now - 60, entries=[(i, 1) for i in revoked], exp=now + DAY)  # vouched for 60 s ago
    cache = Cache(directory / "cache")
    cache.sync(str(source.out), now, source.root_json)
    return cache


@pytest.fixture
def service(issuer: Issuer, tmp_path: Path):
    cache = _cache(issuer, tmp_path, revoked=[77])
    conn = orgs.connect(cache.dir)
    keys = {sector: orgs.add_org(conn, f"{sector} org", sector, NOW) for sector in ("bank", "hotel", "rail")}
    app = create_app(cache.dir, {"CLOCK": lambda: NOW, "TESTING": True})
    yield app.test_client(), keys, cache
    app.extensions["verifier"].audit.close()


def _post(client, path: str, key: str | None, body: object):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(path, json=body, headers=headers)


def test_verify_with_sector_fields(service, issuer: Issuer) -> None:
    client, keys, _ = service
    text = issuer.sign()
    bank = _post(client, "/v1/verify", keys["bank"], {"payload": text}).get_json()
    hotel = _post(client, "/v1/verify", keys["hotel"], {"payload": text}).get_json()
    rail = _post(client, "/v1/verify", keys["rail"], {"payload": text}).get_json()
    assert bank["verdict"] == hotel["verdict"] == rail["verdict"] == "valid"
    assert bank["status_age"] == 60
    assert {"category", "authority", "issue_date"} <= set(bank["permit"])
    assert set(hotel["permit"]) == {"number", "surname", "given_names", "chinese_name", "nationality", "sex",
                                    "birth_date", "expiry_date"}
    assert rail["permit"] == {}


def test_batch_and_revocation(service, issuer: Issuer) -> None:
    client, keys, _ = service
    texts = [issuer.sign(), issuer.sign(make_permit(status_index=77)), "garbage"]
    out = _post(client, "/v1/verify", keys["bank"], {"payloads": texts}).get_json()
    assert [r["reason"] for r in out["results"]] == ["VALID", "REVOKED", "MALFORMED"]


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"payload": 5}, 422), ({"payloads": []}, 422), ({"payloads": "x"}, 422),
    ({"payload": "a", "payloads": ["b"]}, 422), ({"payloads": ["x"] * 1001}, 422), ([1, 2], 400),
])
def test_malformed_requests_are_problems(service, body: object, status: int) -> None:
    client, keys, _ = service
    resp = _post(client, "/v1/verify", keys["bank"], body)
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == status


def test_non_json_and_oversized_bodies(service) -> None:
    client, keys, _ = service
    auth = {"Authorization": f"Bearer {keys['bank']}"}
    resp = client.post("/v1/verify", data="payload=x", headers=auth, content_type="text/plain")
    assert resp.status_code == 415 and resp.mimetype == "application/problem+json"
    resp = client.post("/v1/verify", data=b"{" + b" " * (5 * 1024 * 1024), headers=auth,
                       content_type="application/json")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    resp = client.post("/v1/verify", data="{not json", headers=auth, content_type="application/json")
    assert resp.status_code == 400


def test_authentication(service, issuer: Issuer) -> None:
    client, keys, cache = service
    assert _post(client, "/v1/verify", None, {"payload": "x"}).status_code == 401
    assert _post(client, "/v1/verify", "pvk_wrong", {"payload": "x"}).status_code == 401
    orgs.revoke_org(orgs.connect(cache.dir), "hotel org", NOW)
    time.sleep(1.1)  # keys are re-read at most once a second
    resp = _post(client, "/v1/verify", keys["hotel"], {"payload": issuer.sign()})
    assert resp.status_code == 401
    assert "SMITH" not in resp.get_data(as_text=True)
    stored = orgs.connect(cache.dir).execute("SELECT key_hash FROM orgs").fetchall()
    assert all(keys[s] not in h for (h,) in stored for s in keys)


def test_rate_limit(service, issuer: Issuer) -> None:
    client, _, cache = service
    key = orgs.add_org(orgs.connect(cache.dir), "small", "other", NOW)
    time.sleep(1.1)
    codes = [_post(client, "/v1/verify", key, {"payload": "x"}).status_code for _ in range(60)]
    assert codes[:40] == [200] * 40 and 429 in codes
    limited = _post(client, "/v1/verify", key, {"payload": "x"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_identity_check_discloses_only_a_match(service, issuer: Issuer) -> None:
    client, keys, _ = service
    text = issuer.sign()
    number = make_permit().number
    yes = _post(client, "/v1/identity-check", keys["rail"],
                {"check": {"payload": text, "number": number, "name": "smith john-paul", "birth_date": "1990-01-01"}})
    assert yes.get_json() == {"match": True, "verdict": "valid", "reason": "VALID",
                              "message": "证件真实有效。", "status_age": 60}  # no Accept-Language: Chinese first
    out = _post(client, "/v1/identity-check", keys["rail"], {"checks": [
        {"payload": text, "number": number, "name": "SMITH JANE"},
        {"payload": text, "number": number, "name": "SMITH JOHN PAUL", "birth_date": "1991-01-01"},
        {"payload": "garbage", "number": number, "name": "SMITH JOHN PAUL"}]}).get_json()
    assert [r["match"] for r in out["results"]] == [False, False, False]
    assert "JOHN" not in json.dumps(out) and "1990" not in json.dumps(out)
    assert _post(client, "/v1/identity-check", keys["rail"], {"check": {"payload": text}}).status_code == 422


def test_public_routes(service) -> None:
    client, _, cache = service
    assert client.get("/v1/trust-list").data == cache.trust_list_bytes()
    assert client.get("/v1/status-lists/1").data == cache.status_list_bytes(1)
    assert client.get("/v1/status-lists/9").status_code == 404
    assert client.get("/health").get_json()["trust_list_version"] == 1
    assert client.get("/openapi.json").get_json()["openapi"] == "3.1.0"
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_verify_image(service, issuer: Issuer) -> None:
    from registry.qr import png_bytes

    client, keys, _ = service
    auth = {"Authorization": f"Bearer {keys['bank']}"}
    resp = client.post("/v1/verify-image", data={"image": (__import__("io").BytesIO(png_bytes(issuer.sign())),
                                                           "qr.png")}, headers=auth)
    assert resp.get_json()["reason"] == "VALID"
    bad = client.post("/v1/verify-image", data={"image": (__import__("io").BytesIO(b"not an image"), "x.png")},
                      headers=auth)
    assert bad.get_json()["reason"] == "MALFORMED"  # an unreadable picture is a verdict, as for the clerk
    blank = __import__("io").BytesIO()
    __import__("PIL.Image").Image.new("L", (200, 200), 255).save(blank, format="PNG")
    no_code = client.post("/v1/verify-image", data={"image": (__import__("io").BytesIO(blank.getvalue()), "x.png")},
                          headers=auth)
    assert no_code.get_json()["reason"] == "MALFORMED"  # a picture without a permit code: a verdict


def test_audit_records_every_check_without_personal_data(service, issuer: Issuer) -> None:
    client, keys, cache = service
    for _ in range(5):
        _post(client, "/v1/verify", keys["bank"], {"payload": issuer.sign()})
    _post(client, "/v1/verify", keys["hotel"], {"payload": "garbage"})
    client.application.extensions["verifier"].audit.close()
    lines = [json.loads(x) for x in orgs.export_audit(orgs.connect(cache.dir))]
    assert len(lines) == 6 and [x["org"] for x in lines].count("bank org") == 5
    assert lines[0]["permit_number_hmac"] and make_permit().number not in json.dumps(lines)
    assert lines[-1]["permit_number_hmac"] is None and lines[-1]["reason"] == "MALFORMED"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(issuer: Issuer, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path, subprocess.Popen]]:
    now = int(time.time())
    cache = _cache(issuer, tmp_path, now=now)
    keys = {s: orgs.add_org(orgs.connect(cache.dir), f"{s} co", s, now) for s in ("rail", "hotel")}
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache.dir), "serve", "--port",
                             str(port), "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    yield url, keys, cache.dir, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_real_server_loses_no_audit_record_on_sigterm(live_server, issuer: Issuer) -> None:
    url, keys, cache_dir, proc = live_server
    key = keys["rail"]
    text = issuer.sign()
    sent = 0
    for i in range(120):
        body = json.dumps({"payloads": [text, "garbage"]} if i % 2 else {"payload": text}).encode()
        req = urllib.request.Request(url + "/v1/verify", data=body, method="POST", headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        sent += 2 if i % 2 else 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    count = orgs.connect(cache_dir).execute("SELECT count(*) FROM audit").fetchone()[0]
    assert count == sent
