"""The relief path end to end: a revocation reaches a syncing verifier (REVOKED); a reconsideration that
overturns it reinstates the permit through the ordinary transition, and after the next publish the same
verifier sees the card VALID again. Through the real `registry` and `verifier` commands, and through the
admin API with its publish route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import REGISTRY_PASSPHRASE
from office_adapters import APPLICANT, ROLES, Api

from keys.permit import local_date

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PERMIT_REGISTRY_PASSPHRASE": REGISTRY_PASSPHRASE}


def sh(tool: str, *args: str, token: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", f"{tool}.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**ENV, "PERMIT_REGISTRY_TOKEN": token or ""}, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def verdict(cache: Path, image: Path) -> str:
    return json.loads(sh("verifier", "--cache", str(cache), "check", str(image), "--json", ok=False).stdout)["reason"]


def test_an_overturned_revocation_is_valid_again_after_publish_cli(tmp_path: Path) -> None:
    home, pub, cache, card = tmp_path / "home", tmp_path / "pub", tmp_path / "cache", tmp_path / "card.png"
    h = ["--home", str(home)]
    sh("registry", *h, "init")
    tokens: dict[str, str] = {}
    for role, (name, kind, person) in ROLES.items():
        tokens[role] = sh("registry", *h, "operators", "add", "--name", name, "--role", kind, "--person", person,
                          token=tokens.get("admin")).stdout.strip()
    proposal = sh("registry", *h, "issue", "--json", str(ROOT / "samples" / "smith-john.json"),
                  token=tokens["clerk"]).stdout.strip()
    number = sh("registry", *h, "approve", proposal, token=tokens["officer"]).stdout.strip()
    sh("registry", *h, "qr", number, "-o", str(card))
    proposal = sh("registry", *h, "revoke", number, "--reason", "fraud", token=tokens["officer"]).stdout.strip()
    sh("registry", *h, "approve", proposal, token=tokens["officer2"])
    sh("registry", *h, "publish", "-o", str(pub))
    sh("verifier", "--cache", str(cache), "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    assert verdict(cache, card) == "REVOKED"
    again = sh("registry", *h, "issue", "--json", str(ROOT / "samples" / "smith-john.json"), token=tokens["clerk"],
               ok=False)
    assert again.returncode == 5 and "barred from a new application until" in again.stderr

    today = local_date(int(time.time())).isoformat()
    filed = sh("registry", *h, "appeal", number, "--kind", "reconsideration", "--filed", today, "--case", "R-2026-9",
               token=tokens["clerk"]).stdout
    assert "decision due by" in filed
    assert json.loads(sh("registry", *h, "appeals", "--json").stdout)[0]["case"] == "R-2026-9"
    proposal = sh("registry", *h, "appeal", "decide", "1", "--outcome", "overturned", "--decided", today,
                  token=tokens["officer"]).stdout.strip()
    assert "is active" in sh("registry", *h, "approve", proposal, token=tokens["officer2"]).stdout
    sh("registry", *h, "publish", "-o", str(pub))
    sh("verifier", "--cache", str(cache), "sync", str(pub))
    assert verdict(cache, card) == "VALID"
    history = json.loads(sh("registry", *h, "history", number, "--json").stdout)
    reinstated = [e for e in history if e["action"] == "reinstate"]
    assert [(e["actor"], e["approver"]) for e in reinstated] == [("oscar.officer", "olga.officer")]


def test_an_overturned_revocation_is_valid_again_after_publish_api(registry_home: Path, tmp_path: Path,
                                                                    monkeypatch) -> None:
    from verifier.cache import Cache
    from verifier.check import check

    api = Api(registry_home, time.time)
    today = local_date(int(time.time())).isoformat()
    assert api.issue("clerk", APPLICANT) == ("ok", "1")
    api.approve("officer", 1)
    number = api.client.get("/admin/v1/permits", headers={"Authorization": f"Bearer {api.tokens['clerk']}"}) \
        .get_json()["permits"][0]["number"]
    assert api.act("officer", number, "revoke", "expelled") == ("ok", "2")
    api.approve("officer2", 2)
    assert api.post("officer", "/publish") == ("ok", "done")
    cache = Cache(tmp_path / "bank")
    cache.pin_tuf_root((registry_home / "public" / "metadata" / "root.json").read_bytes())
    cache.sync(str(registry_home / "public"), int(time.time()))
    qr = api.client.get(f"/admin/v1/permits/{number}", headers={"Authorization": f"Bearer {api.tokens['clerk']}"}) \
        .get_json()["qr_text"]
    assert check(qr, cache.trust_list(), int(time.time()), cache.status_lookup()).reason.value == "REVOKED"
    assert api.appeal("clerk", number, "reconsideration", today, "R-9") == ("ok", "done")
    assert api.decide("officer", 1, "overturned", today) == ("ok", "3")
    assert api.approve("officer2", 3) == ("ok", "done")
    assert api.post("officer", "/publish") == ("ok", "done")
    cache.sync(str(registry_home / "public"), int(time.time()))
    assert check(qr, cache.trust_list(), int(time.time()), cache.status_lookup()).reason.value == "VALID"
