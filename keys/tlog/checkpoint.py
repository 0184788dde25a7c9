"""C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed tree head of a log, as a signed note's text.

    <origin>\\n<decimal tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]

Parsing is strict: a non-empty origin, a decimal size without leading zeros, a canonical base64 root of
32 bytes, non-empty extension lines. `open_checkpoint` also checks the note's signature by the pinned
log key and that the origin is the one expected.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from keys.errors import LogError, Reason
from keys.tlog.merkle import HASH_SIZE
from keys.tlog.note import NoteSigner, NoteVerifier, b64decode_strict, check_text, open_note, sign_note

MAX_TREE_SIZE = (1 << 63) - 1
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise LogError("a checkpoint's origin must be one non-empty line", Reason.LOG_MALFORMED)
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise LogError(f"tree size {self.size} is out of range", Reason.LOG_MALFORMED)
        if len(self.root) != HASH_SIZE:
            raise LogError("a checkpoint's root hash must be 32 bytes", Reason.LOG_MALFORMED)
        if any(not line or "\n" in line for line in self.extensions):
            raise LogError("checkpoint extension lines must be non-empty single lines", Reason.LOG_MALFORMED)

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        text = "\n".join(lines) + "\n"
        check_text(text)
        return text

    def sign(self, signers: Iterable[NoteSigner]) -> bytes:
        return sign_note(self.text(), signers)


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a note's (already verified) text."""
    check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise LogError("a checkpoint has at least three lines: origin, size, root hash", Reason.LOG_MALFORMED)
    origin, size_text, root_text, *extensions = lines
    if not _SIZE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise LogError(f"invalid checkpoint tree size {size_text!r}", Reason.LOG_MALFORMED)
    root = b64decode_strict(root_text, "the checkpoint root hash")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(data: bytes, verifier: NoteVerifier, origin: str | None = None) -> Checkpoint:
    """Verify the signed note with the pinned log key, parse it, and check its origin (the key's name
    unless another is given): a checkpoint of another log signed by the same key is refused."""
    note = open_note(data, [verifier])
    checkpoint = parse_checkpoint(note.text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise LogError(f"checkpoint is for log {checkpoint.origin!r}, not {expected!r}", Reason.LOG_MALFORMED)
    return checkpoint
