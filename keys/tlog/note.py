"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures (signature type 0x01).

A note is UTF-8 text ending in a newline, a blank line, then one or more lines
`— <key name> base64(key ID || signature)`. Parsing is strict: valid UTF-8, no control character but
newline, every signature line well formed, canonical base64. Signatures by keys we do not know are
ignored; a known key's signature that fails rejects the whole note; at least one known key must have
signed. Key formats are those of golang.org/x/mod/sumdb/note:
verifier key `<name>+<hex key ID>+base64(0x01 || public key)`, signer key
`PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || private seed)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keys.errors import LogError, Reason

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
_UNICODE_SPACE = re.compile(r"\s")


def _malformed(message: str) -> LogError:
    return LogError(message, Reason.LOG_MALFORMED)


def check_key_name(name: str) -> str:
    """Key names are non-empty, without Unicode spaces or '+' (and, being in a note, without controls)."""
    if not name or "+" in name or _UNICODE_SPACE.search(name) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise _malformed(f"invalid note key name {name!r}: it must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()
    return struct.unpack(">I", digest[:4])[0]


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard padded base64, refusing anything that does not re-encode to the same text."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _malformed(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise _malformed(f"{what} is not canonical base64")
    return raw


def _split_key(text: str, parts: int, what: str) -> list[str]:
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise _malformed(f"{what} must have {parts} '+'-separated fields")
    return fields


def _parse_id(text: str, what: str) -> int:
    if not re.fullmatch(r"[0-9a-f]{8}", text):
        raise _malformed(f"{what}: the key ID must be 8 lowercase hex digits")
    return int(text, 16)


@dataclass(frozen=True)
class NoteVerifier:
    """One trusted Ed25519 note key: its name, ID and public key."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        name, hex_id, material = _split_key(vkey.strip(), 3, "a note verifier key")
        check_key_name(name)
        wanted = _parse_id(hex_id, "a note verifier key")
        raw = b64decode_strict(material, "the verifier key material")
        if len(raw) != 33 or raw[0] != ED25519:
            raise _malformed("the verifier key is not an Ed25519 (type 0x01) key of 32 bytes")
        if key_id(name, ED25519, raw[1:]) != wanted:
            raise _malformed("the verifier key's ID does not match its name and public key")
        return cls(name, wanted, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def public_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([ED25519]) + self.public_bytes()).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 note signing key (keep the `skey` text secret)."""

    name: str
    key_id: int
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        check_key_name(name)
        private = Ed25519PrivateKey.generate()
        return cls(name, key_id(name, ED25519, _raw_public(private)), private)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        private1, private2, name, hex_id, material = _split_key(skey.strip(), 5, "a note signer key")
        if (private1, private2) != ("PRIVATE", "KEY"):
            raise _malformed("a note signer key starts with PRIVATE+KEY+")
        check_key_name(name)
        wanted = _parse_id(hex_id, "a note signer key")
        raw = b64decode_strict(material, "the signer key material")
        if len(raw) != 33 or raw[0] != ED25519:
            raise _malformed("the signer key is not an Ed25519 (type 0x01) seed of 32 bytes")
        private = Ed25519PrivateKey.from_private_bytes(raw[1:])
        if key_id(name, ED25519, _raw_public(private)) != wanted:
            raise _malformed("the signer key's ID does not match its name and public key")
        return cls(name, wanted, private)

    @property
    def skey(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{base64.b64encode(bytes([ED25519]) + seed).decode()}"

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key_id, self.private_key.public_key())

    def signature_line(self, text: str) -> str:
        signature = self.private_key.sign(text.encode("utf-8"))
        blob = base64.b64encode(struct.pack(">I", self.key_id) + signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A note whose signature by at least one trusted key was verified."""

    text: str
    signatures: tuple[NoteSignature, ...]
    verified_by: tuple[str, ...]


def check_text(text: str) -> None:
    """The rules for a note's text: ends in a newline, no control characters but newline."""
    if not text.endswith("\n"):
        raise _malformed("a note's text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise _malformed("a note must not contain control characters other than newline")


def sign_note(text: str, signers: Iterable[NoteSigner]) -> bytes:
    """The signed note: text, a blank line, one signature line per signer."""
    check_text(text)
    lines = [signer.signature_line(text) for signer in signers]
    if not lines:
        raise _malformed("a signed note needs at least one signature")
    return (text + "\n" + "".join(lines)).encode("utf-8")


def parse_note(data: bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, checking the format (not the signatures)."""
    if len(data) > MAX_NOTE_BYTES:
        raise _malformed(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("a note must be valid UTF-8") from None
    check_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise _malformed("a note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2:]
    if not block:
        raise _malformed("a note has no signature lines")
    signatures: list[NoteSignature] = []
    for line in block[:-1].split("\n"):
        if len(signatures) >= MAX_SIGNATURES:
            raise _malformed(f"a note with more than {MAX_SIGNATURES} signatures is refused")
        if not line.startswith(SIGNATURE_PREFIX):
            raise _malformed("a signature line must start with an em dash and a space")
        fields = line[len(SIGNATURE_PREFIX):].split(" ")
        if len(fields) != 2:
            raise _malformed("a signature line is '— <key name> <base64 signature>'")
        name, blob = fields
        check_key_name(name)
        raw = b64decode_strict(blob, "a note signature")
        if len(raw) < 5:
            raise _malformed("a note signature is too short to hold a key ID and a signature")
        signatures.append(NoteSignature(name, struct.unpack(">I", raw[:4])[0], raw[4:]))
    return text, signatures


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Verify a signed note against trusted keys. Unknown signatures are ignored; a known key's bad
    signature rejects the note; no good signature from a known key rejects it (LOG_BAD_SIGNATURE)."""
    text, signatures = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(sig.signature, text.encode("utf-8"))
        except InvalidSignature:
            raise LogError(f"the signature by {sig.name} on this note does not verify",
                           Reason.LOG_BAD_SIGNATURE) from None
        verified.append(sig.name)
    if not verified:
        raise LogError("the note is not signed by any trusted key", Reason.LOG_BAD_SIGNATURE)
    return Note(text, tuple(signatures), tuple(verified))
