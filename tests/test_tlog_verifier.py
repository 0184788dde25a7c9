"""The log as verifiers see it: sync keeps the newest checkpoint and refuses a fork, `check --require-logged`
refuses an off-record permit, `log monitor` finds status bits without a logged act, and Go's x/mod verifies
the inclusion proof `registry log prove` prints against the published checkpoint."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REGISTRY_PASSPHRASE
from office_adapters import APPLICANT, OTHER, cli_run, enrol
from test_tlog_independent import verifylog  # noqa: F401 - the fixture that builds the Go verifier
from test_tlog_office import _issue, http_dir  # noqa: F401 - a fixture serving a directory on 127.0.0.1

from keys import base45
from keys.errors import Reason
from keys.permit import PREFIX, Permit, encode_permit
from keys.trustlist import KeyUse
from registry.home import Home
from verifier.cli import cli as verifier_cli


def vrun(cache: Path, *args: str):
    return CliRunner().invoke(verifier_cli, ["--cache", str(cache), *args])


@pytest.fixture
def office(registry_home: Path, tmp_path: Path) -> dict:
    tokens = enrol(registry_home)
    number = _issue(registry_home, tokens, tmp_path, APPLICANT)
    out = tmp_path / "public"
    assert cli_run(registry_home, None, "publish", "-o", str(out)).exit_code == 0
    cache = tmp_path / "bank"
    r = vrun(cache, "sync", str(out), "--root", str(out / "metadata" / "root.json"))
    assert r.exit_code == 0, r.output
    return {"home": registry_home, "tokens": tokens, "number": number, "out": out, "cache": cache, "tmp": tmp_path}


def _held(cache: Path, name: str) -> bytes:
    return (cache / "current" / "log" / name).read_bytes()


def test_sync_keeps_the_newest_checkpoint_and_the_pinned_log_key(office: dict) -> None:
    out, cache = office["out"], office["cache"]
    assert _held(cache, "checkpoint") == (out / "log" / "checkpoint").read_bytes()
    assert _held(cache, "key.vkey") == (out / "log" / "key.vkey").read_bytes()
    _issue(office["home"], office["tokens"], office["tmp"], OTHER)
    assert cli_run(office["home"], None, "publish", "-o", str(out)).exit_code == 0
    r = vrun(cache, "sync", str(out))
    assert r.exit_code == 0, r.output
    assert _held(cache, "checkpoint") == (out / "log" / "checkpoint").read_bytes()
    state = json.loads(_held(cache, "state.json"))
    assert len(_held(cache, "cards")) == 2 * 32 and state["size"] > 0


def test_sync_over_http_proves_the_new_checkpoint_from_the_tiles(office: dict, http_dir) -> None:  # noqa: F811
    out, cache = office["out"], office["cache"]
    _issue(office["home"], office["tokens"], office["tmp"], OTHER)
    assert cli_run(office["home"], None, "publish", "-o", str(out)).exit_code == 0
    r = vrun(cache, "sync", http_dir(out))
    assert r.exit_code == 0, r.output
    assert _held(cache, "checkpoint") == (out / "log" / "checkpoint").read_bytes()
    assert len(_held(cache, "cards")) == 2 * 32


def test_forked_log_is_refused_by_sync(office: dict, tmp_path: Path) -> None:
    """The office shows this verifier one history, then (after restoring an old register) another that
    does not contain it, signed with the same log key: sync says LOG_INCONSISTENT and keeps its cache."""
    home, tokens, cache = office["home"], office["tokens"], office["cache"]
    backup = tmp_path / "before.db"
    assert cli_run(home, None, "backup", "-o", str(backup)).exit_code == 0
    assert cli_run(home, tokens["officer"], "suspend", office["number"]).exit_code == 0
    assert cli_run(home, None, "publish", "-o", str(office["out"])).exit_code == 0
    assert vrun(cache, "sync", str(office["out"])).exit_code == 0
    held = _held(cache, "checkpoint")
    generation = (cache / "current").resolve()
    assert cli_run(home, None, "restore", str(backup)).exit_code == 0
    _issue(home, tokens, tmp_path, OTHER)  # another history from the same point
    forked = tmp_path / "forked"
    shutil.copytree(office["out"] / "metadata", forked / "metadata")  # the same TUF repository, moving on
    shutil.copytree(office["out"] / "targets", forked / "targets")
    r = cli_run(home, None, "publish", "-o", str(forked))
    assert r.exit_code == 0, r.output
    r = vrun(cache, "sync", str(forked))
    assert r.exit_code != 0 and getattr(r.exception, "reason", None) is Reason.LOG_INCONSISTENT, r.output
    assert _held(cache, "checkpoint") == held and (cache / "current").resolve() == generation


def test_a_changed_log_key_is_refused_by_sync(office: dict) -> None:
    home, out, cache = office["home"], office["out"], office["cache"]
    (home / "keys" / "log.key").unlink()  # the office (or an intruder) starts a new log with a new key
    shutil.rmtree(out / "log")
    assert cli_run(home, None, "publish", "-o", str(out)).exit_code == 0
    r = vrun(cache, "sync", str(out))
    assert r.exit_code != 0 and getattr(r.exception, "reason", None) is Reason.LOG_INCONSISTENT, r.output


def _forge(home: Path, number: str, now: int) -> str:
    """A permit signed with the office's own permit key, straight from the key store: never in the register."""
    keys = Home(home, lambda: REGISTRY_PASSPHRASE.encode()).keys()
    key, private = keys.signer(KeyUse.PERMIT)
    db = sqlite3.connect(home / "registry.db")
    status_list, status_index = db.execute("SELECT status_list, status_index FROM cards WHERE number = ?",
                                           (number,)).fetchone()
    from datetime import date

    permit = Permit(number=number, card=7, surname="SMITH", given_names="JOHN PAUL", chinese_name=None, sex="M",
                    birth_date=date(1979, 11, 3), nationality="USA", category="talent", authority="NIA",
                    valid_from=now - 86400, valid_until=now + 86400 * 365, signed_at=now,
                    status_list=status_list, status_index=status_index)
    return encode_permit(permit, private, key.kid)


