"""The project's errors: one small hierarchy, each error carrying a reason code and a cause.

The reason (`Reason`) is the precise, stable code integrators script against. The cause (`Cause`) is what
kind of fault it is, and it alone decides how an adapter answers it: the exit code of both command lines
(`EXIT_CODES`) and the HTTP status of both services (`HTTP_STATUS`). A class gives the usual cause of
its errors; a raise that is of another kind says so (`cause=`). Every failure a caller can meet is a
`PermitError`; nothing else escapes the public entry points.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Cause(StrEnum):
    """What kind of fault an error is (the adapters' one classification)."""

    FORMAT = "format"  # the input given (a file, a field, a payload) is not well-formed or not acceptable
    USAGE = "usage"  # the command or request itself is wrong (an option, a combination of them)
    TRUST = "trust"  # keys, signatures, trust lists, TUF metadata, the log: trust material refused or missing
    STATUS = "status"  # status lists missing or stale where they were required
    STORAGE = "storage"  # a file or database cannot be read or written (disk full, corrupt)
    BUSY = "busy"  # a shared resource is held by another writer: nothing was changed, try again
    CONFIG = "config"  # the installation: missing extra, key store, passphrase, token, policy file
    NOT_FOUND = "not-found"  # the thing named does not exist
    CONFLICT = "conflict"  # the current state or a rule forbids it (already exists, already decided)
    FORBIDDEN = "forbidden"  # the caller is not allowed to (role, missing or revoked credentials)


class Exit(IntEnum):
    """Exit codes of both command lines: 0-2 only for verdicts (`verifier check`), 3-5 for errors."""

    VALID = 0  # also: any other command that succeeded
    INVALID = 1
    INDETERMINATE = 2
    USAGE = 3  # the command line is wrong: an option, a file that does not exist, input not acceptable
    OPERATIONAL = 4  # the tool cannot work: broken cache or store, I/O, configuration, trust material
    REFUSED = 5  # the register refused: a rule, the current state, the operator's rights


# The one exit-code table: every error of either command line exits by its cause.
EXIT_CODES: dict[Cause, Exit] = {
    Cause.FORMAT: Exit.USAGE,
    Cause.USAGE: Exit.USAGE,
    Cause.NOT_FOUND: Exit.USAGE,
    Cause.TRUST: Exit.OPERATIONAL,
    Cause.STATUS: Exit.OPERATIONAL,
    Cause.STORAGE: Exit.OPERATIONAL,
    Cause.BUSY: Exit.OPERATIONAL,
    Cause.CONFIG: Exit.OPERATIONAL,
    Cause.CONFLICT: Exit.REFUSED,
    Cause.FORBIDDEN: Exit.REFUSED,
}

# The one HTTP table: every error of either service answers with its cause's status (the problem helper
# may add a header, e.g. Retry-After on a busy store, never change the status).
HTTP_STATUS: dict[Cause, int] = {
    Cause.FORMAT: 422,
    Cause.USAGE: 422,
    Cause.NOT_FOUND: 404,
    Cause.CONFLICT: 409,
    Cause.FORBIDDEN: 403,
    Cause.TRUST: 503,
    Cause.STATUS: 503,
    Cause.STORAGE: 500,
    Cause.BUSY: 503,
    Cause.CONFIG: 503,
}


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
    """Base of every error this project raises on purpose. `reason` says what went wrong, `cause` what
    kind of fault it is (the exit code and the HTTP status follow from it alone)."""

    reason: Reason = Reason.MALFORMED
    cause: Cause = Cause.FORMAT

    def __init__(self, message: str, reason: Reason | None = None, cause: Cause | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        if cause is not None:
            self.cause = cause
        elif reason is Reason.USAGE:  # a usage reason given at the raise is a usage fault unless said otherwise
            self.cause = Cause.USAGE

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.reason.value


class FormatError(PermitError):
    """The bytes or text are not a well-formed permit, envelope or list."""

    reason = Reason.MALFORMED
    cause = Cause.FORMAT


class SignatureError(PermitError):
    """A signature does not verify with the key it names."""

    reason = Reason.BAD_SIGNATURE
    cause = Cause.TRUST


class TrustError(PermitError):
    """A key or a trust list is unknown, not valid for this use, stale, rolled back or compromised."""

    reason = Reason.UNKNOWN_KEY
    cause = Cause.TRUST


class StatusError(PermitError):
    """A status list is missing, stale, or says the permit is not in good standing."""

    reason = Reason.STATUS_UNKNOWN
    cause = Cause.STATUS


class SyncError(PermitError):
    """A sync was refused: the source is unreachable, rolled back, frozen, mixed, oversized or forged.
    The cache keeps what it held."""

    reason = Reason.SYNC_INVALID
    cause = Cause.TRUST


class KeyStoreError(PermitError):
    """The issuer's key store cannot be used (wrong passphrase, missing key or token): a configuration
    fault; a key file that cannot be read or written says cause STORAGE, a refused key change CONFLICT."""

    reason = Reason.KEY_STORE
    cause = Cause.CONFIG


class LogError(PermitError):
    """The transparency log: a note, checkpoint, tile or leaf is malformed (LOG_MALFORMED), a checkpoint is not
    signed by the pinned log key (LOG_BAD_SIGNATURE), or a proof does not verify (LOG_PROOF_INVALID)."""

    reason = Reason.LOG_MALFORMED
    cause = Cause.TRUST


class LogForkError(LogError):
    """Two checkpoints of the log cannot both be true: the newer is not an append-only extension of the older
    (a split view or rewritten history was shown to this client)."""

    reason = Reason.LOG_INCONSISTENT


class StorageError(PermitError):
    """A file or database cannot be read or written (I/O error, disk full, corrupt content). Nothing
    half-written is left behind by the writers that raise it."""

    reason = Reason.STORE
    cause = Cause.STORAGE


def exit_code(exc: PermitError) -> int:
    """The exit code of an error (the one table, by cause)."""
    return int(EXIT_CODES[exc.cause])


def http_status(exc: PermitError) -> int:
    """The HTTP status of an error (the one table, by cause)."""
    return HTTP_STATUS[exc.cause]
