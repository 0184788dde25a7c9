"""The project's errors: one small hierarchy, each error carrying a reason code.

Grouped by cause, as the verifier reports them: the input's format, its signature, the trust placed
in keys and lists, and (from the status lists) the permit's current status. Every failure a caller can
meet is a `PermitError`; nothing else escapes the public entry points.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Machine-readable reason codes. Stable: integrators script against them."""

    VALID = "VALID"
    # Format of the scanned or typed input.
    MALFORMED = "MALFORMED"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    # Keys and signatures.
    UNKNOWN_KEY = "UNKNOWN_KEY"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    KEY_NOT_VALID = "KEY_NOT_VALID"
    KEY_COMPROMISED = "KEY_COMPROMISED"
    # The permit's own validity dates.
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    # The trust list the verifier holds.
    NO_TRUST_LIST = "NO_TRUST_LIST"
    TRUST_LIST_STALE = "TRUST_LIST_STALE"
    TRUST_LIST_INVALID = "TRUST_LIST_INVALID"
    TRUST_LIST_BAD_SIGNATURE = "TRUST_LIST_BAD_SIGNATURE"
    TRUST_LIST_ROLLBACK = "TRUST_LIST_ROLLBACK"
    TRUST_LIST_EXPIRED = "TRUST_LIST_EXPIRED"
    # Revocation status.
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    SUPERSEDED = "SUPERSEDED"
    STATUS_STALE = "STATUS_STALE"
    STATUS_UNKNOWN = "STATUS_UNKNOWN"
    STATUS_INDEX_INVALID = "STATUS_INDEX_INVALID"
    STATUS_LIST_ROLLBACK = "STATUS_LIST_ROLLBACK"
    STATUS_LIST_EXPIRED = "STATUS_LIST_EXPIRED"
    # The transparency log: its signed notes, checkpoints, tiles, leaves and proofs.
    LOG_MALFORMED = "LOG_MALFORMED"
    LOG_BAD_SIGNATURE = "LOG_BAD_SIGNATURE"
    LOG_PROOF_INVALID = "LOG_PROOF_INVALID"
    LOG_INCONSISTENT = "LOG_INCONSISTENT"
    NOT_LOGGED = "NOT_LOGGED"  # a permit whose card the log does not have, once the log covers its issue time
    # Syncing the TUF repository (verifier sync): refusals by python-tuf, in our words.
    ROOT_NOT_PINNED = "ROOT_NOT_PINNED"
    ROOT_MISMATCH = "ROOT_MISMATCH"
    SYNC_ROLLBACK = "SYNC_ROLLBACK"
    SYNC_FROZEN = "SYNC_FROZEN"
    SYNC_MIX_AND_MATCH = "SYNC_MIX_AND_MATCH"
    SYNC_TOO_LARGE = "SYNC_TOO_LARGE"
    SYNC_BAD_SIGNATURE = "SYNC_BAD_SIGNATURE"
    SYNC_UNAVAILABLE = "SYNC_UNAVAILABLE"
    SYNC_INVALID = "SYNC_INVALID"
    SYNC_PATH_REFUSED = "SYNC_PATH_REFUSED"
    # Local key store, permit store and usage.
    BAD_PASSPHRASE = "BAD_PASSPHRASE"
    KEY_STORE = "KEY_STORE"
    STORE = "STORE"
    USAGE = "USAGE"


class PermitError(Exception):
    """Base of every error this project raises on purpose. `reason` says what went wrong."""

    reason: Reason = Reason.MALFORMED

    def __init__(self, message: str, reason: Reason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.reason.value


class FormatError(PermitError):
    """The bytes or text are not a well-formed permit, envelope or list."""

    reason = Reason.MALFORMED


class SignatureError(PermitError):
    """A signature does not verify with the key it names."""

    reason = Reason.BAD_SIGNATURE


class TrustError(PermitError):
    """A key or a trust list is unknown, not valid for this use, stale, rolled back or compromised."""

    reason = Reason.UNKNOWN_KEY


class StatusError(PermitError):
    """A status list is missing, stale, or says the permit is not in good standing."""

    reason = Reason.STATUS_UNKNOWN


class SyncError(PermitError):
    """A sync was refused: the source is unreachable, rolled back, frozen, mixed, oversized or forged.
    The cache keeps what it held."""

    reason = Reason.SYNC_INVALID


class KeyStoreError(PermitError):
    """The issuer's key store cannot be read or written (wrong passphrase, missing key, bad state)."""

    reason = Reason.KEY_STORE


class LogError(PermitError):
    """The transparency log: a note, checkpoint, tile or leaf is malformed (LOG_MALFORMED), a checkpoint is not
    signed by the pinned log key (LOG_BAD_SIGNATURE), or a proof does not verify (LOG_PROOF_INVALID)."""

    reason = Reason.LOG_MALFORMED


class LogForkError(LogError):
    """Two checkpoints of the log cannot both be true: the newer is not an append-only extension of the older
    (a split view or rewritten history was shown to this client)."""

    reason = Reason.LOG_INCONSISTENT
