"""`POST /registry/v1/identity-verification`: for organisations the office has enrolled (rail booking
without a card, and any desk that has a number and a name but no card to scan). See registry/identity.py
for what is answered, the limits and the audit.

    Authorization: Bearer pik_...        {"number": "...", "name": "...", "birth_date": "YYYY-MM-DD"?}
    200 {"match": false}  |  {"match": true, "status": "active", "reason": "VALID", "message": "..."}

`message` is in the caller's language (Accept-Language; zh-CN first), from the verifier's catalog.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from registry import identity
from registry.api.problems import ApiProblem, invalid
from registry.api.state import get_db
from verifier import i18n

bp = Blueprint("identity", __name__, url_prefix="/registry/v1")


def _unenrolled() -> ApiProblem:
    return ApiProblem(401, "unauthorized", "Authentication required",
                      "A valid key of an enrolled organisation is required (Authorization: Bearer KEY).",
                      headers={"WWW-Authenticate": 'Bearer realm="permit-registry-identity", error="invalid_token"'})


@bp.post("/identity-verification")
def identity_verification() -> Response:
    db = get_db()
    identity.ensure_schema(db)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    org = identity.org_for_key(db, key.strip()) if scheme.lower() == "bearer" else None
    if org is None:
        raise _unenrolled()
    now = int(current_app.config["CLOCK"]())
    body = request.get_json(silent=True) if request.is_json else None
    try:
        answer, problems = identity.verify(db, org, body, now, request.remote_addr)
    except identity.RateLimited as exc:
        raise ApiProblem(429, "rate-limited", "Too many identity checks", exc.message,
                         headers={"Retry-After": str(exc.retry_after)}) from None
    if answer is None:
        raise invalid(problems)
    if answer["match"]:
        locale = i18n.from_accept_language(request.headers.get("Accept-Language"))
        answer["message"] = i18n.text(f"reason.{answer['reason']}", locale)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Language")
    return response
