"""Benchmark: POST /v1/verify (organisation key, sector fields, audit on) against a bare endpoint of the
same server that only returns 200, both on gunicorn with 2 sync workers on 127.0.0.1, driven by wrk
for a fixed time, alternating so both see the same machine. Prints req/s, p50 and p99 of each, the
audit records counted after a clean shutdown, the ratio (verify / bare req/s), and the physics ratio:
(the bare request's cost + one raw ES256 verify spread over the workers) / the verify request's cost, with
the raw verify measured in this run too (target >= 0.9: a verify costs at most 10% more than a bare request
plus its signature check). Targets: p99 <= 10 ms.

    python bench/verify_api.py [--seconds 10] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import DAY, Issuer
from tufsource import TufSource
from verify_batch import raw_verify_us

from verifier.cache import Cache
from verifier.check import check
from verifier.server import orgs

ROOT = Path(__file__).resolve().parent.parent
LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def prepare(base: Path) -> tuple[Path, str, str, Issuer]:
    issuer, now = Issuer(), int(time.time())
    source = TufSource(issuer, base / "pub", now)
    source.publish(now, exp=now + DAY)
    cache = Cache(base / "cache")
    cache.sync(str(source.out), now, source.root_json)
    key = orgs.add_org(orgs.connect(cache.dir), "Bench Bank", "bank", now, rate=1e6)
    return cache.dir, key, issuer.sign(), issuer


def check_us(cache_dir: Path, payload: str) -> float:
    """The library's check of the same payload in a loop, as a worker holds the lists (best of 5 x 2000 CPU
    time): the signature plus the decoding, trust and status lookups every verify does before any HTTP."""
    cache = Cache(cache_dir)
    trust, status, now = cache.trust_list(), cache.status_lookup(None), int(time.time())
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(2000):
            check(payload, trust, now, status)
        best = min(best, (time.process_time() - start) / 2000)
    return best * 1e6


def wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, float, float, int]:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s",
                          str(script), url], capture_output=True, text=True, timeout=seconds + 60).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, ms("50"), ms("99"), failed if failed else -requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cache_dir, key, payload, issuer = prepare(base)
        raw_us = raw_verify_us(payload, issuer.trust())
        lib_us = check_us(cache_dir, payload)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "serve",
                                   "--port", str(port), "--workers", str(args.workers)], cwd=ROOT,
                                  env={**os.environ, "PERMIT_VERIFIER_BENCH_BARE": "1"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base_url + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        script = base / "post.lua"
        script.write_text(LUA.format(body=json.dumps(json.dumps({"payload": payload})), key=key))
        half = max(1, args.seconds // 2)
        results: dict[str, list[tuple[float, float, float, int]]] = {"bare": [], "verify": []}
        sent = 0
        for _ in range(2):  # alternate: bare, verify, bare, verify
            results["bare"].append(wrk(base_url + "/v1/bare", script, half, args.connections))
            run = wrk(base_url + "/v1/verify", script, half, args.connections)
            results["verify"].append(run)
            sent += -run[3] if run[3] < 0 else 0
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        audited = sqlite3.connect(cache_dir / "service.db").execute("SELECT count(*) FROM audit").fetchone()[0]
    summary = {}
    for name, runs in results.items():
        rps = sum(r[0] for r in runs) / len(runs)
        p50, p99 = max(r[1] for r in runs), max(r[2] for r in runs)
        errors = sum(r[3] for r in runs if r[3] > 0)
        summary[name] = rps
        label = "POST /v1/verify (auth, audit)" if name == "verify" else "POST /v1/bare (returns 200)"
        print(f"{label}: {rps:8.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors}")
    lost = "none lost" if audited >= sent else f"{sent - audited} LOST"
    print(f"audit records after shutdown: {audited} for {sent} verify requests wrk completed ({lost}; requests "
          f"in flight when wrk stops are served and audited but not counted by wrk)")
    print(f"ratio (verify / bare req/s): {summary['verify'] / summary['bare']:.2f}")
    bare_us, verify_us = 1e6 / summary["bare"], 1e6 / summary["verify"]
    model_us = bare_us + raw_us / args.workers
    print(f"raw ES256 verify: {raw_us:.1f} us per core; per request over {args.workers} workers: "
          f"bare {bare_us:.1f} us, verify {verify_us:.1f} us, bare + raw verify {model_us:.1f} us")
    print(f"ratio ((bare + raw ES256) / verify, target >= 0.9): {model_us / verify_us:.2f}")
    print(f"in-process check of the same payload: {lib_us:.1f} us per core (raw ES256 + {lib_us - raw_us:.1f} us of "
          f"decoding, trust and status lookups); (bare + check) / verify: "
          f"{(bare_us + lib_us / args.workers) / verify_us:.2f}")


if __name__ == "__main__":
    main()
