"""The whole path through the real commands: issue, publish, sync, check; then revoke, renew, and
see every verifier learn it from the next publish."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from office_adapters import run_registry

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PERMIT_REGISTRY_PASSPHRASE": "correct horse battery staple"}


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    if args[0] == "registry":  # as an enrolled officer; acts under four eyes are approved by a second one
        proc = run_registry(list(args[1:]), ENV, ROOT)
    else:
        proc = subprocess.run([sys.executable, "-m", "verifier.cli", *args[1:]], capture_output=True, text=True,
                              env=ENV, cwd=ROOT, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def verdict(cache: Path, image: Path) -> tuple[int, str]:
    proc = run("verifier", "--cache", str(cache), "check", str(image), "--json", ok=False)
    return proc.returncode, json.loads(proc.stdout)["reason"]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("e2e")
    home, pub, cache = base / "home", base / "pub", base / "cache"
    run("registry", "--home", str(home), "init")
    return home, pub, cache


def test_issue_revoke_renew(office: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, pub, cache = office
    number = run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / "smith-john.json"))
    number = number.stdout.strip()
    old_card = tmp_path / "card1.png"
    run("registry", "--home", str(home), "qr", number, "-o", str(old_card))
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    assert verdict(cache, old_card) == (0, "VALID")

    run("registry", "--home", str(home), "renew", number)
    new_card = tmp_path / "card2.svg"
    run("registry", "--home", str(home), "qr", number, "-o", str(new_card))
    assert new_card.read_bytes().startswith(b"<?xml")
    new_png = tmp_path / "card2.png"
    run("registry", "--home", str(home), "qr", number, "-o", str(new_png))
    assert verdict(cache, old_card) == (0, "VALID")  # the verifier has not synced yet
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub))
    assert verdict(cache, old_card) == (1, "SUPERSEDED")
    assert verdict(cache, new_png) == (0, "VALID")

    run("registry", "--home", str(home), "revoke", number, "--reason", "fraud")
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub))
    assert verdict(cache, new_png) == (1, "REVOKED")


def test_unsynced_verifier_is_never_silently_valid(office: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, pub, _ = office
    number = run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / "muller-anna.json"))
    card = tmp_path / "card.png"
    run("registry", "--home", str(home), "qr", number.stdout.strip(), "-o", str(card))
    empty = tmp_path / "empty-cache"
    assert verdict(empty, card) == (2, "NO_TRUST_LIST")
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    trust_only = tmp_path / "trust-only"
    [trust_file] = (pub / "targets").glob("*.trust-list.cwt")
    run("verifier", "--cache", str(trust_only), "trust", "add", str(trust_file), "--root",
        str(pub / "metadata" / "root.json"))
    assert verdict(trust_only, card) == (2, "STATUS_UNKNOWN")


def test_wrong_passphrase_is_a_clear_error(office: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, _, _ = office
    proc = subprocess.run([sys.executable, "-m", "registry.cli", "--home", str(home), "keys", "rotate"],
                          capture_output=True, text=True, timeout=60,
                          env={**ENV, "PERMIT_REGISTRY_PASSPHRASE": "not the passphrase"}, cwd=ROOT)
    assert proc.returncode == 4 and "BAD_PASSPHRASE" in proc.stderr and "Traceback" not in proc.stderr


def test_key_rotation_keeps_old_permits_valid(office: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, pub, cache = office
    number = run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / "okafor-chidi.json"))
    card = tmp_path / "before.png"
    run("registry", "--home", str(home), "qr", number.stdout.strip(), "-o", str(card))
    run("registry", "--home", str(home), "keys", "rotate")
    keys = json.loads(run("registry", "--home", str(home), "keys", "list", "--json").stdout)
    permit_keys = [k for k in keys if k["use"] == "permit"]
    assert [k["state"] for k in permit_keys][-2:] == ["retired", "active"]
    assert all("BEGIN PUBLIC KEY" in k["public_key_pem"] for k in keys)
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub))
    assert verdict(cache, card) == (0, "VALID")


def test_compromised_key_and_bulk_reissue(tmp_path: Path) -> None:
    home, pub, cache = tmp_path / "home", tmp_path / "pub", tmp_path / "cache"
    made = json.loads(run("registry", "--home", str(home), "init", "--json").stdout)
    assert made["root_version"] == 1 and made["root_threshold"] == 1 and len(made["permit_key"]) == 16
    numbers = [run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / name)).stdout.strip()
               for name in ("smith-john.json", "muller-anna.json")]
    old = []
    for i, number in enumerate(numbers):
        old.append(tmp_path / f"old{i}.png")
        run("registry", "--home", str(home), "qr", number, "-o", str(old[-1]))
    kid = next(k["kid"] for k in json.loads(run("registry", "--home", str(home), "keys", "list", "--json").stdout)
               if k["use"] == "permit" and k["state"] == "active")
    rotated = json.loads(run("registry", "--home", str(home), "keys", "rotate", "--json").stdout)
    assert rotated["use"] == "permit" and rotated["kid"] != kid
    listed = json.loads(run("registry", "--home", str(home), "keys", "list", "--json").stdout)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", k["not_before"]) for k in listed)  # ISO 8601
    compromised = run("registry", "--home", str(home), "keys", "compromise", kid, "--json").stdout
    assert json.loads(compromised) == {"kid": kid, "state": "compromised"}
    reissued = json.loads(run("registry", "--home", str(home), "reissue", "--key", kid, "--json").stdout)
    assert reissued["reissued"] == 2 and reissued["key"] != kid
    published = json.loads(run("registry", "--home", str(home), "publish", "-o", str(pub), "--json").stdout)
    assert published["trust_list_signed"] and published["timestamp_version"] >= 1
    run("verifier", "--cache", str(cache), "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    for i, number in enumerate(numbers):
        assert verdict(cache, old[i])[1] in {"KEY_COMPROMISED", "SUPERSEDED"}
        assert verdict(cache, old[i])[0] == 1
        fresh = tmp_path / f"new{i}.png"
        run("registry", "--home", str(home), "qr", number, "-o", str(fresh))
        assert verdict(cache, fresh) == (0, "VALID")


def test_printed_card_verifies(office: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The QR code on the rendered card (PNG and PDF) is the permit's, and a verifier reads it from the card."""
    home, pub, cache = office
    number = run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / "muller-anna.json"),
                 "--passport-number", "C01X00T48")  # another person than the earlier test's: one permit each
    number = number.stdout.strip()
    card_png, card_pdf = tmp_path / "card.png", tmp_path / "card.pdf"
    run("registry", "--home", str(home), "card", number, "-o", str(card_png))
    run("registry", "--home", str(home), "card", number, "-o", str(card_pdf))
    assert card_pdf.read_bytes().startswith(b"%PDF")
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    proc = run("verifier", "--cache", str(cache), "check", str(card_png), "--json", ok=False)
    out = json.loads(proc.stdout)
    assert (proc.returncode, out["reason"], out["permit"]["number"]) == (0, "VALID", number)
    bad = run("registry", "--home", str(home), "card", number, "-o", str(tmp_path / "card.gif"), ok=False)
    assert bad.returncode == 3 and "use .png or .pdf" in bad.stderr


