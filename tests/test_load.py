"""Load: 60 seconds at saturation against a real gunicorn on 127.0.0.1 (2 workers), from 4 client
processes. Every request must succeed, and after a clean shutdown the audit trail must hold exactly
one record per answered check. Bounded: it stops itself after LOAD_SECONDS (default 60)."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import time

from helpers import Issuer, make_permit
from test_server import live_server  # noqa: F401 - the real gunicorn fixture

from verifier.server import orgs

SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
CLIENTS = 4


def _client(port: int, key: str, bodies: list[bytes], deadline: float, results: multiprocessing.Queue) -> None:
    ok = failed = checks = 0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    i = 0
    while time.monotonic() < deadline:
        body = bodies[i % len(bodies)]
        i += 1
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/v1/verify", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError:
            failed += 1
            continue
        if resp.status == 200:
            ok += 1
            answer = json.loads(data)
            checks += len(answer["results"]) if "results" in answer else 1
        else:
            failed += 1
    results.put((ok, failed, checks))


def test_sixty_seconds_at_saturation(live_server, issuer: Issuer) -> None:  # noqa: F811
    url, _, cache_dir, proc = live_server
    key = orgs.add_org(orgs.connect(cache_dir), "Load Bank", "bank", int(time.time()), rate=1e6)
    time.sleep(1.1)  # running workers re-read the keys once a second
    port = int(url.rsplit(":", 1)[1])
    valid, revoked = issuer.sign(), issuer.sign(make_permit(status_index=5))
    bodies = [json.dumps({"payload": valid}).encode(), json.dumps({"payloads": [valid, revoked, "PR1:GGW"]}).encode(),
              json.dumps({"payload": "garbage"}).encode()]
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    deadline = time.monotonic() + SECONDS
    clients = [ctx.Process(target=_client, args=(port, key, bodies, deadline, results)) for _ in range(CLIENTS)]
    for c in clients:
        c.start()
    totals = [results.get(timeout=SECONDS + 120) for _ in clients]
    for c in clients:
        c.join(timeout=30)
    ok, failed, checks = (sum(t[i] for t in totals) for i in range(3))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    audited = orgs.connect(cache_dir).execute("SELECT count(*) FROM audit WHERE org = 'Load Bank'").fetchone()[0]
    print(f"\n{ok} requests ({ok / SECONDS:.0f}/s), {checks} checks, {failed} errors, {audited} audit records")
    assert failed == 0
    assert ok > SECONDS * 50  # it really was load, not a trickle
    assert audited == checks  # not one audit record lost
