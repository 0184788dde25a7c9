"""RFC 9457 problem+json answers of the verification service, in the caller's language (the title and
our own details come from the message catalog; `reason`, when present, is the stable code)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify

from verifier import i18n


class Problem(Exception):
    """An HTTP error answered as application/problem+json. `detail` is a catalog id filled with `params`."""

    def __init__(self, status: int, detail: str, reason: str | None = None, headers: dict[str, str] | None = None,
                 **params: object) -> None:
        super().__init__(detail)
        self.status, self.detail, self.reason, self.headers, self.params = status, detail, reason, headers or {}, params

    def response(self) -> Response:
        locale = g.get("locale", i18n.DEFAULT)
        body: dict[str, Any] = {"type": "about:blank", "title": title(self.status, locale), "status": self.status,
                                "detail": i18n.text(self.detail, locale, **self.params)}
        if self.reason:
            body["reason"] = self.reason
        resp = jsonify(body)
        resp.status_code = self.status
        resp.mimetype = "application/problem+json"
        resp.headers.update(self.headers)
        return resp


def title(status: int, locale: str) -> str:
    key = f"problem.title.{status}"
    if key in i18n.catalog(locale):
        return i18n.text(key, locale)
    return i18n.text("problem.http", locale, code=status)
