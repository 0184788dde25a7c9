"""The issuer's key store: encrypted at rest, mode 0600, and a lifecycle that only moves forward."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from helpers import NOW

from keys.errors import KeyStoreError, Reason
from keys.keystore import KeyStore
from keys.trustlist import KeyState, KeyUse

PASS = b"correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore.create(tmp_path, PASS, NOW)


def test_private_keys_are_encrypted_and_private(store: KeyStore) -> None:
    pems = list(store.dir.glob("*.pem"))
    assert len(pems) == 3
    for pem in pems:
        assert b"ENCRYPTED PRIVATE KEY" in pem.read_bytes()
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((store.dir / "keys.json").stat().st_mode) == 0o600


def test_wrong_passphrase_is_a_clear_error(store: KeyStore, tmp_path: Path) -> None:
    reopened = KeyStore(tmp_path, lambda: b"wrong passphrase!")
    with pytest.raises(KeyStoreError) as info:
        reopened.signer(KeyUse.PERMIT)
    assert info.value.reason is Reason.BAD_PASSPHRASE


def test_short_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        KeyStore.create(tmp_path, b"short", NOW)


def test_init_refuses_to_overwrite(store: KeyStore, tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        KeyStore.create(tmp_path, PASS, NOW)


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
