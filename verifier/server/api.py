"""The verification API (blueprint `api`): POST /v1/verify, /v1/verify-image, /v1/identity-check, and the
signed files this verifier holds (GET /v1/trust-list, /v1/status-lists/{id})."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from keys.errors import FormatError, Reason
from verifier import desk
from verifier.check import check, failure
from verifier.names import name_matches
from verifier.scan import read_qr_text
from verifier.server.problems import Problem
from verifier.server.requests import answer, authenticate, items, json_body, json_response, verify_one
from verifier.server.state import service_state

bp = Blueprint("api", __name__)


@bp.post("/v1/verify")
def verify() -> Response:
    state = service_state()
    caller = authenticate(state)
    payloads, batch = items(state, caller, json_body(), "payload", "payloads")
    at = int(state.clock())
    sector, locale = caller.sector, g.locale
    results = [answer(verify_one(state, p, caller, at), sector, locale, at) for p in payloads]
    return json_response({"results": results} if batch else results[0])


@bp.post("/v1/verify-image")
def verify_image() -> Response:
    state = service_state()
    caller = authenticate(state)
    org, sector = caller.org, caller.sector
    upload = request.files.get("image")
    if upload is None:
        raise Problem(422, "problem.image_field")
    at = int(state.clock())
    if not state.decoders.acquire():
        raise Problem(503, "problem.image_busy", headers={"Retry-After": "1"})
    try:
        text = read_qr_text(upload.read())
    except FormatError as exc:
        result = failure(exc)
        state.audit.record(org.name, "verify-image", None, result.verdict.value, result.reason.value)
        return json_response(answer(result, sector, g.locale, at))
    finally:
        state.decoders.release()
    return json_response(answer(verify_one(state, text, caller, at), sector, g.locale, at))


@bp.post("/v1/identity-check")
def identity_check() -> Response:
    state = service_state()
    caller = authenticate(state)
    org, sector = caller.org, caller.sector
    claims, batch = items(state, caller, json_body(), "check", "checks")
    at = int(state.clock())
    answers = []
    for claim in claims:
        if not isinstance(claim, dict) or not all(isinstance(claim.get(k), str) for k in ("payload", "number",
                                                                                           "name")):
            raise Problem(422, "problem.identity_fields")
        birth = claim.get("birth_date")
        if "birth_date" in claim and not isinstance(birth, str):
            raise Problem(422, "problem.birth_date")
        trust, status = state.lists(sector)
        result = check(desk.normalise_scan(claim["payload"]), trust, at, status)
        permit = result.permit
        match = permit is not None and permit.number == claim["number"].strip().upper() and name_matches(
            claim["name"], permit.surname, permit.given_names, permit.chinese_name) and (
            birth is None or permit.birth_date.isoformat() == birth.strip())
        state.audit.record(org.name, "identity-check", permit.number if permit else None,
                           result.verdict.value, result.reason.value)
        answers.append({"match": bool(match), "verdict": result.verdict.value, "reason": result.reason.value,
                        "message": desk.message(result, g.locale), "status_age": result.status_age})
    return json_response({"results": answers} if batch else answers[0])


@bp.get("/v1/trust-list")
def trust_list() -> Response:
    state = service_state()
    data = state.cache.trust_list_bytes()
    if data is None:
        raise Problem(404, "problem.no_trust_list", Reason.NO_TRUST_LIST.value)
    return Response(data, mimetype="application/permit-trust-list+cwt")


@bp.get("/v1/status-lists/<int:list_id>")
def status_list(list_id: int) -> Response:
    state = service_state()
    data = state.cache.status_list_bytes(list_id)
    if data is None:
        raise Problem(404, "problem.no_status_list", id=list_id)
    return Response(data, mimetype="application/statuslist+cwt")
