"""The office's TUF repository end to end: freshness over a day of 15-minute publishes, roots held
jointly and rotated, the online key rotated, what a verifier holds, and private data files."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from office_adapters import cli_run, enrol

from keys.errors import KeyStoreError, Reason
from registry import store
from registry.cli import cli as registry_cli
from registry.home import Home
from registry.issuance import payload_text
from registry.publish import publish
from verifier.cache import Cache, epoch
from verifier.check import check
from verifier.cli import cli as verifier_cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = str(ROOT / "samples" / "smith-john.json")
PASS = "correct horse battery"
OFFICERS = ["officer one, first key", "officer two, first key", "officer three, first key"]
NEW_OFFICERS = ["officer one, second key", "officer two, second key", "officer three, second key"]
BANK = 3600


def office(home: Path, *args: str, ok: bool = True):
    result = CliRunner().invoke(registry_cli, ["--home", str(home), *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def issue(home: Path) -> str:
    """A permit issued the way the office must: a clerk proposes, a second officer approves."""
    tokens = enrol(home)
    proposal = cli_run(home, tokens["clerk"], "issue", "--json", SAMPLE)
    assert proposal.exit_code == 0, (proposal.output, proposal.exception)
    approved = cli_run(home, tokens["officer2"], "approve", proposal.stdout.strip())
    assert approved.exit_code == 0, (approved.output, approved.exception)
    return approved.stdout.strip()


def verifier(cache: Path, *args: str, ok: bool = True):
    result = CliRunner().invoke(verifier_cli, ["--cache", str(cache), *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def _permit_text(home: Path, number: str) -> str:
    db = store.open_store(home / "registry.db")
    return payload_text(store.one(db, "SELECT payload FROM cards WHERE number = ?", (number,))["payload"])


def test_publish_and_sync_every_15_minutes_for_24_hours_never_reads_stale(registry_home: Path,
                                                                         tmp_path: Path) -> None:
    """Simulated clock passed in. A bank (1 h allowance) checks right after each sync and again just before
    the next one. The lists' own signing time goes far past an hour (they are re-signed only after 24 h), so
    this would read STATUS_STALE most of the day if the age came from the list rather than the timestamp."""
    number = issue(registry_home)
    text = _permit_text(registry_home, number)
    home = Home(registry_home, lambda: PASS.encode())
    pub, cache = tmp_path / "pub", Cache(tmp_path / "bank")
    start = int(time.time()) + 60
    oldest_signature, least_life, reasons, ages = 0, 10**9, set(), []
    for step in range(24 * 4 + 4):  # a little over a day: the lists are re-signed on the way
        now = start + step * 900
        publish(home, pub, now)
        cache.sync(str(pub), now + 20, (pub / "metadata" / "root.json").read_bytes() if step == 0 else None)
        for at in (now + 30, now + 890):
            trust, status = cache.trust_list(), cache.status_lookup(BANK)
            result = check(text, trust, at, status)
            reasons.add(result.reason)
            ages.append(result.status_age)
            held = status.lists[1]  # type: ignore[union-attr]
            oldest_signature = max(oldest_signature, at - held.issued_at)
            least_life = min(least_life, held.expires_at - at)
    assert reasons == {Reason.VALID}
    assert max(ages) <= 900  # never older than one publishing interval
    assert oldest_signature > 12 * BANK  # the list itself was signed long ago: freshness is the timestamp's
    assert least_life > 20 * BANK  # and it was re-signed well before its 48 h expiry


def test_root_held_2_of_3_rotates_and_a_verifier_follows_by_sync_alone(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", PASS)
    for i, secret in enumerate(OFFICERS, 1):
        monkeypatch.setenv(f"PERMIT_REGISTRY_ROOT_PASSPHRASE_{i}", secret)
    home, pub, bank = tmp_path / "office", tmp_path / "pub", tmp_path / "bank"
    init = office(home, "init", "--root-keys", "3", "--root-threshold", "2")
    assert "2-of-3 root" in init.output
    number = issue(home)
    office(home, "publish", "-o", str(pub))
    verifier(bank, "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    root_v1 = json.loads((pub / "metadata" / "1.root.json").read_bytes())["signed"]
    assert root_v1["roles"]["root"]["threshold"] == 2 and len(root_v1["roles"]["root"]["keyids"]) == 3

    # The ceremony: officers 1 and 3 of the old root are present, and three new officers.
    monkeypatch.delenv("PERMIT_REGISTRY_ROOT_PASSPHRASE_2")
    for i, secret in enumerate(NEW_OFFICERS, 1):
        monkeypatch.setenv(f"PERMIT_REGISTRY_NEW_ROOT_PASSPHRASE_{i}", secret)
    office(home, "keys", "rotate", "--use", "root")
    office(home, "publish", "-o", str(pub))
    root_v2 = json.loads((pub / "metadata" / "2.root.json").read_bytes())
    assert len(root_v2["signatures"]) == 4  # two of the old threshold, two of the new
    assert set(root_v2["signed"]["roles"]["root"]["keyids"]).isdisjoint(root_v1["roles"]["root"]["keyids"])

    verifier(bank, "sync", str(pub))  # no --root, no manual step
    held = json.loads(verifier(bank, "status", "--json").output)
    assert held["root_version"] == 2
    assert verifier(bank, "check", _permit_text(home, number), ok=False).exit_code == 0

    # One officer alone cannot change the root: nothing is written.
    for i, secret in enumerate(NEW_OFFICERS, 1):
        monkeypatch.setenv(f"PERMIT_REGISTRY_ROOT_PASSPHRASE_{i}", secret)
    monkeypatch.delenv("PERMIT_REGISTRY_ROOT_PASSPHRASE_2")
    monkeypatch.delenv("PERMIT_REGISTRY_ROOT_PASSPHRASE_3")
    keys_before = (home / "keys" / "keys.json").read_bytes()
    refused = office(home, "keys", "rotate", "--use", "timestamp", ok=False)
    assert isinstance(refused.exception, KeyStoreError) and refused.exception.reason is Reason.BAD_PASSPHRASE
    assert (home / "keys" / "keys.json").read_bytes() == keys_before
    assert not (home / "published" / "metadata" / "3.root.json").exists()

    # The online key rotated by the new threshold: root version 3, followed on the next sync.
    monkeypatch.setenv("PERMIT_REGISTRY_ROOT_PASSPHRASE_2", NEW_OFFICERS[1])
    office(home, "keys", "rotate", "--use", "timestamp")
    office(home, "publish", "-o", str(pub))
    verifier(bank, "sync", str(pub))
    assert json.loads(verifier(bank, "status", "--json").output)["root_version"] == 3
    assert verifier(bank, "check", _permit_text(home, number), ok=False).exit_code == 0


def test_lone_root_is_allowed_for_a_demo_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", PASS)
    result = CliRunner().invoke(registry_cli, ["--home", str(tmp_path / "demo"), "init"])
    assert result.exit_code == 0 and "1-of-1 root" in result.output


def test_root_version_signed_only_by_the_new_keys_is_refused_by_the_verifier(registry_home: Path,
                                                                           tmp_path: Path) -> None:
    """A thief with the online key and new root keys of his own cannot make a root the old keys did not
    sign: python-tuf refuses it and the verifier stays on its root."""
    from tuf.api.metadata import Metadata, Root

    from keys import algorithms
    from keys.tufkeys import TufSigner, tuf_key

    pub, bank = tmp_path / "pub", tmp_path / "bank"
    office(registry_home, "publish", "-o", str(pub))
    verifier(bank, "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    root = Metadata[Root].from_file(str(pub / "metadata" / "1.root.json"))
    thief = algorithms.generate_private_key(algorithms.ES256)
    for keyid in list(root.signed.roles["root"].keyids):
        root.signed.revoke_key(keyid, "root")
    root.signed.add_key(tuf_key(thief.public_key()), "root")
    root.signed.version = 2
    root.signatures.clear()
    root.sign(TufSigner(thief))
    (pub / "metadata" / "2.root.json").write_bytes(root.to_bytes())
    refused = verifier(bank, "sync", str(pub), ok=False)
    assert refused.exception.reason is Reason.SYNC_BAD_SIGNATURE  # type: ignore[union-attr]
    assert json.loads(verifier(bank, "status", "--json").output)["root_version"] == 1


def test_status_json_shows_what_the_verifier_holds(registry_home: Path, tmp_path: Path) -> None:
    issue(registry_home)
    pub, bank = tmp_path / "pub", tmp_path / "bank"
    office(registry_home, "publish", "-o", str(pub))
    verifier(bank, "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    state = Cache(bank).sync_state()
    at = epoch(state["timestamp_issued"]) + 125  # type: ignore[index]
    held = json.loads(verifier(bank, "status", "--json", "--at", str(at)).output)
    assert held["root_version"] == 1 and held["trust_list_version"] == 1
    for field in ("last_sync", "timestamp_expires", "timestamp_issued"):
        assert held[field].endswith("Z") and epoch(held[field]) > 0
    assert [(s["id"], s["age_seconds"]) for s in held["status_lists"]] == [(1, 125)]
    assert held["timestamp_expired"] is False


def test_health_shows_what_the_verifier_holds(registry_home: Path, tmp_path: Path) -> None:
    from verifier.server.app import create_app

    issue(registry_home)
    pub, bank = tmp_path / "pub", tmp_path / "bank"
    office(registry_home, "publish", "-o", str(pub))
    verifier(bank, "sync", str(pub), "--root", str(pub / "metadata" / "root.json"))
    issued = epoch(Cache(bank).sync_state()["timestamp_issued"])  # type: ignore[index]
    app = create_app(bank, {"CLOCK": lambda: issued + 60})
    body = app.test_client().get("/health").get_json()
    assert body["root_version"] == 1 and body["trust_list_version"] == 1
    assert body["status_lists"][0]["age_seconds"] == 60
    assert body["timestamp_expires"].endswith("Z") and body["last_sync"].endswith("Z")


def test_world_readable_register_is_made_private_again(registry_home: Path) -> None:
    db = registry_home / "registry.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(registry_home.stat().st_mode) == 0o700
    os.chmod(db, 0o644)
    os.chmod(registry_home, 0o755)
    store.open_store(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(registry_home.stat().st_mode) == 0o700
    for side in registry_home.glob("registry.db-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600


def test_world_readable_service_db_is_made_private_again(tmp_path: Path) -> None:
    from verifier.server import orgs

    cache = tmp_path / "bank"
    orgs.connect(cache).close()
    db = cache / orgs.DB_FILE
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    os.chmod(db, 0o644)
    os.chmod(cache, 0o755)
    orgs.connect(cache).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_register_whose_mode_cannot_be_fixed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user's file (chmod fails with EPERM) is refused rather than used world-readable."""
    db = tmp_path / "home" / "registry.db"
    db.parent.mkdir(mode=0o700)
    db.touch(mode=0o644)
    os.chmod(db, 0o644)

    def refuse(path: object, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(KeyStoreError, match="readable by others"):
        store.open_store(db)


def test_root_ceremony_killed_after_the_root_was_written_is_completed(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The new root version is on disk but the key store still lists the old keys as pending-new: the next
    publish installs them (the root says so) and goes on."""
    from keys.layout import METADATA_DIR
    from registry.repository import Repository
    from registry.rotation import lifetimes

    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", PASS)
    home_dir = tmp_path / "office"
    office(home_dir, "init")
    home = Home(home_dir, lambda: PASS.encode())
    keys, repo = home.keys(), Repository(home_dir / "published" / METADATA_DIR)
    old = [private for _, private in keys.root_signers()]
    new = keys.new_roots(1, 1, [NEW_OFFICERS[0].encode()], int(time.time()))
    signer = keys.private_key(new[0], lambda: NEW_OFFICERS[0].encode())
    repo.write_root(new, 1, keys.timestamp_key(), int(time.time()), [*old, signer], lifetimes(home.config()))
    # killed here: install_roots never ran
    fresh = Home(home_dir, lambda: PASS.encode())
    report = publish(fresh, tmp_path / "pub", int(time.time()))
    assert report.root_version == 2
    assert [k.kid for k in fresh.keys().active_roots()] == [new[0].kid]
    assert fresh.keys().pending_roots == []


def test_root_ceremony_killed_before_the_root_was_written_is_abandoned(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", PASS)
    home_dir = tmp_path / "office"
    office(home_dir, "init")
    home = Home(home_dir, lambda: PASS.encode())
    before = [k.kid for k in home.keys().active_roots()]
    new = home.keys().new_roots(1, 1, [NEW_OFFICERS[0].encode()], int(time.time()))
    # killed here: no root version names the new key
    fresh = Home(home_dir, lambda: PASS.encode())
    assert publish(fresh, tmp_path / "pub", int(time.time())).root_version == 1
    assert [k.kid for k in fresh.keys().active_roots()] == before and fresh.keys().pending_roots == []
    assert not (home_dir / "keys" / f"{new[0].kid.hex()}.key").exists()


def test_extra_targets_such_as_a_log_checkpoint_reach_the_verifier(registry_home: Path, tmp_path: Path) -> None:
    """Publish takes extra target files, signed like the lists; the transparency log's checkpoint and key are
    such targets, written by publish itself (a caller cannot replace them)."""
    from keys.errors import PermitError

    home = Home(registry_home, lambda: PASS.encode())
    pub, cache = tmp_path / "pub", Cache(tmp_path / "bank")
    now = int(time.time()) + 10
    notice = b"office closed on 1 October\n"
    publish(home, pub, now, extra_targets={"notices/closures.txt": notice})
    cache.sync(str(pub), now + 5, (pub / "metadata" / "root.json").read_bytes())
    assert (cache.dir / cache.generation() / "notices" / "closures.txt").read_bytes() == notice
    assert (cache.dir / cache.generation() / "log" / "checkpoint").read_bytes() == (pub / "log" / "checkpoint"
                                                                                     ).read_bytes()
    with pytest.raises(PermitError) as info:
        publish(home, pub, now + 30, extra_targets={"log/checkpoint": b"permits.example/log\n42\nq6+5e0fbc1c2a1b3\n"})
    assert info.value.reason is Reason.USAGE
    timestamp_before = (pub / "metadata" / "timestamp.json").read_bytes()
    with pytest.raises(PermitError) as info:
        publish(home, pub, now + 60, extra_targets={"trust-list.cwt": b"not the trust list"})
    assert info.value.reason is Reason.USAGE
    assert (pub / "metadata" / "timestamp.json").read_bytes() == timestamp_before  # nothing was published


def test_home_from_before_tuf_publishes_a_repository_after_the_upgrade(registry_home: Path, tmp_path: Path) -> None:
    """A home written by the previous version (one root key, PKCS#8 PEM files at 2,048 PBKDF2 rounds, no
    timestamp key, no root metadata) publishes: its root key signs root version 1 naming a new timestamp key,
    and each key file is rewritten in the strong format when first used."""
    from cryptography.hazmat.primitives import serialization

    home = Home(registry_home, lambda: PASS.encode())
    keys = home.keys()
    legacy: dict[str, object] = {"trust_list_version": 0, "keys": []}
    for key in [keys.roots[0], *keys.keys]:
        private = keys.private_key(key)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[union-attr]
                                    serialization.BestAvailableEncryption(PASS.encode()))
        (registry_home / "keys" / f"{key.kid.hex()}.pem").write_bytes(pem)
        (registry_home / "keys" / f"{key.kid.hex()}.key").unlink()
        record = {k: v for k, v in keys._to_json(key).items() if k != "where"}
        if key is keys.roots[0]:
            legacy["root"] = record
        else:
            legacy["keys"].append(record)  # type: ignore[union-attr]
    for key in keys.timestamp_keys:
        (registry_home / "keys" / f"{key.kid.hex()}.key").unlink()
    (registry_home / "keys" / "keys.json").write_text(json.dumps(legacy))
    import shutil

    shutil.rmtree(registry_home / "published")

    upgraded = Home(registry_home, lambda: PASS.encode())
    report = publish(upgraded, tmp_path / "pub", int(time.time()) + 5)
    assert report.root_version == 1 and upgraded.keys().timestamp_key() is not None
    root_kid = upgraded.keys().roots[0].kid.hex()  # it signed root version 1, so its file was rewritten
    assert not (registry_home / "keys" / f"{root_kid}.pem").exists()
    assert json.loads((registry_home / "keys" / f"{root_kid}.key").read_bytes())["kdf"]["iterations"] == 600_000
    cache = Cache(tmp_path / "bank")
    cache.sync(str(tmp_path / "pub"), int(time.time()) + 10, (tmp_path / "pub" / "metadata" / "root.json").read_bytes())
    assert cache.trust_list() is not None
