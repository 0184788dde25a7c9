"""Our keys as TUF keys: the bridge between the project's one signing interface and securesystemslib.

TUF metadata is signed through `algorithms.sign`, so a key in a file and a key in a PKCS#11 token sign
root, targets, snapshot and timestamp metadata the same way (ECDSA P-256 as `ecdsa-sha2-nistp256`
with a DER signature, Ed25519 as `ed25519`).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ed25519
from securesystemslib.signer import Key, Signature, SSlibKey
from securesystemslib.signer import Signer as SslibSigner

from keys import algorithms
from keys.algorithms import ES256, PrivateKey, PublicKey
from keys.errors import FormatError


def tuf_key(public: PublicKey) -> SSlibKey:
    """The TUF public key of one of our keys (its TUF keyid is the spec's hash of the key)."""
    return SSlibKey.from_crypto(public)  # type: ignore[arg-type]


def public_of(key: Key) -> PublicKey:
    """The cryptography public key behind a TUF key from trusted root metadata (ECDSA P-256 keys carry a
    PEM, Ed25519 keys the raw key in hex). Other types raise FormatError."""
    public = key.keyval.get("public") if isinstance(key.keyval, dict) else None
    if not isinstance(public, str):
        raise FormatError("TUF key has no public value")
    if key.keytype == "ecdsa" and key.scheme == "ecdsa-sha2-nistp256":
        return algorithms.load_public_pem(public.encode())
    if key.keytype == "ed25519" and key.scheme == "ed25519":
        try:
            raw = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
        except ValueError as exc:
            raise FormatError(f"bad Ed25519 TUF key: {exc}") from None
        return algorithms.load_public_key(algorithms.spki_der(raw))
    raise FormatError(f"unsupported TUF key {key.keytype}/{key.scheme}")


class TufSigner(SslibSigner):
    """A securesystemslib signer over any of our private keys (software or Signer)."""

    def __init__(self, private: PrivateKey) -> None:
        self._private = private
        self._public = tuf_key(private.public_key())  # type: ignore[arg-type]
        self._alg = algorithms.algorithm_of(private)

    @property
    def public_key(self) -> Key:
        return self._public

    @classmethod
    def from_priv_key_uri(cls, priv_key_uri, public_key, secrets_handler=None):  # type: ignore[no-untyped-def]
        raise NotImplementedError("TufSigner is built from a key object, not a URI")

    def sign(self, payload: bytes) -> Signature:
        raw = algorithms.sign(self._private, payload)
        signature = algorithms.der_signature(self._alg, raw) if self._alg == ES256 else raw
        return Signature(self._public.keyid, signature.hex())
