"""RFC 9457 problem details: every error of the admin API is `application/problem+json`.

Members: type (a URN naming the problem), title, status, detail, and the extensions `reason` (the project's
reason code, keys.errors.Reason) and, for invalid input, `errors`: every field problem at once, each as
{"field", "pointer" (a JSON Pointer into the request body), "detail"}.

No traceback ever reaches a client: unexpected exceptions are logged and answered with a plain 500, and
store or key-store failures are answered without their internal detail. 401 and 403 bodies are fixed texts
(no token, no operator name, no permit data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

from keys.errors import KeyStoreError, PermitError, Reason
from registry.lifecycle import TransitionError
from registry.qr import RenderError
from registry.store import StoreError
from registry.validation import ValidationError

PROBLEM_TYPE = "urn:permit-registry:problem:"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("registry.api")


class ApiProblem(Exception):
    """Raised by a view to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str, reason: Reason = Reason.USAGE,
                 headers: dict[str, str] | None = None, **extensions: object) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.reason = status, slug, title, detail, reason
        self.headers = headers or {}
        self.extensions = extensions


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
    return ApiProblem(404, "not-found", "Not found", detail)


def problem_response(p: ApiProblem) -> Response:
    body = {"type": PROBLEM_TYPE + p.slug, "title": p.title, "status": p.status, "detail": p.detail,
            "reason": p.reason.value, **p.extensions}
    response = Response(json.dumps(body, ensure_ascii=False), p.status, mimetype=MEDIA_TYPE)
    response.headers.update(p.headers)
    response.headers["Cache-Control"] = "no-store"
    g.problem_reason = p.reason.value
    return response


def from_permit_error(exc: PermitError) -> ApiProblem:
    """The project's errors as problems. Store and key-store details stay in the server's log."""
    if isinstance(exc, ValidationError):
        return invalid(exc.problems)
    if isinstance(exc, StoreError):
        if "busy" in exc.message:
            return ApiProblem(503, "store-busy", "The permit store is busy",
                              "Another writer held the store's lock too long; nothing was changed, try again.",
                              exc.reason, headers={"Retry-After": "1"})
        log.error("store error: %s", exc.message)
        return ApiProblem(500, "store-error", "The permit store failed",
                          "The permit store could not complete the request; nothing was changed.", exc.reason)
    if isinstance(exc, KeyStoreError):
        log.error("key store error: %s", exc.message)
        return ApiProblem(503, "signing-unavailable", "Signing is unavailable",
                          "The registry cannot use its signing keys now; nothing was signed.", exc.reason)
    if isinstance(exc, RenderError):
        log.error("render error: %s", exc.message)
        return ApiProblem(500, "render-error", "Rendering failed", "The QR image could not be rendered.",
                          exc.reason)
    if isinstance(exc, TransitionError):
        return ApiProblem(409, "state-conflict", "Not allowed in the permit's current state", exc.message,
                          exc.reason)
    if exc.reason is Reason.USAGE:
        return ApiProblem(409, "conflict", "Conflict", exc.message, exc.reason)
    return ApiProblem(422, "refused", "Refused", exc.message, exc.reason)


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
        reason = Reason.MALFORMED if status in (400, 413, 415) else Reason.USAGE
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
                                           Reason.KEY_STORE))
