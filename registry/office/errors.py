"""The office's refusals: one error type, with a stable code the adapters turn into an exit or a status.

`kind` is the error's cause (keys.errors.Cause), which decides the HTTP status of the admin API and the exit
code of the CLI (which prints every one as `error (USAGE): ...`): forbidden 403 / exit 5, not-found 404 /
exit 3, conflict 409 / exit 5 (the register's state forbids it), invalid 422 / exit 3 (the input).
Every refusal is raised before anything is written, or inside the write transaction, which it rolls back.
"""

from __future__ import annotations

from keys.errors import Cause, PermitError, Reason

FORBIDDEN, NOT_FOUND, CONFLICT, INVALID = "forbidden", "not-found", "conflict", "invalid"


class OfficeError(PermitError):
    """An act of the office refused; `code` names the rule (e.g. duplicate-person, barred, self-approval)."""

    reason = Reason.USAGE

    def __init__(self, code: str, message: str, kind: str = CONFLICT) -> None:
        super().__init__(message, cause=CAUSES[kind])
        self.code = code
        self.kind = kind


# Each kind of refusal is a cause: the one HTTP table and the one exit-code table (keys.errors) decide the rest.
CAUSES = {FORBIDDEN: Cause.FORBIDDEN, NOT_FOUND: Cause.NOT_FOUND, CONFLICT: Cause.CONFLICT, INVALID: Cause.FORMAT}
