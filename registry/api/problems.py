"""RFC 9457 problem details: every error of the admin API is `application/problem+json`.

Members: type (a URN naming the problem), title, status, detail, and the extensions `reason` (the project's
reason code, keys.errors.Reason) and, for invalid input, `errors`: every field problem at once, each as
{"field", "pointer" (a JSON Pointer into the request body), "detail"}.

No traceback ever reaches a client: unexpected exceptions are logged and answered with a plain 500, and
store or key-store failures are answered without their internal detail. 401 and 403 bodies are fixed texts
(no token, no operator name, no permit data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from keys.errors import Cause, KeyStoreError, PermitError, Reason
from registry.lifecycle import TransitionError
from registry.qr import RenderError
from registry.store import StoreBusy, StoreError
from registry.validation import ValidationError
from verifier.server.problems import MEDIA_TYPE, PROBLEM_TYPE, ApiProblem, for_error, problem_response

__all__ = ["MEDIA_TYPE", "PROBLEM_TYPE", "ApiProblem", "from_permit_error", "problem_response"]
log = logging.getLogger("registry.api")


def field_errors(problems: Iterable[tuple[str, str]], prefix: str = "") -> list[dict[str, str]]:
    return [{"field": f"{prefix}{field}", "pointer": "#/" + f"{prefix}{field}".replace(".", "/"), "detail": text}
            for field, text in problems]


def invalid(problems: Iterable[tuple[str, str]], prefix: str = "") -> ApiProblem:
    errors = field_errors(problems, prefix)
    return ApiProblem(422, "invalid-input", "The request has invalid fields",
                      f"{len(errors)} problem(s) in the input; nothing was changed", errors=errors)


def unauthorized() -> ApiProblem:
    return ApiProblem(401, "unauthorized", "Authentication required",
                      "A valid operator token is required (Authorization: Bearer TOKEN).",
                      headers={"WWW-Authenticate": 'Bearer realm="permit-registry", error="invalid_token"'})


def forbidden(permission: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Not allowed for this role",
                      f"The operator's role does not have the permission '{permission}'.")


def not_found(detail: str = "No such resource.") -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", detail, reason=None)


# The slug and title of each cause, for errors no branch below names more precisely.
_BY_CAUSE = {Cause.CONFLICT: ("conflict", "Conflict"), Cause.NOT_FOUND: ("not-found", "Not found"),
             Cause.FORBIDDEN: ("forbidden", "Not allowed"), Cause.STORAGE: ("storage-error", "Storage failed"),
             Cause.BUSY: ("busy", "Busy"), Cause.CONFIG: ("unavailable", "Unavailable")}


def from_permit_error(exc: PermitError) -> ApiProblem:
    """The project's errors as problems: the status from the cause (keys.errors.HTTP_STATUS), the slug from
    the kind of error. Store, key-store and rendering details stay in the server's log."""
    if isinstance(exc, ValidationError):
        return invalid(exc.problems)
    if isinstance(exc, StoreBusy):
        return for_error(exc, "store-busy", "The permit store is busy", "Another writer held the store's lock too "
                         "long; nothing was changed, try again.", headers={"Retry-After": "1"})
    if exc.cause in (Cause.STORAGE, Cause.CONFIG):
        log.error("%s (%s): %s", type(exc).__name__, exc.reason.value, exc.message)
        if isinstance(exc, StoreError):
            return for_error(exc, "store-error", "The permit store failed",
                             "The permit store could not complete the request; nothing was changed.")
        if isinstance(exc, KeyStoreError):
            return for_error(exc, "signing-unavailable", "Signing is unavailable",
                             "The registry cannot use its signing keys now; nothing was signed.")
        if isinstance(exc, RenderError):
            return for_error(exc, "render-error", "Rendering failed", "The QR image could not be rendered.")
        return for_error(exc, "storage-error" if exc.cause is Cause.STORAGE else "unavailable",
                         "The registry cannot complete the request",
                         "The registry could not complete the request; nothing was changed.")
    if isinstance(exc, TransitionError) and exc.cause is Cause.CONFLICT:
        return for_error(exc, "state-conflict", "Not allowed in the permit's current state")
    slug, title = _BY_CAUSE.get(exc.cause, ("refused", "Refused"))
    return for_error(exc, slug, title)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _problem(exc: ApiProblem) -> Response:
        return problem_response(exc)

    @app.errorhandler(PermitError)
    def _permit_error(exc: PermitError) -> Response:
        return problem_response(from_permit_error(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        slug = (exc.name or "error").lower().replace(" ", "-")
        reason = Reason.MALFORMED if status in (400, 413, 415) else None
        response = problem_response(ApiProblem(status, slug, exc.name or "Error", exc.description or "", reason))
        if status == 405 and exc.response is None:
            allow = getattr(exc, "valid_methods", None)
            if allow:
                response.headers["Allow"] = ", ".join(allow)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return problem_response(ApiProblem(500, "internal-error", "Internal error",
                                           "The registry failed to complete the request; it has been logged.",
                                           None))
