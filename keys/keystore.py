"""The issuer's key store: root keys (held jointly), the online timestamp key, and the issuing keys.

Layout under the registry home: `keys/keys.json` (public metadata: kid, algorithm, use, state,
window, public key, and where the private half lives) and, for keys kept in files, one
`keys/<kid>.key` per private key (keys.keyfile: PBKDF2-HMAC-SHA256 600,000 iterations, AES-256-GCM,
mode 0600, folder 0700). Keys kept in a PKCS#11 token have no file: the record names the token.

Roles:
- root: N keys, threshold M, each with its own passphrase (`PERMIT_REGISTRY_ROOT_PASSPHRASE_<i>` or a
  prompt) or its own token: they sign TUF root metadata only, at init and at rotations;
- timestamp: the office's online metadata key: TUF timestamp, snapshot and targets, and the trust list;
- permit and status: the issuing keys named in the trust list.
Every change rewrites keys.json atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from keys import algorithms, keyfile, pkcs11
from keys.algorithms import ES256, PrivateKey
from keys.errors import Cause, KeyStoreError, Reason
from keys.files import write_atomic
from keys.keyfile import MIN_PASSPHRASE, check_passphrase
from keys.trustlist import KeyState, KeyUse, TrustedKey

PASSPHRASE_ENV = "PERMIT_REGISTRY_PASSPHRASE"
ROOT_PASSPHRASE_ENV = "PERMIT_REGISTRY_ROOT_PASSPHRASE_{n}"
__all__ = ["MIN_PASSPHRASE", "PASSPHRASE_ENV", "KeyStore", "RootPassphrases", "check_passphrase"]
_TRANSITIONS = {
    KeyState.ACTIVE: {KeyState.RETIRED, KeyState.COMPROMISED},
    KeyState.RETIRED: {KeyState.COMPROMISED},
    KeyState.COMPROMISED: set(),
}
# root key number (1-based) and kid -> that officer's passphrase, or None if the officer is absent
RootPassphrases = Callable[[int, str], bytes | None]


class KeyStore:
    """Opened with the passphrase; every private key is decrypted (or found in its token) only when it signs."""

    def __init__(self, home: Path, passphrase: Callable[[], bytes],
                 root_passphrase: RootPassphrases | None = None) -> None:
        """`passphrase` is called only when a private key is needed (listing keys needs none)."""
        self.dir = home / "keys"
        self._passphrase_source = passphrase
        self._root_passphrase = root_passphrase
        self._private: dict[bytes, PrivateKey] = {}
        meta = self.dir / "keys.json"
        if not meta.exists():
            raise KeyStoreError(f"no key store at {self.dir}; run `registry --home {home} init` first")
        try:
            data = json.loads(meta.read_text())
            legacy = "roots" not in data
            roots = [data["root"]] if legacy else data["roots"]
            self.roots = [_from_json(k) for k in roots]
            self.root_threshold = 1 if legacy else int(data["root_threshold"])
            self.timestamp_keys = [_from_json(k) for k in data.get("timestamp", [])]
            self.keys = [_from_json(k) for k in data["keys"]]
            self.trust_list_version = int(data.get("trust_list_version", 0))
            self.token = pkcs11.TokenRef.from_json(data["token"]) if data.get("token") else None
            pending = data.get("pending") or {}
            self.pending_roots = [_from_json(k) for k in pending.get("roots", [])]
            self.pending_threshold = int(pending.get("root_threshold", 0))
            self.pending_timestamp = _from_json(pending["timestamp"]) if pending.get("timestamp") else None
            self._where = {k["kid"]: k.get("where", {"file": f"{k['kid']}.pem"}) for k in
                           [*roots, *data.get("timestamp", []), *data["keys"], *pending.get("roots", []),
                            *([pending["timestamp"]] if pending.get("timestamp") else [])]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"key store metadata {meta} is unreadable: {exc}", cause=Cause.STORAGE) from None

    @classmethod
    def create(cls, home: Path, passphrase: bytes, now: int, alg: int = ES256, *, root_keys: int = 1,
               root_threshold: int = 1, root_passphrases: list[bytes] | None = None,
               token: pkcs11.TokenRef | None = None, root_tokens: list[pkcs11.TokenRef] | None = None) -> KeyStore:
        """A new store: `root_keys` root keys (threshold `root_threshold`), a timestamp key, a permit key and
        a status key. Each root key is encrypted with its own passphrase (the main one for a 1-of-1 root),
        or generated inside its officer's own token (`root_tokens`, one per root key), or, with `token`
        alone, inside the office's token like every other key."""
        check_passphrase(passphrase)
        if not 1 <= root_threshold <= root_keys:
            raise KeyStoreError(f"a root threshold of {root_threshold} needs between 1 and {root_keys} keys",
                                Reason.USAGE)
        directory = home / "keys"
        if (directory / "keys.json").exists():
            raise KeyStoreError(f"a key store already exists at {directory}; refusing to overwrite it",
                                cause=Cause.CONFLICT)
        if token is not None and alg != ES256:
            raise KeyStoreError("keys in a PKCS#11 token are ES256 (P-256); drop --alg", Reason.USAGE)
        if root_tokens is not None and len(root_tokens) != root_keys:
            raise KeyStoreError(f"{root_keys} root keys need {root_keys} tokens, got {len(root_tokens)}", Reason.USAGE)
        passes = _root_passes(root_keys, passphrase, root_passphrases, token if root_tokens is None else root_tokens[0])
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        store = cls.__new__(cls)
        store.dir, store._private, store.token = directory, {}, token
        store._passphrase_source, store._root_passphrase = (lambda: passphrase), None
        store._where, store.trust_list_version, store.root_threshold = {}, 0, root_threshold
        store.pending_roots, store.pending_threshold, store.pending_timestamp = [], 0, None
        tokens = root_tokens or [token] * root_keys
        store.roots = [store._new_key(alg if t is None else ES256, KeyUse.PERMIT, now, p, t)
                       for p, t in zip(passes, tokens, strict=True)]
        store.timestamp_keys = [store._new_key(ES256, KeyUse.PERMIT, now, passphrase)]
        store.keys = [store._new_key(alg, KeyUse.PERMIT, now, passphrase),
                      store._new_key(ES256, KeyUse.STATUS, now, passphrase)]
        store._save()
        return store

    # -- finding keys ---------------------------------------------------------------------------
    def find(self, kid_hex: str) -> TrustedKey:
        matches = [k for k in self.keys if k.kid.hex() == kid_hex.lower()]
        if not matches:
            raise KeyStoreError(f"no issuing key with kid {kid_hex}", cause=Cause.NOT_FOUND)
        return matches[0]

    def active(self, use: KeyUse) -> TrustedKey:
        for key in reversed(self.keys):
            if key.use is use and key.state is KeyState.ACTIVE:
                return key
        raise KeyStoreError(f"no active {use.value} key: run `registry keys rotate --use {use.value}`")

    @property
    def root(self) -> TrustedKey:
        """The first active root key (for display; TUF root metadata names all of them)."""
        return self.active_roots()[0]

    def active_roots(self) -> list[TrustedKey]:
        return [k for k in self.roots if k.state is KeyState.ACTIVE]

    def timestamp_key(self) -> TrustedKey | None:
        active = [k for k in self.timestamp_keys if k.state is KeyState.ACTIVE]
        return active[-1] if active else None

    def location(self, key: TrustedKey) -> str:
        where = self._where.get(key.kid.hex(), {})
        return f"pkcs11 token {where['pkcs11']['token']}" if "pkcs11" in where else "file"

    # -- private keys ---------------------------------------------------------------------------
    def private_key(self, key: TrustedKey, passphrase: Callable[[], bytes] | None = None) -> PrivateKey:
        """The signer of one key: decrypted from its file (a wrong passphrase is BAD_PASSPHRASE; a damaged
        file is named as such) or a handle on its token key."""
        if key.kid in self._private:
            return self._private[key.kid]
        where = self._where.get(key.kid.hex(), {"file": f"{key.kid.hex()}.key"})
        if "pkcs11" in where:
            signer: PrivateKey = pkcs11.Pkcs11Signer(pkcs11.TokenRef.from_json(where["pkcs11"]), key.kid.hex())
        else:
            signer = self._load_file(key, where["file"], passphrase or self._passphrase_source)
        if algorithms.key_id(signer.public_key()) != key.kid:
            raise KeyStoreError(f"the private key found for {key.kid.hex()} is another key", cause=Cause.STORAGE)
        self._private[key.kid] = signer
        return signer

    def _load_file(self, key: TrustedKey, name: str, passphrase: Callable[[], bytes]) -> PrivateKey:
        path = self.dir / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"cannot read private key {path}: {exc.strerror}", cause=Cause.STORAGE) from None
        if name.endswith(".pem") and b"ENCRYPTED PRIVATE KEY" in data:  # a store from before key files v1
            try:
                loaded = serialization.load_pem_private_key(data, password=passphrase())
            except (ValueError, TypeError):
                raise KeyStoreError("wrong passphrase for the key store", Reason.BAD_PASSPHRASE) from None
            self._write_key_file(key.kid, loaded, passphrase())  # upgraded to the strong format
            path.unlink()
            self._save()
            return loaded  # type: ignore[return-value]
        return keyfile.decrypt_key(data, key.kid, passphrase(), str(path))  # type: ignore[return-value]

    def signer(self, use: KeyUse) -> tuple[TrustedKey, PrivateKey]:
        key = self.active(use)
        return key, self.private_key(key)

    def timestamp_signer(self) -> tuple[TrustedKey, PrivateKey]:
        key = self.timestamp_key()
        if key is None:
            raise KeyStoreError("no timestamp key: run `registry keys rotate --use timestamp`")
        return key, self.private_key(key)

    def root_signers(self, roots: list[TrustedKey] | None = None, threshold: int | None = None,
                     ) -> list[tuple[TrustedKey, PrivateKey]]:
        """The root keys whose officers are present (their passphrases or tokens), at least `threshold`."""
        roots = self.active_roots() if roots is None else roots
        threshold = self.root_threshold if threshold is None else threshold
        signers: list[tuple[TrustedKey, PrivateKey]] = []
        for number, key in enumerate(roots, 1):
            if len(signers) >= threshold:
                break
            where = self._where.get(key.kid.hex(), {})
            if "pkcs11" in where:
                if pkcs11.has_pin(pkcs11.TokenRef.from_json(where["pkcs11"])):  # its officer is present
                    signers.append((key, self.private_key(key)))
                continue
            secret = self._root_secret(number, key)
            if secret is not None:
                signers.append((key, self.private_key(key, lambda s=secret: s)))  # type: ignore[misc]
        if len(signers) < threshold:
            raise KeyStoreError(f"{len(signers)} of the {threshold} root keys needed were unlocked; "
                                f"set {ROOT_PASSPHRASE_ENV.format(n='<i>')} for each officer present",
                                Reason.BAD_PASSPHRASE)
        return signers

    def _root_secret(self, number: int, key: TrustedKey) -> bytes | None:
        if self._root_passphrase is not None:
            secret = self._root_passphrase(number, key.kid.hex())
            if secret is not None:
                return secret
        if len(self.roots) == 1:  # the 1-of-1 demo root shares the office passphrase
            return self._passphrase_source()
        return None

    def check_passphrase(self) -> None:
        self.private_key(self.keys[-1] if self.keys else self.roots[0])

    # -- changes --------------------------------------------------------------------------------
    def _new_key(self, alg: int, use: KeyUse, now: int, passphrase: bytes,
                 token: pkcs11.TokenRef | None = None) -> TrustedKey:
        token = token or self.token
        if token is not None:
            if alg != ES256:
                raise KeyStoreError("keys in a PKCS#11 token are ES256 (P-256)", Reason.USAGE)
            kid, signer = pkcs11.generate(token)
            self._where[kid.hex()] = {"pkcs11": token.to_json()}
            public = signer.public_key()
        else:
            private = algorithms.generate_private_key(alg)
            public = private.public_key()
            kid = algorithms.key_id(public)
            self._write_key_file(kid, private, passphrase)
        return TrustedKey(kid, alg, use, algorithms.spki_der(public), now, None, KeyState.ACTIVE)

    def _write_key_file(self, kid: bytes, private: object, passphrase: bytes) -> None:
        write_atomic(self.dir / f"{kid.hex()}.key", keyfile.encrypt_key(private, kid, passphrase), mode=0o600)
        self._where[kid.hex()] = {"file": f"{kid.hex()}.key"}

    def rotate(self, use: KeyUse, now: int, alg: int = ES256) -> TrustedKey:
        """A new active key for `use`; the previous active one is retired (its window closes now)."""
        self.check_passphrase()
        new = self._new_key(alg, use, now, self._passphrase_source())
        self.keys = [
            replace(k, state=KeyState.RETIRED, not_after=now) if k.use is use and k.state is KeyState.ACTIVE else k
            for k in self.keys
        ] + [new]
        self._save()
        return new

    # A ceremony in three steps, each durable: new keys recorded as pending, the root version naming
    # them written, then the pending keys installed. A ceremony killed between two steps is completed
    # (or abandoned) by `settle` from what the latest root version says.
    def new_timestamp_key(self, now: int) -> TrustedKey:
        """A new online metadata key, pending until the root version naming it is written."""
        self.pending_timestamp = self._new_key(ES256, KeyUse.PERMIT, now, self._passphrase_source())
        self._save()
        return self.pending_timestamp

    def install_timestamp_key(self, now: int) -> None:
        new, self.pending_timestamp = self.pending_timestamp, None
        if new is not None:
            self.timestamp_keys = [replace(k, state=KeyState.RETIRED, not_after=now)
                                   if k.state is KeyState.ACTIVE else k for k in self.timestamp_keys] + [new]
        self._save()

    def new_roots(self, count: int, threshold: int, passphrases: list[bytes] | None, now: int,
                  alg: int = ES256, tokens: list[pkcs11.TokenRef] | None = None) -> list[TrustedKey]:
        """Generate the next root keys (in their officers' files or tokens), pending until the root version
        naming them is written."""
        if not 1 <= threshold <= count:
            raise KeyStoreError(f"a root threshold of {threshold} needs between 1 and {count} keys", Reason.USAGE)
        if tokens is not None and len(tokens) != count:
            raise KeyStoreError(f"{count} root keys need {count} tokens, got {len(tokens)}", Reason.USAGE)
        passes = _root_passes(count, None, passphrases, self.token if tokens is None else tokens[0])
        self.pending_roots = [self._new_key(alg if t is None else ES256, KeyUse.PERMIT, now, p, t)
                              for p, t in zip(passes, tokens or [self.token] * count, strict=True)]
        self.pending_threshold = threshold
        self._save()
        return self.pending_roots

    def install_roots(self, now: int) -> None:
        if self.pending_roots:
            self.roots = [replace(k, state=KeyState.RETIRED, not_after=now) if k.state is KeyState.ACTIVE else k
                          for k in self.roots] + self.pending_roots
            self.root_threshold = self.pending_threshold
        self.pending_roots, self.pending_threshold = [], 0
        self._save()

    def drop_pending(self) -> None:
        """Forget the keys of a ceremony whose root version was never written (and delete their files)."""
        dropped = [*self.pending_roots, *([self.pending_timestamp] if self.pending_timestamp else [])]
        self.pending_roots, self.pending_threshold, self.pending_timestamp = [], 0, None
        self._save()
        for key in dropped:
            where = self._where.pop(key.kid.hex(), {})
            if "file" in where:
                (self.dir / where["file"]).unlink(missing_ok=True)

    def retire(self, kid_hex: str, now: int) -> TrustedKey:
        key = self.find(kid_hex)
        actives = [k for k in self.keys if k.use is key.use and k.state is KeyState.ACTIVE]
        if actives == [key]:
            raise KeyStoreError(f"{kid_hex} is the only active {key.use.value} key: rotate instead of retiring it",
                                cause=Cause.CONFLICT)
        return self._transition(key, KeyState.RETIRED, now)

    def compromise(self, kid_hex: str, now: int) -> TrustedKey:
        return self._transition(self.find(kid_hex), KeyState.COMPROMISED, now)

    def _transition(self, key: TrustedKey, state: KeyState, now: int) -> TrustedKey:
        if state not in _TRANSITIONS[key.state]:
            raise KeyStoreError(f"key {key.kid.hex()} is {key.state.value}; it cannot become {state.value}",
                                cause=Cause.CONFLICT)
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

    def _save(self) -> None:
        data = {
            "format": 2,
            "root_threshold": self.root_threshold,
            "roots": [self._to_json(k) for k in self.roots],
            "timestamp": [self._to_json(k) for k in self.timestamp_keys],
            "keys": [self._to_json(k) for k in self.keys],
            "trust_list_version": self.trust_list_version,
            "token": self.token.to_json() if self.token else None,
            "pending": {"roots": [self._to_json(k) for k in self.pending_roots],
                        "root_threshold": self.pending_threshold,
                        "timestamp": self._to_json(self.pending_timestamp) if self.pending_timestamp else None},
        }
        write_atomic(self.dir / "keys.json", json.dumps(data, indent=2).encode() + b"\n", mode=0o600)

    def _to_json(self, key: TrustedKey) -> dict[str, object]:
        return {**_to_json(key), "where": self._where.get(key.kid.hex(), {"file": f"{key.kid.hex()}.key"})}


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def root_passphrase_from_env(number: int, kid_hex: str) -> bytes | None:
    value = os.environ.get(ROOT_PASSPHRASE_ENV.format(n=number))
    return value.encode() if value else None


def _root_passes(count: int, main: bytes | None, given: list[bytes] | None,
                 token: pkcs11.TokenRef | None) -> list[bytes]:
    """One passphrase per root key: the officers' own (distinct), or the main one for a lone root key."""
    if token is not None:
        return [b""] * count
    if given is None or len(given) == 0:
        if count == 1 and main is not None:
            return [main]
        raise KeyStoreError(f"{count} root keys need {count} passphrases, one per officer "
                            f"({ROOT_PASSPHRASE_ENV.format(n='1')} ...)", Reason.BAD_PASSPHRASE)
    if len(given) != count:
        raise KeyStoreError(f"{count} root keys need {count} passphrases, got {len(given)}", Reason.BAD_PASSPHRASE)
    for secret in given:
        check_passphrase(secret)
    if count > 1 and len(set(given)) != count:
        raise KeyStoreError("each root key needs its own passphrase: two officers gave the same one",
                            Reason.BAD_PASSPHRASE)
    return list(given)


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
