"""The conformance kit in docs/test-vectors/: reproducible, and every vector gives its expected
verdict and reason through the real `verifier` command, from its text and from its QR image, and
every signature verifies with an independent COSE implementation (pycose)."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from pycose.keys import CoseKey
from pycose.messages import CoseMessage

from keys.cose import decode_sign1
from keys.trustlist import parse_trust_list
from verifier import base45
from verifier.cli import cli

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "docs" / "test-vectors"
MANIFEST = json.loads((VECTORS / "vectors.json").read_text())
PERMIT_VECTORS = MANIFEST["permit_vectors"]
EXIT = {"valid": 0, "invalid": 1, "indeterminate": 2}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cache")
    result = CliRunner().invoke(cli, ["--cache", str(directory), "sync", str(VECTORS), "--root",
                                      str(VECTORS / "metadata" / "root.json")])
    assert result.exit_code == 0, result.output
    return directory


def test_vectors_regenerate_identically(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_vectors.py"), str(tmp_path)], check=True)
    committed = sorted(str(p.relative_to(VECTORS)) for p in VECTORS.rglob("*") if p.is_file() and p.suffix != ".md")
    assert committed == sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(VECTORS, tmp_path, committed, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_every_reason_code_has_a_vector() -> None:
    reasons = {v["expected"]["reason"] for v in PERMIT_VECTORS}
    assert reasons >= {"VALID", "MALFORMED", "UNSUPPORTED_VERSION", "UNKNOWN_KEY", "BAD_SIGNATURE",
                       "KEY_NOT_VALID", "KEY_COMPROMISED", "NOT_YET_VALID", "EXPIRED", "TRUST_LIST_STALE",
                       "REVOKED", "SUSPENDED", "SUPERSEDED", "STATUS_STALE", "STATUS_UNKNOWN"}


def _check(cache: Path, item: str, at: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["--cache", str(cache), "check", item, "--json", "--at", at])
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("vector", PERMIT_VECTORS, ids=[v["name"] for v in PERMIT_VECTORS])
def test_vector_from_text(cache: Path, vector: dict) -> None:
    code, out = _check(cache, vector["payload"], vector["at"])
    assert (out["verdict"], out["reason"]) == (vector["expected"]["verdict"], vector["expected"]["reason"])
    assert code == EXIT[vector["expected"]["verdict"]]
    signature_held = {"VALID", "KEY_COMPROMISED", "KEY_NOT_VALID", "NOT_YET_VALID", "EXPIRED", "REVOKED",
                      "SUSPENDED", "SUPERSEDED", "STATUS_STALE", "STATUS_UNKNOWN"}
    assert (out["permit"] is not None) == (out["reason"] in signature_held)


@pytest.mark.parametrize("vector", [v for v in PERMIT_VECTORS if "qr" in v],
                         ids=[v["name"] for v in PERMIT_VECTORS if "qr" in v])
def test_vector_from_png(cache: Path, vector: dict) -> None:
    code, out = _check(cache, str(VECTORS / vector["qr"]), vector["at"])
    assert (out["verdict"], out["reason"]) == (vector["expected"]["verdict"], vector["expected"]["reason"])
    assert code == EXIT[vector["expected"]["verdict"]]


def test_forty_character_name_vector_reads_back(cache: Path) -> None:
    vector = next(v for v in PERMIT_VECTORS if v["name"].endswith("valid-40-char-name"))
    _, out = _check(cache, str(VECTORS / vector["qr"]), vector["at"])
    assert len(out["permit"]["surname"]) + 1 + len(out["permit"]["given_names"]) == 44


def _cose_key(spki: bytes) -> CoseKey:
    pem = serialization.load_der_public_key(spki).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return CoseKey.from_pem_public_key(pem.decode())


def test_signatures_verify_with_an_independent_cose_implementation() -> None:
    raw_list = (VECTORS / "trust-list.cwt").read_bytes()
    trust_msg = CoseMessage.decode(raw_list)
    root_pem = (VECTORS / "root.pem").read_text()
    trust_msg.key = CoseKey.from_pem_public_key(root_pem)
    assert trust_msg.verify_signature()
    trust = parse_trust_list(decode_sign1(raw_list).payload, raw_list)
    valid = [v for v in PERMIT_VECTORS if v["expected"]["reason"] == "VALID"]
    assert len(valid) >= 5
    for vector in valid:
        msg = CoseMessage.decode(base45.decode(vector["payload"][4:]))
        kid = msg.phdr[next(h for h in msg.phdr if h.__name__ == "KID")]
        keys = [k for k in trust.keys if k.kid == kid]
        verified = []
        for k in keys:
            msg.key = _cose_key(k.spki)
            verified.append(msg.verify_signature())
        assert any(verified), vector["name"]
        claims = cbor2.loads(msg.payload)
        assert claims[1] == "NIA" and claims[-65537][2] == 1


def test_tampered_vector_fails_independently() -> None:
    vector = next(v for v in PERMIT_VECTORS if v["name"].endswith("bad-signature-tampered-byte"))
    raw_list = (VECTORS / "trust-list.cwt").read_bytes()
    trust = parse_trust_list(decode_sign1(raw_list).payload, raw_list)
    msg = CoseMessage.decode(base45.decode(vector["payload"][4:]))
    msg.key = _cose_key(trust.keys[0].spki)
    assert not msg.verify_signature()


@pytest.mark.parametrize("vector", MANIFEST["trust_list_vectors"], ids=lambda v: v["name"])
def test_trust_list_vectors(tmp_path: Path, vector: dict) -> None:
    runner = CliRunner()
    base = ["--cache", str(tmp_path)]
    if vector["current"]:
        first = runner.invoke(cli, [*base, "trust", "add", str(VECTORS / vector["current"]), "--root",
                                    str(VECTORS / vector["root"])])
        assert first.exit_code == 0
    result = runner.invoke(cli, [*base, "trust", "add", str(VECTORS / vector["trust_list"]), "--root",
                                 str(VECTORS / vector["root"])])
    if vector["expected"] == "OK":
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0
        assert getattr(result.exception, "reason", None) == vector["expected"]


def test_real_command_batch_mode(cache: Path) -> None:
    """The installed console script, batch mode on stdin: one line per payload, worst exit code."""
    lines = "\n".join(v["payload"] for v in PERMIT_VECTORS[:3] if v["expected"]["verdict"] == "valid")
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache), "check", "-", "--json",
                           "--at", PERMIT_VECTORS[0]["at"]], input=lines + "\n", capture_output=True, text=True,
                          timeout=60)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["reason"] for o in out] == ["VALID"] * 3 and proc.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache), "check", "-",
                          "--at", PERMIT_VECTORS[0]["at"]], input=lines + "\nPR1:GGW\n", capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and bad.stdout.count("\n") >= 4


def test_usage_error_exits_3() -> None:
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "check", "x", "--at", "yesterday"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3


@pytest.mark.parametrize("argument", ["A" * 5000, "hello/" * 100, "x" * 300, "\x01\u202e", "../../etc"])
def test_any_argument_gets_a_verdict_not_a_traceback(cache: Path, argument: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache), "check", argument, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (1, 3) and "Traceback" not in proc.stderr
    if proc.returncode == 1:
        assert json.loads(proc.stdout)["reason"] == "MALFORMED"
