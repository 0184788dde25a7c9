"""RFC 9457 problem details, the one helper of both services (the verification service and the office's
admin API, which imports it): every error is `application/problem+json` with

- `type`: `urn:permit-registry:problem:<slug>` (the same namespace in both services),
- `title`, `status`, `detail`, and the extensions `reason` (the stable reason code, when one applies)
  and whatever else the service adds (e.g. `errors` for invalid fields).

The status of a project error comes from its cause through the one HTTP table (keys.errors.HTTP_STATUS):
`for_error`. The verification service's problems are in the caller's language (`Problem`: the title
and detail come from the message catalog); the admin API's are English text (`ApiProblem`).
No traceback and no personal data ever reach a client; answers are never cached.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g

from keys.errors import PermitError, Reason, http_status
from verifier import i18n

PROBLEM_TYPE = "urn:permit-registry:problem:"
MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """An HTTP error answered as a problem document, in plain text."""

    def __init__(self, status: int, slug: str, title: str, detail: str, reason: Reason | str | None = Reason.USAGE,
                 headers: dict[str, str] | None = None, **extensions: object) -> None:
        super().__init__(detail)
        self.status, self.slug, self._title, self._detail = status, slug, title, detail
        self.reason = None if reason is None else str(reason)
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def title(self) -> str:
        return self._title

    @property
    def detail(self) -> str:
        return self._detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_TYPE + self.slug, "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.reason:
            body["reason"] = self.reason
        return {**body, **self.extensions}

    def response(self) -> Response:
        resp = Response(json.dumps(self.body(), ensure_ascii=False), self.status, mimetype=MEDIA_TYPE)
        resp.headers.update(self.headers)
        resp.headers["Cache-Control"] = "no-store"
        g.problem_reason = self.reason
        return resp


class Problem(ApiProblem):
    """A problem of the verification service: `detail` is a catalog id filled with `params`, and the title
    and detail are rendered in the request's language (g.locale) when answered."""

    def __init__(self, status: int, detail: str, reason: str | None = None, headers: dict[str, str] | None = None,
                 **params: object) -> None:
        slug = detail.removeprefix("problem.").replace("_", "-") if detail != "problem.http" else f"http-{status}"
        super().__init__(status, slug, "", detail, reason, headers)
        self.message_id, self.params = detail, params

    @property
    def title(self) -> str:
        return title(self.status, g.get("locale", i18n.DEFAULT))

    @property
    def detail(self) -> str:
        return i18n.text(self.message_id, g.get("locale", i18n.DEFAULT), **self.params)


def title(status: int, locale: str) -> str:
    key = f"problem.title.{status}"
    if key in i18n.catalog(locale):
        return i18n.text(key, locale)
    return i18n.text("problem.http", locale, code=status)


def for_error(exc: PermitError, slug: str, title: str, detail: str | None = None,
              headers: dict[str, str] | None = None, **extensions: object) -> ApiProblem:
    """A project error as a problem: the status from its cause (the one table), its reason code, and the
    error's own message unless the service gives a `detail` that hides internals."""
    return ApiProblem(http_status(exc), slug, title, exc.message if detail is None else detail, exc.reason,
                      headers, **extensions)


def problem_response(problem: ApiProblem) -> Response:
    return problem.response()
