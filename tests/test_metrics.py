"""Prometheus /metrics scraped from real gunicorns (two workers each) on 127.0.0.1: the counters move with
the traffic and add up over the workers whichever one answers the scrape; ages and failures are reported;
JSON logs are one object per line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from helpers import Issuer
from live_registry import serve_registry
from prometheus_client.parser import text_string_to_metric_families
from test_registry_api import SMITH, _http, add_operator
from test_server import live_server  # noqa: F401 - the verifier's real gunicorn fixture

ROOT = Path(__file__).resolve().parent.parent


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _verify(url: str, key: str, body: dict) -> int:
    request = urllib.request.Request(url + "/v1/verify", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_verifier_metrics_count_checks_across_workers(live_server, issuer: Issuer) -> None:  # noqa: F811
    url, keys, _, _ = live_server
    before = _samples(url)
    valid = issuer.sign()
    for _ in range(10):
        assert _verify(url, keys["rail"], {"payloads": [valid, "garbage"]}) == 200
    assert _verify(url, "pvk_wrong", {"payload": valid}) == 401
    for _ in range(3):  # whichever worker answers the scrape, the sum over both is the same
        after = _samples(url)
        checks = "permit_verifier_checks_total"
        assert _value(after, checks, endpoint="verify", verdict="valid", reason="VALID") - _value(
            before, checks, endpoint="verify", verdict="valid", reason="VALID") == 10
        assert _value(after, checks, endpoint="verify", verdict="invalid", reason="MALFORMED") - _value(
            before, checks, endpoint="verify", verdict="invalid", reason="MALFORMED") == 10
        latency = "permit_verifier_request_seconds_count"
        assert _value(after, latency, endpoint="/v1/verify") - _value(before, latency, endpoint="/v1/verify") == 11
        requests = "permit_verifier_requests_total"
        assert _value(after, requests, endpoint="/v1/verify", status="401") - _value(
            before, requests, endpoint="/v1/verify", status="401") == 1
    ages = [v for (name, _), v in after.items() if name == "permit_verifier_status_list_age_seconds"]
    assert ages and all(50 <= age < 600 for age in ages)  # the lists were vouched for 60 s before the start
    assert _value(after, "permit_verifier_trust_list_expires_in_seconds") > 0


def test_failed_sync_shows_in_the_services_metrics(live_server, tmp_path: Path) -> None:  # noqa: F811
    url, _, cache_dir, _ = live_server
    before = sum(v for (name, _), v in _samples(url).items() if name == "permit_verifier_sync_failures_total")
    empty = tmp_path / "not-a-repository"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "sync", str(empty)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    after = sum(v for (name, _), v in _samples(url).items() if name == "permit_verifier_sync_failures_total")
    assert after == before + 1


def test_registry_metrics_count_calls_acts_and_publish(registry_home: Path, tmp_path: Path) -> None:
    admin = add_operator(registry_home, "root", "admin", "S-0001")
    officer = add_operator(registry_home, "oscar.officer", "officer", "S-0003", admin)
    log_path = tmp_path / "gunicorn.log"
    with serve_registry(registry_home, log_path, "--log-format", "json") as base:
        before = _samples(base)
        status, _, body = _http("POST", f"{base}/admin/v1/permits", officer, SMITH)
        assert status == 202, body
        proposal = json.loads(body)["proposal"]
        assert _http("POST", f"{base}/admin/v1/pending/{proposal}/approve", admin)[0] == 200
        assert _http("GET", f"{base}/admin/v1/permits/PR0000000000", None)[0] == 401
        assert _http("POST", f"{base}/admin/v1/publish", officer, {})[0] == 200
        for _ in range(3):
            after = _samples(base)
            calls = "permit_registry_requests_total"
            route = "/admin/v1/pending/<int(max=9223372036854775807):proposal>/approve"
            assert {name for (name, labels) in after if name == calls and ("route", route) in labels} == {calls}
            assert _value(after, calls, route="/admin/v1/permits", method="POST", status="202") - _value(
                before, calls, route="/admin/v1/permits", method="POST", status="202") == 1
            assert _value(after, calls, route="/admin/v1/publish", method="POST", status="200") == 1
            assert _value(after, "permit_registry_publish_seconds_count") == 1
            assert not any("PR0000000000" in str(labels) for (_, labels) in after)  # routes, never numbers
            acts = {dict(labels)["kind"]: v for (name, labels), v in after.items()
                    if name == "permit_registry_acts_total"}
            before_acts = {dict(labels)["kind"]: v for (name, labels), v in before.items()
                           if name == "permit_registry_acts_total"}
            assert sum(acts.values()) > sum(before_acts.values())
            ages = [v for (name, _), v in after.items() if name == "permit_registry_status_list_age_seconds"]
            assert ages and all(0 <= age < 300 for age in ages)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), lines[:5]
    assert any(re.search(r"Booting worker", json.loads(line)["message"]) for line in lines)
