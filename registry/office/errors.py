"""The office's refusals: one error type, with a stable code the adapters turn into an exit or a status.

`kind` decides the HTTP status of the admin API (the CLI prints every one as `error (USAGE): ...`, exit 1):
forbidden 403, not-found 404, conflict 409 (the register's state forbids it), invalid 422 (the input).
Every refusal is raised before anything is written, or inside the write transaction, which it rolls back.
"""

from __future__ import annotations

from keys.errors import PermitError, Reason

FORBIDDEN, NOT_FOUND, CONFLICT, INVALID = "forbidden", "not-found", "conflict", "invalid"


class OfficeError(PermitError):
    """An act of the office refused; `code` names the rule (e.g. duplicate-person, barred, self-approval)."""

    reason = Reason.USAGE

    def __init__(self, code: str, message: str, kind: str = CONFLICT) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
