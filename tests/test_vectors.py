"""The conformance kit in docs/test-vectors/: reproducible, and every vector gives its expected
verdict and reason through the real `verifier` command, from its text and from its QR image, and
every signature verifies with an independent COSE implementation (python-cwt, in its own venv)."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from keys import base45
from keys.algorithms import load_public_pem
from keys.cose import decode_sign1
from keys.errors import StatusError
from keys.statuslist import verify_status_list
from keys.trustlist import parse_trust_list, verify_trust_list
from verifier.check import check
from verifier.cli import cli
from verifier.status import CachedStatus

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "docs" / "test-vectors"
MANIFEST = json.loads((VECTORS / "vectors.json").read_text())
PERMIT_VECTORS = MANIFEST["permit_vectors"]
FULL_LOAD = PERMIT_VECTORS[0]["load"]
EXIT = {"valid": 0, "invalid": 1, "indeterminate": 2}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verifier cache that synced the kit's published files: what every vector's "load" names (synced
    at today's clock: the kit's lists are valid from before its load clock until 2099)."""
    directory = tmp_path_factory.mktemp("cache")
    result = CliRunner().invoke(cli, ["--cache", str(directory), "sync", str(VECTORS), "--root",
                                      str(VECTORS / "metadata" / "root.json")])
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="module")
def empty_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("empty")


def _cache_for(vector: dict, cache: Path, empty_cache: Path) -> Path:
    if not vector["load"]:
        return empty_cache
    assert vector["load"] == FULL_LOAD
    return cache


def _loaded(load: dict) -> tuple[object, object]:
    """The kit's files loaded through the library, at the vector's load clock, as a second verifier would."""
    if not load:
        return None, None
    root = load_public_pem((VECTORS / load["root"]).read_bytes())
    trust = verify_trust_list((VECTORS / load["trust_list"]).read_bytes(), root, load["at_epoch"])
    lists = {int(i): verify_status_list((VECTORS / path).read_bytes(), trust, int(i))
             for i, path in load["status_lists"].items()}
    return trust, CachedStatus(lists)