def test_require_logged_refuses_a_permit_signed_with_the_office_key_but_never_logged(office: dict) -> None:
    home, cache, out = office["home"], office["cache"], office["out"]
    now = int(time.time())
    forged = _forge(home, office["number"], now)
    time.sleep(1)
    assert cli_run(home, None, "publish", "-o", str(out)).exit_code == 0
    assert vrun(cache, "sync", str(out)).exit_code == 0
    plain = vrun(cache, "check", forged, "--json")
    assert json.loads(plain.stdout)["reason"] == "VALID"  # the signature alone cannot tell
    r = vrun(cache, "check", forged, "--json", "--require-logged", "--log-interval", "0")
    assert r.exit_code == 1 and json.loads(r.stdout)["reason"] == "NOT_LOGGED", r.output
    # the genuine card, issued through the register, passes
    cose = sqlite3.connect(home / "registry.db").execute(
        "SELECT payload FROM cards WHERE number = ? AND state = 'current'", (office["number"],)).fetchone()[0]
    payload = PREFIX + base45.encode(bytes(cose))
    r = vrun(cache, "check", payload, "--json", "--require-logged", "--log-interval", "0")
    assert r.exit_code == 0 and json.loads(r.stdout)["reason"] == "VALID", r.output


def test_require_logged_waits_for_the_log_to_cover_the_signing_time(office: dict) -> None:
    forged = _forge(office["home"], office["number"], int(time.time()))
    r = vrun(office["cache"], "check", forged, "--json", "--require-logged")  # default interval: one hour
    assert r.exit_code == 0 and json.loads(r.stdout)["reason"] == "VALID"


def test_log_monitor_finds_a_status_bit_without_a_logged_act(office: dict) -> None:
    home, cache, out = office["home"], office["cache"], office["out"]
    r = vrun(cache, "log", "monitor", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"], r.output
    db = sqlite3.connect(home / "registry.db")
    db.execute("UPDATE allocations SET value = 1")  # revoked off the record
    db.commit()
    db.close()
    time.sleep(1)
    assert cli_run(home, None, "publish", "-o", str(out)).exit_code == 0
    assert vrun(cache, "sync", str(out)).exit_code == 0
    r = vrun(cache, "log", "monitor", str(out), "--json")
    assert r.exit_code == 1
    findings = json.loads(r.stdout)["findings"]
    assert [(f["published"], f["logged"]) for f in findings] == [(1, 0)]


def test_log_monitor_accepts_logged_transitions(office: dict) -> None:
    home, cache, out, tokens = office["home"], office["cache"], office["out"], office["tokens"]
    assert cli_run(home, tokens["officer"], "replace", office["number"], "--reason", "lost").exit_code == 0
    assert cli_run(home, tokens["officer"], "suspend", office["number"]).exit_code == 0
    time.sleep(1)
    assert cli_run(home, None, "publish", "-o", str(out)).exit_code == 0
    assert vrun(cache, "sync", str(out)).exit_code == 0
    r = vrun(cache, "log", "monitor", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"], r.output


def test_go_x_mod_verifies_the_proof_registry_log_prove_prints(office: dict, verifylog: Path) -> None:  # noqa: F811
    r = cli_run(office["home"], None, "log", "prove", office["number"], "--json")
    assert r.exit_code == 0, r.output
    proof = json.loads(r.stdout)
    request = json.dumps({"index": proof["leaf_index"],
                          "leaf_hash": base64.b64encode(bytes.fromhex(proof["leaf_hash"])).decode(),
                          "proof": [base64.b64encode(bytes.fromhex(h)).decode() for h in proof["inclusion_proof"]],
                          "old_size": 0, "old_root": "", "consistency": []})
    result = subprocess.run([str(verifylog), str(office["out"] / "log")], input=request, capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "OK"), result.stdout + result.stderr
    bad = json.loads(request)
    bad["index"] = proof["leaf_index"] - 1
    result = subprocess.run([str(verifylog), str(office["out"] / "log")], input=json.dumps(bad),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
