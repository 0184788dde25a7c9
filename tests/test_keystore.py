"""The issuer's key store: encrypted at rest with a slow KDF, mode 0600, every damaged file named for
what it is, and a lifecycle that only moves forward."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from helpers import NOW

from keys import keyfile
from keys.errors import KeyStoreError, Reason
from keys.keystore import KeyStore
from keys.trustlist import KeyState, KeyUse

PASS = b"correct horse battery"
OFFICERS = [b"officer one passphrase", b"officer two passphrase", b"officer three passphrase"]


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore.create(tmp_path, PASS, NOW)


def _key_file(store: KeyStore, use: KeyUse = KeyUse.PERMIT) -> Path:
    return store.dir / f"{store.active(use).kid.hex()}.key"


def test_private_keys_are_encrypted_with_600000_pbkdf2_iterations_and_private(store: KeyStore) -> None:
    files = list(store.dir.glob("*.key"))
    assert len(files) == 4  # root, timestamp, permit, status
    for path in files:
        body = json.loads(path.read_bytes())
        assert body["kdf"] == {"name": "pbkdf2-sha256", "iterations": 600_000, "salt": body["kdf"]["salt"]}
        assert body["cipher"]["name"] == "aes-256-gcm"
        assert b"PRIVATE KEY" not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((store.dir / "keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700


def test_wrong_passphrase_is_a_clear_error(store: KeyStore, tmp_path: Path) -> None:
    reopened = KeyStore(tmp_path, lambda: b"wrong passphrase!")
    with pytest.raises(KeyStoreError) as info:
        reopened.signer(KeyUse.PERMIT)
    assert info.value.reason is Reason.BAD_PASSPHRASE


@pytest.mark.parametrize("passphrase", [b"short", b"elevenchars"])
def test_passphrase_under_12_characters_refused(tmp_path: Path, passphrase: bytes) -> None:
    with pytest.raises(KeyStoreError, match="at least 12") as info:
        KeyStore.create(tmp_path, passphrase, NOW)
    assert info.value.reason is Reason.BAD_PASSPHRASE
    assert not (tmp_path / "keys").exists()


def test_truncated_key_file_is_named_truncated_not_wrong_passphrase(store: KeyStore, tmp_path: Path) -> None:
    path = _key_file(store)
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(KeyStoreError, match="truncated") as info:
        KeyStore(tmp_path, lambda: PASS).signer(KeyUse.PERMIT)
    assert info.value.reason is Reason.KEY_STORE


def test_corrupt_key_file_is_named_corrupt_not_wrong_passphrase(store: KeyStore, tmp_path: Path) -> None:
    path = _key_file(store)
    body = json.loads(path.read_bytes())
    ciphertext = bytearray(body["ciphertext"].encode())
    ciphertext[10] = ord("A") if ciphertext[10] != ord("A") else ord("B")  # one flipped byte on disk
    body["ciphertext"] = ciphertext.decode()
    path.write_text(json.dumps(body))
    with pytest.raises(KeyStoreError, match="corrupt") as info:
        KeyStore(tmp_path, lambda: PASS).signer(KeyUse.PERMIT)
    assert info.value.reason is Reason.KEY_STORE


def test_garbage_key_file_is_named_corrupt(store: KeyStore, tmp_path: Path) -> None:
    _key_file(store).write_bytes(b"\x00\x01 not json at all")
    with pytest.raises(KeyStoreError, match="corrupt"):
        KeyStore(tmp_path, lambda: PASS).signer(KeyUse.PERMIT)


def test_unencrypted_key_file_is_named_unencrypted(store: KeyStore, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    clear = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _key_file(store).write_bytes(clear)
    with pytest.raises(KeyStoreError, match="unencrypted") as info:
        KeyStore(tmp_path, lambda: PASS).signer(KeyUse.PERMIT)
    assert info.value.reason is Reason.KEY_STORE


def test_key_file_with_weakened_kdf_is_refused(store: KeyStore, tmp_path: Path) -> None:
    """An attacker who can write the file cannot make the next save cheap to brute-force: a file asking
    for fewer iterations than the floor is refused before any passphrase is tried."""
    path = _key_file(store)
    body = json.loads(path.read_bytes())
    body["kdf"]["iterations"] = 2048
    del body["checksum"]
    body["checksum"] = keyfile._checksum(body)
    path.write_text(json.dumps(body))
    with pytest.raises(KeyStoreError, match="weaker"):
        KeyStore(tmp_path, lambda: PASS).signer(KeyUse.PERMIT)


def test_legacy_pem_key_is_upgraded_to_the_strong_format(store: KeyStore, tmp_path: Path) -> None:
    """A store from before (PKCS#8 PEM, PBKDF2 2,048 rounds) still opens, and its file is rewritten."""
    key = store.active(KeyUse.PERMIT)
    private = store.private_key(key)
    legacy = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[union-attr]
                                   serialization.BestAvailableEncryption(PASS))
    (store.dir / f"{key.kid.hex()}.key").unlink()
    (store.dir / f"{key.kid.hex()}.pem").write_bytes(legacy)
    meta = json.loads((store.dir / "keys.json").read_text())
    for record in meta["keys"]:
        if record["kid"] == key.kid.hex():
            record["where"] = {"file": f"{key.kid.hex()}.pem"}
    (store.dir / "keys.json").write_text(json.dumps(meta))
    reopened = KeyStore(tmp_path, lambda: PASS)
    assert reopened.signer(KeyUse.PERMIT)[0].kid == key.kid
    assert not (store.dir / f"{key.kid.hex()}.pem").exists()
    assert json.loads((store.dir / f"{key.kid.hex()}.key").read_bytes())["kdf"]["iterations"] == 600_000


