"""Encrypted private-key files: PBKDF2-HMAC-SHA256 (600,000 iterations) and AES-256-GCM.

A key file is one JSON object (mode 0600):
`{"format": "permit-registry-key/1", "kid", "kdf": {"name": "pbkdf2-sha256", "iterations", "salt"},
"cipher": {"name": "aes-256-gcm", "nonce"}, "ciphertext", "checksum"}` with base64 values. The
ciphertext is the PKCS#8 DER of the key, authenticated with the kid as associated data. `checksum` is the
SHA-256 of the rest of the file (no secret): it tells a damaged file from a wrong passphrase, so
each failure is named for what it is: truncated, corrupt, unencrypted, or a wrong passphrase.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from keys.errors import Cause, KeyStoreError, Reason

FORMAT = "permit-registry-key/1"
ITERATIONS = 600_000  # OWASP 2023 minimum for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 600_000
MIN_PASSPHRASE = 12
_MAX_ITERATIONS = 10_000_000


def check_passphrase(passphrase: bytes) -> None:
    if len(passphrase.decode("utf-8", "replace")) < MIN_PASSPHRASE:
        raise KeyStoreError(f"the passphrase must have at least {MIN_PASSPHRASE} characters", Reason.BAD_PASSPHRASE,
                            cause=Cause.USAGE)


def _kek(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def encrypt(private_der: bytes, kid: bytes, passphrase: bytes) -> bytes:
    """The file bytes for a PKCS#8 DER private key."""
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    ciphertext = AESGCM(_kek(passphrase, salt, ITERATIONS)).encrypt(nonce, private_der, kid)
    body = {
        "format": FORMAT,
        "kid": kid.hex(),
        "kdf": {"name": "pbkdf2-sha256", "iterations": ITERATIONS, "salt": _b64(salt)},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
        "ciphertext": _b64(ciphertext),
    }
    body["checksum"] = _checksum(body)
    return json.dumps(body, indent=1).encode() + b"\n"


def decrypt(data: bytes, kid: bytes, passphrase: bytes, name: str) -> bytes:
    """The PKCS#8 DER inside a key file; each kind of failure is a KeyStoreError saying which."""
    stripped = data.strip()
    if not stripped:
        raise KeyStoreError(f"key file {name} is empty (truncated)", cause=Cause.STORAGE)
    first_line = stripped.split(b"\n", 1)[0]
    if first_line.startswith(b"-----BEGIN ") and b"PRIVATE KEY" in first_line:  # an unencrypted PEM key
        raise KeyStoreError(f"key file {name} is unencrypted: the private key lies in the clear; "
                            "treat it as exposed, rotate it and delete the file", cause=Cause.STORAGE)
    try:
        body = json.loads(stripped)
    except (ValueError, UnicodeDecodeError) as exc:
        ends_early = isinstance(exc, json.JSONDecodeError) and exc.pos >= len(stripped.decode("utf-8", "replace")) - 1
        what = "truncated" if stripped.startswith(b"{") and ends_early else "corrupt (not a key file)"
        raise KeyStoreError(f"key file {name} is {what}", cause=Cause.STORAGE) from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise KeyStoreError(f"key file {name} is corrupt: not a {FORMAT} file", cause=Cause.STORAGE)
    checksum = body.pop("checksum", None)
    if checksum != _checksum(body):
        raise KeyStoreError(f"key file {name} is corrupt: its checksum does not match its content", cause=Cause.STORAGE)
    try:
        if body["kid"] != kid.hex():
            raise KeyStoreError(f"key file {name} holds key {body['kid']}, not {kid.hex()}", cause=Cause.STORAGE)
        iterations = int(body["kdf"]["iterations"])
        if body["kdf"]["name"] != "pbkdf2-sha256" or not MIN_ITERATIONS <= iterations <= _MAX_ITERATIONS:
            raise KeyStoreError(f"key file {name} uses a key derivation weaker than required", cause=Cause.STORAGE)
        salt = base64.b64decode(body["kdf"]["salt"], validate=True)
        nonce = base64.b64decode(body["cipher"]["nonce"], validate=True)
        ciphertext = base64.b64decode(body["ciphertext"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise KeyStoreError(f"key file {name} is corrupt: a field is missing or malformed",
                            cause=Cause.STORAGE) from None
    try:
        return AESGCM(_kek(passphrase, salt, iterations)).decrypt(nonce, ciphertext, kid)
    except InvalidTag:
        raise KeyStoreError(f"wrong passphrase for key file {name}", Reason.BAD_PASSPHRASE) from None


def encrypt_key(private: object, kid: bytes, passphrase: bytes) -> bytes:
    der = private.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return encrypt(der, kid, passphrase)


def decrypt_key(data: bytes, kid: bytes, passphrase: bytes, name: str) -> object:
    der = decrypt(data, kid, passphrase, name)
    try:
        return serialization.load_der_private_key(der, password=None)
    except ValueError:
        raise KeyStoreError(f"key file {name} decrypted to something that is not a private key",
                            cause=Cause.STORAGE) from None
