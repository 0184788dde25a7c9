"""The online verification service: the same checks as `verifier check`, behind HTTP.

Callers are organisations with API keys (`Authorization: Bearer KEY`); each sees the permit fields
its sector may see. Every check is audited off the request path. Every error is an RFC 9457
problem+json with no personal data. The validation time is the server's clock, read once per request.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from verifier import i18n
from verifier.server import api, metrics, pages
from verifier.server.problems import Problem
from verifier.server.requests import MAX_BATCH
from verifier.server.state import ServiceState

MAX_BODY = 4 * 1024 * 1024
__all__ = ["MAX_BATCH", "MAX_BODY", "ServiceState", "create_app"]


def create_app(cache_dir: Path, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, CLOCK=time.time, BENCH_BARE=False)
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    state = ServiceState(cache_dir, app.config["CLOCK"])
    app.extensions["verifier"] = state
    metrics.install(app, state)

    @app.before_request
    def _locale() -> None:
        g.locale = i18n.from_accept_language(request.headers.get("Accept-Language"))

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # e.g. Allow on a 405
        code = exc.code or 500
        return Problem(code, "problem.http", headers=headers, code=code).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unexpected error")
        return Problem(500, "problem.internal").response()

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith("/v1/"):
            resp.headers["Content-Language"] = g.get("locale", i18n.DEFAULT)
            resp.vary.add("Accept-Language")
        if request.path.startswith("/v1/") and request.method == "POST":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)

    if app.config["BENCH_BARE"]:
        @app.post("/v1/bare")
        def bare() -> Response:
            return Response("{}", mimetype="application/json")

    return app
