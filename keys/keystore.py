"""The issuer's key store: the root key that signs trust lists, and the issuing keys.

Layout under the registry home: `keys/keys.json` (public metadata: kid, algorithm, use, state,
window, public key) and one `keys/<kid>.pem` per private key, PKCS#8 encrypted with the passphrase
(never written in the clear; files mode 0600). Every change rewrites keys.json atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from keys import algorithms
from keys.algorithms import ES256, PrivateKey
from keys.errors import KeyStoreError, Reason
from keys.files import write_atomic
from keys.trustlist import KeyState, KeyUse, TrustedKey

PASSPHRASE_ENV = "PERMIT_REGISTRY_PASSPHRASE"
MIN_PASSPHRASE = 8
_TRANSITIONS = {
    KeyState.ACTIVE: {KeyState.RETIRED, KeyState.COMPROMISED},
    KeyState.RETIRED: {KeyState.COMPROMISED},
    KeyState.COMPROMISED: set(),
}


class KeyStore:
    """Opened with the passphrase; every private key is decrypted only when it is needed to sign."""

    def __init__(self, home: Path, passphrase: Callable[[], bytes]) -> None:
        """`passphrase` is called only when a private key is needed (listing keys needs none)."""
        self.dir = home / "keys"
        self._passphrase_source = passphrase
        self._private: dict[bytes, PrivateKey] = {}
        meta = self.dir / "keys.json"
        if not meta.exists():
            raise KeyStoreError(f"no key store at {self.dir}; run `registry --home {home} init` first")
        try:
            data = json.loads(meta.read_text())
            self.root = _from_json(data["root"])
            self.keys = [_from_json(k) for k in data["keys"]]
            self.trust_list_version = int(data.get("trust_list_version", 0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"key store metadata {meta} is unreadable: {exc}") from None

    @classmethod
    def create(cls, home: Path, passphrase: bytes, now: int, alg: int = ES256) -> KeyStore:
        """A new store with a root key, a permit-signing key and a status-list-signing key."""
        _check_passphrase(passphrase)
        directory = home / "keys"
        if (directory / "keys.json").exists():
            raise KeyStoreError(f"a key store already exists at {directory}; refusing to overwrite it")
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        root = _new_key(directory, passphrase, alg, KeyUse.PERMIT, now)  # use is irrelevant for the root
        permit = _new_key(directory, passphrase, alg, KeyUse.PERMIT, now)
        status = _new_key(directory, passphrase, alg, KeyUse.STATUS, now)
        _save(directory, root, [permit, status], 0)
        return cls(home, lambda: passphrase)

    def _save(self) -> None:
        _save(self.dir, self.root, self.keys, self.trust_list_version)

    def find(self, kid_hex: str) -> TrustedKey:
        matches = [k for k in self.keys if k.kid.hex() == kid_hex.lower()]
        if not matches:
            raise KeyStoreError(f"no issuing key with kid {kid_hex}")
        return matches[0]

    def active(self, use: KeyUse) -> TrustedKey:
        for key in reversed(self.keys):
            if key.use is use and key.state is KeyState.ACTIVE:
                return key
        raise KeyStoreError(f"no active {use.value} key: run `registry keys rotate --use {use.value}`")

    def private_key(self, key: TrustedKey) -> PrivateKey:
        """Decrypt one private key. A wrong passphrase is a KeyStoreError with reason BAD_PASSPHRASE."""
        if key.kid in self._private:
            return self._private[key.kid]
        path = self.dir / f"{key.kid.hex()}.pem"
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"cannot read private key {path}: {exc.strerror}") from None
        try:
            loaded = serialization.load_pem_private_key(pem, password=self._passphrase_source())
        except (ValueError, TypeError):
            raise KeyStoreError("wrong passphrase for the key store", Reason.BAD_PASSPHRASE) from None
        self._private[key.kid] = loaded  # type: ignore[assignment]
        return loaded  # type: ignore[return-value]

    def root_private(self) -> PrivateKey:
        return self.private_key(self.root)

    def signer(self, use: KeyUse) -> tuple[TrustedKey, PrivateKey]:
        key = self.active(use)
        return key, self.private_key(key)

    def check_passphrase(self) -> None:
        self.root_private()

    def rotate(self, use: KeyUse, now: int, alg: int = ES256) -> TrustedKey:
        """A new active key for `use`; the previous active one is retired (its window closes now)."""
        self.check_passphrase()
        new = _new_key(self.dir, self._passphrase_source(), alg, use, now)
        self.keys = [
            replace(k, state=KeyState.RETIRED, not_after=now) if k.use is use and k.state is KeyState.ACTIVE else k
            for k in self.keys
        ] + [new]
        self._save()
        return new

    def retire(self, kid_hex: str, now: int) -> TrustedKey:
        key = self.find(kid_hex)
        actives = [k for k in self.keys if k.use is key.use and k.state is KeyState.ACTIVE]
        if actives == [key]:
            raise KeyStoreError(f"{kid_hex} is the only active {key.use.value} key: rotate instead of retiring it")
        return self._transition(key, KeyState.RETIRED, now)

    def compromise(self, kid_hex: str, now: int) -> TrustedKey:
        return self._transition(self.find(kid_hex), KeyState.COMPROMISED, now)

    def _transition(self, key: TrustedKey, state: KeyState, now: int) -> TrustedKey:
        if state not in _TRANSITIONS[key.state]:
            raise KeyStoreError(f"key {key.kid.hex()} is {key.state.value}; it cannot become {state.value}")
        self.check_passphrase()
        not_after = now if key.not_after is None or key.not_after > now else key.not_after
        updated = replace(key, state=state, not_after=not_after)
        self.keys = [updated if k is key else k for k in self.keys]
        self._save()
        return updated

    def next_trust_list_version(self) -> int:
        self.trust_list_version += 1
        self._save()
        return self.trust_list_version


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def _check_passphrase(passphrase: bytes) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyStoreError(f"the passphrase must have at least {MIN_PASSPHRASE} characters", Reason.BAD_PASSPHRASE)


def _new_key(directory: Path, passphrase: bytes, alg: int, use: KeyUse, now: int) -> TrustedKey:
    private = algorithms.generate_private_key(alg)
    public = private.public_key()
    kid = algorithms.key_id(public)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    write_atomic(directory / f"{kid.hex()}.pem", pem, mode=0o600)
    return TrustedKey(kid, alg, use, algorithms.spki_der(public), now, None, KeyState.ACTIVE)


def _to_json(key: TrustedKey) -> dict[str, object]:
    return {
        "kid": key.kid.hex(),
        "alg": algorithms.ALGORITHMS[key.alg],
        "use": key.use.value,
        "state": key.state.value,
        "not_before": key.not_before,
        "not_after": key.not_after,
        "public_key_pem": algorithms.public_pem(key.public_key),
    }


def _from_json(data: dict) -> TrustedKey:
    public = algorithms.load_public_pem(data["public_key_pem"].encode())
    return TrustedKey(
        bytes.fromhex(data["kid"]),
        algorithms.algorithm_id(data["alg"]),
        KeyUse(data["use"]),
        algorithms.spki_der(public),
        int(data["not_before"]),
        None if data["not_after"] is None else int(data["not_after"]),
        KeyState(data["state"]),
    )


def _save(directory: Path, root: TrustedKey, keys: list[TrustedKey], version: int) -> None:
    data = {"root": _to_json(root), "keys": [_to_json(k) for k in keys], "trust_list_version": version}
    write_atomic(directory / "keys.json", json.dumps(data, indent=2).encode() + b"\n", mode=0o600)
