"""Keys that live in a PKCS#11 token (an HSM, a smart card, SoftHSM2 in the tests).

Keys are generated inside the token as P-256 pairs whose private half is sensitive and not
extractable: no private key byte ever leaves the token. Signing hashes with SHA-256 here and asks the
token for a raw CKM_ECDSA signature (SoftHSM2 refuses the combined CKM_ECDSA_SHA256 mechanism).

Configuration: the module (the vendor's .so) and the token's label are kept with each key's record;
the user PIN of a token labelled L comes from PERMIT_REGISTRY_PKCS11_PIN_<L> (L upper-cased, other
characters than letters and digits as `_`: each root officer's own token has its own PIN), else from
PERMIT_REGISTRY_PKCS11_PIN. python-pkcs11 is imported only when a token is used (the `hsm` extra).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from keys import algorithms
from keys.algorithms import ES256, Signer
from keys.errors import KeyStoreError

PIN_ENV = "PERMIT_REGISTRY_PKCS11_PIN"
MODULE_ENV = "PERMIT_REGISTRY_PKCS11_MODULE"


@dataclass(frozen=True)
class TokenRef:
    """Where a key lives: the PKCS#11 module and the token's label; the key's label is its kid in hex."""

    module: str
    token: str

    def to_json(self) -> dict[str, str]:
        return {"module": self.module, "token": self.token}

    @classmethod
    def from_json(cls, data: dict) -> TokenRef:
        return cls(str(data["module"]), str(data["token"]))


def _pkcs11():
    try:
        import pkcs11
    except ImportError:
        raise KeyStoreError("keys in a PKCS#11 token need python-pkcs11: pip install 'permit-registry[hsm]'") from None
    return pkcs11


class _Sessions:
    """One logged-in session per (module, token), kept for the life of the process."""

    def __init__(self) -> None:
        self._open: dict[TokenRef, object] = {}

    def get(self, ref: TokenRef, pin: Callable[[], str]) -> object:
        session = self._open.get(ref)
        if session is None:
            pkcs11 = _pkcs11()
            try:
                token = pkcs11.lib(ref.module).get_token(token_label=ref.token)
                session = token.open(rw=True, user_pin=pin())
            except (pkcs11.exceptions.PKCS11Error, RuntimeError, OSError) as exc:
                raise KeyStoreError(f"cannot open PKCS#11 token {ref.token!r} with {ref.module}: "
                                    f"{type(exc).__name__} {exc}") from None
            self._open[ref] = session
        return session


SESSIONS = _Sessions()


def pin_env(label: str) -> str:
    """The environment variable holding the PIN of the token labelled `label`."""
    return f"{PIN_ENV}_" + "".join(c if c.isalnum() else "_" for c in label.upper())


def has_pin(ref: TokenRef) -> bool:
    """Whether the token's holder is present (its PIN is given)."""
    return bool(os.environ.get(pin_env(ref.token)) or os.environ.get(PIN_ENV))


def pin_for(ref: TokenRef) -> str:
    pin = os.environ.get(pin_env(ref.token)) or os.environ.get(PIN_ENV)
    if not pin:
        raise KeyStoreError(f"no PIN for the PKCS#11 token {ref.token!r}: set {pin_env(ref.token)} or {PIN_ENV}")
    return pin


class Pkcs11Signer(Signer):
    """An ES256 key held in a token; signs through the token and never sees the private key."""

    alg = ES256

    def __init__(self, ref: TokenRef, label: str, pin: Callable[[], str] | None = None) -> None:
        self.ref, self.label = ref, label
        self._pin = pin or (lambda: pin_for(ref))
        self._private = None
        self._public: ec.EllipticCurvePublicKey | None = None

    def _key(self, object_class: object) -> object:
        pkcs11 = _pkcs11()
        session = SESSIONS.get(self.ref, self._pin)
        try:
            return session.get_key(object_class=object_class, label=self.label)  # type: ignore[attr-defined]
        except (pkcs11.exceptions.NoSuchKey, pkcs11.exceptions.MultipleObjectsReturned) as exc:
            raise KeyStoreError(f"token {self.ref.token!r} has no single key labelled {self.label}: "
                                f"{type(exc).__name__}") from None

    def public_key(self) -> ec.EllipticCurvePublicKey:
        if self._public is None:
            from pkcs11.util.ec import encode_ec_public_key

            pkcs11 = _pkcs11()
            spki = encode_ec_public_key(self._key(pkcs11.ObjectClass.PUBLIC_KEY))
            self._public = algorithms.load_public_key(spki)  # type: ignore[assignment]
        return self._public  # type: ignore[return-value]

    def sign_raw(self, data: bytes) -> bytes:
        pkcs11 = _pkcs11()
        if self._private is None:
            self._private = self._key(pkcs11.ObjectClass.PRIVATE_KEY)
        digest = hashlib.sha256(data).digest()
        try:
            return bytes(self._private.sign(digest, mechanism=pkcs11.Mechanism.ECDSA))  # type: ignore[attr-defined]
        except pkcs11.exceptions.PKCS11Error as exc:
            raise KeyStoreError(f"token {self.ref.token!r} refused to sign: {type(exc).__name__}") from None

    def private_attributes(self) -> dict[str, bool]:
        """What the token says of the private key: sensitive, extractable, never extractable."""
        pkcs11 = _pkcs11()
        key = self._key(pkcs11.ObjectClass.PRIVATE_KEY)
        a = pkcs11.Attribute
        return {"sensitive": bool(key[a.SENSITIVE]), "extractable": bool(key[a.EXTRACTABLE]),  # type: ignore[index]
                "never_extractable": bool(key[a.NEVER_EXTRACTABLE])}  # type: ignore[index]


def generate(ref: TokenRef, pin: Callable[[], str] | None = None) -> tuple[bytes, Pkcs11Signer]:
    """Generate a P-256 pair inside the token (private half sensitive, not extractable); returns its kid
    and a signer. The key's label in the token is a random name replaced by the kid once it is known."""
    pkcs11 = _pkcs11()
    from pkcs11.util.ec import encode_named_curve_parameters

    pin = pin or (lambda: pin_for(ref))
    session = SESSIONS.get(ref, pin)
    a = pkcs11.Attribute
    temporary = "new-" + os.urandom(8).hex()
    try:
        params = session.create_domain_parameters(  # type: ignore[attr-defined]
            pkcs11.KeyType.EC, {a.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        public, private = params.generate_keypair(
            store=True, label=temporary,
            public_template={a.VERIFY: True},
            private_template={a.SENSITIVE: True, a.EXTRACTABLE: False, a.SIGN: True, a.PRIVATE: True},
        )
    except pkcs11.exceptions.PKCS11Error as exc:
        raise KeyStoreError(f"token {ref.token!r} could not generate a key: {type(exc).__name__}") from None
    from pkcs11.util.ec import encode_ec_public_key

    kid = algorithms.key_id(algorithms.load_public_key(encode_ec_public_key(public)))
    public[a.LABEL] = kid.hex()
    private[a.LABEL] = kid.hex()
    return kid, Pkcs11Signer(ref, kid.hex(), pin)
