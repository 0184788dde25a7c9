"""The registry's HTTP side (the `server` extra): the admin API for the office's own front end, with operator
accounts and roles, and the published files for verifiers.

    app = create_app(home, {"PUBLISH_DIR": "/srv/public"})

Config keys (all optional): PUBLISH_DIR (default HOME/public), CLOCK (a callable returning epoch seconds;
default time.time), PUBLISHED_LONG_MAX_AGE (seconds, for trust-list.cwt and root.pem; default 3600),
MAX_CONTENT_LENGTH (default 2 MiB: a photo of at most 1 MB, base64-encoded, in a JSON body).

Every /admin/ call, refused or not, is recorded in the `api_calls` table (see registry/api/operators.py)
after its response is known. If that record cannot be written, a read is answered 503 instead (no personal
data leaves unrecorded); a change has already been recorded in `events` with the operator as actor.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, Response, current_app, g, jsonify, request

from registry import store
from registry.api import admin, admin_rules, identity, metrics, published
from registry.api.openapi import OPENAPI
from registry.api.operators import authenticate, ensure_schema, record_call
from registry.api.problems import ApiProblem, log, problem_response, register_error_handlers, unauthorized
from registry.api.state import EXTENSION, AppState, close_db, get_db
from registry.home import Home

ADMIN_PREFIX = "/admin/"
DEFAULTS: dict[str, object] = {
    "PUBLISHED_LONG_MAX_AGE": 3600,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
}


def create_app(home: Home, config: dict | None = None) -> Flask:
    """The Flask app for the registry at `home`. Creates the operators and api_calls tables if absent."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config["CLOCK"] = time.time
    app.config["PUBLISH_DIR"] = home.path / "public"
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    home.config()  # a clear error now if this is not a registry home
    db = store.open_store(home.db_path)
    try:
        ensure_schema(db)
    finally:
        db.conn.close()
    app.extensions[EXTENSION] = AppState(home, Path(app.config["PUBLISH_DIR"]))

    assert admin_rules.bp is admin.bp  # the rules' routes (appeals, presence, operators) join this blueprint
    app.register_blueprint(admin.bp)
    app.register_blueprint(published.bp)
    app.register_blueprint(identity.bp)
    register_error_handlers(app)
    metrics.install(app)  # before _authenticate: refused calls are timed and counted too
    app.before_request(_authenticate)
    app.after_request(_audit)
    app.teardown_appcontext(close_db)

    @app.get("/admin/v1/openapi.json")  # authenticated like every /admin/ route
    def admin_openapi() -> Response:
        return jsonify(OPENAPI)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    return app


def _is_admin() -> bool:
    return request.path.startswith(ADMIN_PREFIX)


def _authenticate() -> None:
    """Before routing: every /admin/ request needs an unrevoked operator's token (401 otherwise, before any
    404 or 405, so an unauthenticated caller cannot map the API or probe permit numbers)."""
    if not _is_admin():
        return
    g.call_at = int(current_app.config["CLOCK"]())
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = authenticate(get_db(), token.strip()) if scheme.lower() == "bearer" else None
    g.token_operator = found  # a revoked operator is named in the audit record of its refused call
    if found is None or found.revoked_at is not None:
        raise unauthorized()
    g.operator = found


def _audit(response: Response) -> Response:
    if not _is_admin():
        return response
    if request.method != "OPTIONS":
        response.headers["Cache-Control"] = "no-store"
    view_number = (request.view_args or {}).get("number")
    number = g.get("number") or (view_number.upper()[:32] if isinstance(view_number, str) else None)
    try:
        at = g.get("call_at") or int(current_app.config["CLOCK"]())
        record_call(get_db(), at, g.get("token_operator"), request.method, request.path,
                    request.query_string.decode("utf-8", "replace"), g.get("permission"), number,
                    response.status_code, g.get("problem_reason"), request.remote_addr)
    except store.StoreError as exc:
        log.error("cannot record the API call %s %s: %s", request.method, request.path, exc.message)
        if request.method in ("GET", "HEAD") and response.status_code < 400:
            return problem_response(ApiProblem(503, "audit-unavailable", "The audit log is unavailable",
                                               "The call could not be recorded, so nothing is shown; try again.",
                                               exc.reason, headers={"Retry-After": "1"}))
    return response


__all__ = ["create_app"]
