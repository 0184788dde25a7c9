"""The service's own pages and documents (blueprint `pages`): GET /health, /openapi.json, the clerk's page
at /, its static files and the message catalogs it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, send_from_directory

from verifier import i18n
from verifier.holdings import holdings
from verifier.server.openapi import OPENAPI
from verifier.server.problems import Problem
from verifier.server.state import service_state

STATIC = Path(__file__).resolve().parent / "static"
MESSAGES = Path(__file__).resolve().parent.parent / "messages"
PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

bp = Blueprint("pages", __name__)


@bp.get("/health")
def health() -> Response:
    state = service_state()
    trust, status = state.lists(state.policy.sectors.get("other") or next(iter(state.policy.sectors.values())))
    body: dict[str, Any] = {"status": "ok" if trust is not None else "no-trust-list"}
    if trust is not None:
        body.update(trust_list_version=trust.version, trust_list_issued_at=trust.issued_at,
                    trust_list_expires_at=trust.expires_at, trust_list_expired=state.clock() >= trust.expires_at)
    body.update(holdings(state.cache, int(state.clock()), (trust, status.lists if status else {})))
    if state.policy.error:
        body["policy_error"] = state.policy.error
    return jsonify(body)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(OPENAPI)


@bp.get("/")
def page() -> Response:
    resp = send_from_directory(STATIC, "clerk.html")
    resp.headers["Content-Security-Policy"] = PAGE_CSP
    return resp


@bp.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_from_directory(STATIC, name)


@bp.get("/messages/<locale>.json")
def messages(locale: str) -> Response:
    if locale not in i18n.LOCALES:
        raise Problem(404, "problem.http", code=404)
    return send_from_directory(MESSAGES, f"{locale}.json", mimetype="application/json")
