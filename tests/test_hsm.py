"""An office whose keys all live in a PKCS#11 token (SoftHSM2): it inits, issues, publishes and rotates
every kind of key, verifiers follow, and no private key byte ever leaves the token."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from office_adapters import run_registry

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
           "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"]
MODULE = next((m for m in MODULES if Path(m).exists()), None)
PIN = "4711-2026"
LABEL = "office"

pytestmark = pytest.mark.skipif(MODULE is None or shutil.which("softhsm2-util") is None,
                                reason="SoftHSM2 is not installed (scripts/setup installs Debian's softhsm2)")


@pytest.fixture
def token_env(tmp_path: Path) -> dict[str, str]:
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), "PERMIT_REGISTRY_PKCS11_PIN": PIN,
           "PERMIT_REGISTRY_PKCS11_MODULE": str(MODULE), "PERMIT_REGISTRY_PASSPHRASE": "office passphrase 2026"}
    for name in [n for n in env if n.startswith("PERMIT_REGISTRY_ROOT_PASSPHRASE")]:
        del env[name]
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", LABEL, "--pin", PIN, "--so-pin", "12345678"],
                   env=env, check=True, capture_output=True)
    return env


def _run(env: dict[str, str], tool: str, *args: str) -> str:
    """The office acts as its enrolled officers (run_registry: operators enrolled after init, proposals
    approved by a second officer); the verifier as itself."""
    if tool == "registry":
        proc = run_registry(list(args), env, ROOT)
    else:
        proc = subprocess.run([sys.executable, "-m", "verifier.cli", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def _token_private_keys(env: dict[str, str]) -> list[dict[str, object]]:
    """Every private key object in the token, as the token describes it (in a child process: SoftHSM2
    reads its configuration once per process)."""
    script = (
        "import json, pkcs11\n"
        "from pkcs11 import Attribute as A, ObjectClass\n"
        f"token = pkcs11.lib({str(MODULE)!r}).get_token(token_label={LABEL!r})\n"
        f"with token.open(user_pin={PIN!r}) as s:\n"
        "    out = []\n"
        "    for k in s.get_objects({A.CLASS: ObjectClass.PRIVATE_KEY}):\n"
        "        try:\n"
        "            k[A.VALUE]; leaked = True\n"
        "        except pkcs11.exceptions.PKCS11Error:\n"
        "            leaked = False\n"
        "        out.append({'label': k[A.LABEL], 'sensitive': k[A.SENSITIVE], 'extractable': k[A.EXTRACTABLE],\n"
        "                    'never_extractable': k[A.NEVER_EXTRACTABLE], 'value_readable': leaked})\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return json.loads(proc.stdout)


def test_office_with_every_key_in_softhsm2_inits_issues_publishes_rotates(token_env: dict[str, str],
                                                                         tmp_path: Path) -> None:
    home, pub, bank = str(tmp_path / "office"), str(tmp_path / "pub"), str(tmp_path / "bank")
    _run(token_env, "registry", "--home", home, "init", "--token", LABEL, "--root-keys", "2", "--root-threshold", "2")
    keys = json.loads(_run(token_env, "registry", "--home", home, "keys", "list", "--json"))
    assert {k["use"] for k in keys} == {"root", "timestamp", "permit", "status"}
    assert all(k["location"] == f"pkcs11 token {LABEL}" for k in keys)
    number = _run(token_env, "registry", "--home", home, "issue", "--json",
                  str(ROOT / "samples" / "smith-john.json")).strip()
    card = str(tmp_path / "card.svg")
    _run(token_env, "registry", "--home", home, "qr", number, "-o", card)
    _run(token_env, "registry", "--home", home, "publish", "-o", pub)
    _run(token_env, "verifier", "--cache", bank, "sync", pub, "--root", str(Path(pub) / "metadata" / "root.json"))

    for use in ("permit", "status", "timestamp", "root"):
        _run(token_env, "registry", "--home", home, "keys", "rotate", "--use", use)
    second = _run(token_env, "registry", "--home", home, "issue", "--json",
                  str(ROOT / "samples" / "muller-anna.json")).strip()
    _run(token_env, "registry", "--home", home, "revoke", number, "--reason", "fraud")
    _run(token_env, "registry", "--home", home, "publish", "-o", pub)
    _run(token_env, "verifier", "--cache", bank, "sync", pub)
    held = json.loads(_run(token_env, "verifier", "--cache", bank, "status", "--json"))
    assert held["root_version"] == 3  # the timestamp rotation, then the root rotation

    db = tmp_path / "office" / "registry.db"
    import sqlite3

    from registry.issuance import payload_text

    with sqlite3.connect(db) as conn:
        payloads = {n: payload_text(p) for n, p in conn.execute("SELECT number, payload FROM cards")}
    revoked = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", bank, "check", payloads[number]],
                             env=token_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert revoked.returncode == 1 and "REVOKED" in revoked.stdout
    assert "VALID (VALID)" in _run(token_env, "verifier", "--cache", bank, "check", payloads[second])

    # No private key byte left the token: none on disk, and the token marks every one unextractable. The one
    # exception is the transparency log's note key: C2SP signed notes need Ed25519, which this office's
    # PKCS#11 layer does not use; it is kept encrypted under the office passphrase (docs/transparency-log.md).
    log_key = tmp_path / "office" / "keys" / "log.key"
    assert b"PRIVATE" not in log_key.read_bytes() and b'"aes-256-gcm"' in log_key.read_bytes()
    files = [p for p in (tmp_path / "office").rglob("*") if p.is_file() and p != log_key]
    assert not [p for p in files if p.suffix in (".key", ".pem")]
    assert not [p for p in files if b"PRIVATE KEY" in p.read_bytes() or b"ciphertext" in p.read_bytes()]
    privates = _token_private_keys(token_env)
    kids = {k["kid"] for k in json.loads(_run(token_env, "registry", "--home", home, "keys", "list", "--json"))}
    assert {p["label"] for p in privates} == kids  # 2 + 2 root, 2 timestamp, 2 permit, 2 status
    assert len(privates) == 10
    for private in privates:
        assert private["sensitive"] is True and private["extractable"] is False
        assert private["never_extractable"] is True and private["value_readable"] is False


def test_each_root_officer_holds_a_token_of_their_own(token_env: dict[str, str], tmp_path: Path) -> None:
    """A 2-of-3 root, one token (and PIN) per officer: one officer alone cannot sign a new root version,
    two can; a rotation to new officers' tokens reaches the verifier by sync."""
    env = {k: v for k, v in token_env.items() if k != "PERMIT_REGISTRY_PKCS11_PIN"}
    env["PERMIT_REGISTRY_PKCS11_PIN_OFFICE"] = PIN
    for label in ("r1", "r2", "r3", "n1", "n2"):
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", f"pin-{label}",
                        "--so-pin", "12345678"], env=env, check=True, capture_output=True)
    officers = {label: {f"PERMIT_REGISTRY_PKCS11_PIN_{label.upper()}": f"pin-{label}"} for label in
                ("r1", "r2", "r3", "n1", "n2")}
    home, pub, bank = str(tmp_path / "office"), str(tmp_path / "pub"), str(tmp_path / "bank")
    everyone = {**env, **officers["r1"], **officers["r2"], **officers["r3"]}
    _run(everyone, "registry", "--home", home, "init", "--token", LABEL, "--root-keys", "3", "--root-threshold",
         "2", "--root-token", "r1", "--root-token", "r2", "--root-token", "r3")
    keys = json.loads(_run(env, "registry", "--home", home, "keys", "list", "--json"))
    roots = sorted(k["location"] for k in keys if k["use"] == "root")
    assert roots == [f"pkcs11 token {t}" for t in ("r1", "r2", "r3")]
    _run(env, "registry", "--home", home, "publish", "-o", pub)
    _run(env, "verifier", "--cache", bank, "sync", pub, "--root", str(Path(pub) / "metadata" / "root.json"))

    alone = subprocess.run([sys.executable, "-m", "registry.cli", "--home", home, "keys", "rotate", "--use",
                            "timestamp"], env={**env, **officers["r2"]}, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert alone.returncode == 4 and "BAD_PASSPHRASE" in alone.stderr and "1 of the 2" in alone.stderr
    assert not (tmp_path / "office" / "published" / "metadata" / "2.root.json").exists()

    two = {**env, **officers["r1"], **officers["r3"]}
    _run({**two, **officers["n1"], **officers["n2"]}, "registry", "--home", home, "keys", "rotate", "--use", "root",
         "--root-keys", "2", "--root-threshold", "2", "--root-token", "n1", "--root-token", "n2")
    _run(env, "registry", "--home", home, "publish", "-o", pub)
    _run(env, "verifier", "--cache", bank, "sync", pub)
    assert json.loads(_run(env, "verifier", "--cache", bank, "status", "--json"))["root_version"] == 2
    root_v2 = json.loads((Path(pub) / "metadata" / "2.root.json").read_bytes())
    assert len(root_v2["signatures"]) == 4 and root_v2["signed"]["roles"]["root"]["threshold"] == 2