def test_revocation_reaches_a_running_verification_service(tmp_path: Path) -> None:
    import signal
    import socket
    import time
    import urllib.request

    home, pub, cache = tmp_path / "home", tmp_path / "pub", tmp_path / "cache"
    run("registry", "--home", str(home), "init")
    number = run("registry", "--home", str(home), "issue", "--json", str(ROOT / "samples" / "smith-john.json"))
    number = number.stdout.strip()
    run("registry", "--home", str(home), "qr", number, "-o", str(tmp_path / "qr.png"))
    run("registry", "--home", str(home), "publish", "-o", str(pub))
    run("verifier", "--cache", str(cache), "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    key = run("verifier", "--cache", str(cache), "orgs", "add", "--name", "Bank A", "--sector", "bank").stdout.strip()
    from verifier.scan import read_qr_text

    payload = read_qr_text(tmp_path / "qr.png")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache), "serve", "--port",
                               str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def verify() -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/verify", method="POST",
                                     data=json.dumps({"payload": payload}).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        for _ in range(100):
            try:
                first = verify()
                break
            except OSError:
                time.sleep(0.1)
        assert (first["verdict"], first["reason"], first["permit"]["number"]) == ("valid", "VALID", number)
        run("registry", "--home", str(home), "revoke", number, "--reason", "expelled")
        run("registry", "--home", str(home), "publish", "-o", str(pub))
        run("verifier", "--cache", str(cache), "sync", str(pub))
        time.sleep(1.2)  # running workers look for a new cache generation once a second
        after = verify()
        assert (after["verdict"], after["reason"]) == ("invalid", "REVOKED")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    audit = run("verifier", "--cache", str(cache), "audit", "export", "--org", "Bank A").stdout.splitlines()
    assert [json.loads(line)["reason"] for line in audit] == ["VALID", "REVOKED"]