def test_init_refuses_to_overwrite(store: KeyStore, tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        KeyStore.create(tmp_path, PASS, NOW)


def test_root_keys_each_have_their_own_passphrase(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASS, NOW, root_keys=3, root_threshold=2, root_passphrases=OFFICERS)
    assert len(store.roots) == 3 and store.root_threshold == 2
    officers = {1: OFFICERS[0], 3: OFFICERS[2]}
    reopened = KeyStore(tmp_path, lambda: PASS, lambda n, kid: officers.get(n))
    assert len(reopened.root_signers()) == 2  # officers 1 and 3 present: the threshold is met
    alone = KeyStore(tmp_path, lambda: PASS, lambda n, kid: officers.get(n) if n == 1 else None)
    with pytest.raises(KeyStoreError, match="1 of the 2 root keys"):
        alone.root_signers()
    office_only = KeyStore(tmp_path, lambda: PASS)  # the office passphrase opens no root key of a 2-of-3
    with pytest.raises(KeyStoreError, match="0 of the 2"):
        office_only.root_signers()


def test_two_officers_with_one_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="its own passphrase"):
        KeyStore.create(tmp_path, PASS, NOW, root_keys=2, root_threshold=2,
                        root_passphrases=[OFFICERS[0], OFFICERS[0]])


def test_rotate_retires_previous(store: KeyStore, tmp_path: Path) -> None:
    old = store.active(KeyUse.PERMIT)
    new = store.rotate(KeyUse.PERMIT, NOW + 100)
    reopened = KeyStore(tmp_path, lambda: PASS)
    assert reopened.active(KeyUse.PERMIT).kid == new.kid
    retired = reopened.find(old.kid.hex())
    assert retired.state is KeyState.RETIRED and retired.not_after == NOW + 100
    assert reopened.active(KeyUse.STATUS).state is KeyState.ACTIVE


def test_lifecycle_only_moves_forward(store: KeyStore) -> None:
    key = store.active(KeyUse.PERMIT)
    with pytest.raises(KeyStoreError, match="only active"):
        store.retire(key.kid.hex(), NOW)
    store.compromise(key.kid.hex(), NOW + 5)
    with pytest.raises(KeyStoreError, match="compromised"):
        store.retire(key.kid.hex(), NOW + 6)
    with pytest.raises(KeyStoreError, match="no active permit key"):
        store.signer(KeyUse.PERMIT)
    with pytest.raises(KeyStoreError, match="no issuing key"):
        store.find("00" * 8)