def test_vectors_regenerate_identically(tmp_path: Path) -> None:
    pytest.importorskip("sqlite_utils", reason="the generator is the office's (registry extra); scripts/test runs it")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_vectors.py"), str(tmp_path)], check=True)
    committed = sorted(str(p.relative_to(VECTORS)) for p in VECTORS.rglob("*") if p.is_file() and p.suffix != ".md")
    assert committed == sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(VECTORS, tmp_path, committed, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_every_reason_code_has_a_vector() -> None:
    reasons = {v["expected"]["reason"] for v in PERMIT_VECTORS}
    assert reasons >= {"VALID", "MALFORMED", "UNSUPPORTED_VERSION", "UNKNOWN_KEY", "BAD_SIGNATURE",
                       "KEY_NOT_VALID", "KEY_COMPROMISED", "NOT_YET_VALID", "EXPIRED", "NO_TRUST_LIST",
                       "TRUST_LIST_STALE", "REVOKED", "SUSPENDED", "SUPERSEDED", "STATUS_STALE", "STATUS_UNKNOWN",
                       "STATUS_INDEX_INVALID"}


def _expect(out: dict, vector: dict) -> None:
    expected = vector["expected"]
    assert (out["verdict"], out["reason"]) == (expected["verdict"], expected["reason"]), out["detail"]
    assert out["permit"] == expected["permit"]


@pytest.mark.parametrize("vector", PERMIT_VECTORS, ids=[v["name"] for v in PERMIT_VECTORS])
def test_vector_through_the_library(vector: dict) -> None:
    trust, status = _loaded(vector["load"])
    _expect(check(vector["payload"], trust, vector["at_epoch"], status).to_json(), vector)


def _check(cache: Path, item: str, at: str, text: bool = False) -> tuple[int, dict]:
    """`verifier check` of an image file, or with `text` of payload text (--text: a vector's garbage is text)."""
    result = CliRunner().invoke(cli, ["--cache", str(cache), "check", *(["--text"] if text else []), item, "--json",
                                      "--at", at])
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("vector", PERMIT_VECTORS, ids=[v["name"] for v in PERMIT_VECTORS])
def test_vector_from_text(cache: Path, empty_cache: Path, vector: dict) -> None:
    code, out = _check(_cache_for(vector, cache, empty_cache), vector["payload"], vector["at"], text=True)
    _expect(out, vector)
    assert code == EXIT[vector["expected"]["verdict"]]


@pytest.mark.parametrize("vector", [v for v in PERMIT_VECTORS if "qr" in v],
                         ids=[v["name"] for v in PERMIT_VECTORS if "qr" in v])
def test_vector_from_png(cache: Path, empty_cache: Path, vector: dict) -> None:
    code, out = _check(_cache_for(vector, cache, empty_cache), str(VECTORS / vector["qr"]), vector["at"])
    _expect(out, vector)
    assert code == EXIT[vector["expected"]["verdict"]]


def test_forty_character_name_vector_reads_back(cache: Path) -> None:
    vector = next(v for v in PERMIT_VECTORS if v["name"].endswith("valid-40-char-name"))
    _, out = _check(cache, str(VECTORS / vector["qr"]), vector["at"])
    assert len(out["permit"]["surname"]) + 1 + len(out["permit"]["given_names"]) == 44


@pytest.mark.parametrize("vector", MANIFEST["status_list_vectors"], ids=lambda v: v["name"])
def test_status_list_vectors(vector: dict) -> None:
    root = load_public_pem((VECTORS / vector["root"]).read_bytes())
    trust = verify_trust_list((VECTORS / vector["trust_list"]).read_bytes(), root, vector["at_epoch"])
    data = (VECTORS / vector["status_list"]).read_bytes()
    if vector["expected"] == "OK":
        assert verify_status_list(data, trust, vector["id"]).list_id == vector["id"]
    else:
        with pytest.raises(StatusError) as caught:
            verify_status_list(data, trust, vector["id"])
        assert caught.value.reason == vector["expected"]


def _pem(spki: bytes) -> str:
    return serialization.load_der_public_key(spki).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _independent_verify(messages: list[tuple[bytes, str]]) -> list[dict]:
    """Each (COSE bytes, public key PEM) verified by python-cwt in the interop venv."""
    venv = os.environ.get("PERMIT_VENV", str(ROOT / ".venv"))
    python = Path(f"{venv}-interop") / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the independent COSE library's venv is missing ({python.name} under {venv}-interop): "
                    "run scripts/setup")
    request = json.dumps([{"cose": cose.hex(), "key_pem": pem} for cose, pem in messages])
    proc = subprocess.run([str(python), str(ROOT / "tests" / "interop" / "cose_verify.py")], input=request,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def _trust() -> tuple[bytes, object]:
    raw_list = (VECTORS / "trust-list.cwt").read_bytes()
    return raw_list, parse_trust_list(decode_sign1(raw_list).payload, raw_list)


def test_signatures_verify_with_an_independent_cose_implementation() -> None:
    raw_list, trust = _trust()
    valid = [v for v in PERMIT_VECTORS if v["expected"]["reason"] == "VALID"]
    assert len(valid) >= 5
    messages = [(raw_list, (VECTORS / "root.pem").read_text())]
    owners = []
    for vector in valid:
        cose = base45.decode(vector["payload"].strip()[4:])
        for key in (k for k in trust.keys if k.kid == decode_sign1(cose).kid):
            messages.append((cose, _pem(key.spki)))
            owners.append(vector["name"])
    results = _independent_verify(messages)
    assert results[0]["ok"], results[0]["error"]
    for name in {v["name"] for v in valid}:
        assert any(r["ok"] for r, owner in zip(results[1:], owners, strict=True) if owner == name), name
    for result in (r for r in results[1:] if r["ok"]):
        claims = cbor2.loads(bytes.fromhex(result["payload"]))
        assert claims[1] == "NIA" and claims[-65537][2] == 1


def test_tampered_vector_fails_independently() -> None:
    vector = next(v for v in PERMIT_VECTORS if v["name"].endswith("bad-signature-tampered-byte"))
    _, trust = _trust()
    [result] = _independent_verify([(base45.decode(vector["payload"][4:]), _pem(trust.keys[0].spki))])
    assert not result["ok"] and "Verify" in result["error"]


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
