"""The admin API's routes for the office's rules: four eyes (pending, approve, reject), the relief path
(appeals and their decisions) and residence (days present). Registered on registry/api/admin.py's
blueprint; thin adapters over registry/office/service.py like the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, g, jsonify, request

from registry.api.admin import answer, bp, find_permit, now, office, operator, requires
from registry.api.bodies import json_body, note_field, text_field, unknown_fields
from registry.api.operators import NAME_PATTERN, ROLES
from registry.api.problems import invalid, not_found
from registry.api.state import get_db
from registry.office.errors import NOT_FOUND, OfficeError
from registry.office.operators import add_operator, list_operators, revoke_operator
from registry.office.parse import parse_date

# ---- four eyes ---------------------------------------------------------------------------------------------

@bp.get("/pending")
@requires("read")
def pending() -> Response:
    return jsonify({"pending": office().pending()})


@bp.post("/pending/<int(max=9223372036854775807):proposal>/approve")
def approve(proposal: int) -> tuple[Response, int]:
    g.permission = "approve"
    op = operator()
    json_body(required=False)
    return answer(office().approve(op, proposal))


@bp.post("/pending/<int(max=9223372036854775807):proposal>/reject")
def reject(proposal: int) -> tuple[Response, int]:
    g.permission = "reject"
    op = operator()
    body = json_body(required=False)
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    unknown_fields(body, (), problems)
    if problems:
        raise invalid(problems)
    return jsonify(office().reject(op, proposal, note).to_json()), 200


# ---- relief and residence ----------------------------------------------------------------------------------

@bp.post("/permits/<number>/appeals")
def appeal(number: str) -> tuple[Response, int]:
    """{"kind": reconsideration|litigation, "filed": DATE, "case": REF, "late_reason"?, "note"?}"""
    g.permission = "appeal"
    op = operator()
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    unknown_fields(body, ("kind", "filed", "case", "late_reason"), problems)
    kind, case = text_field(body, "kind", problems), text_field(body, "case", problems, limit=64)
    late = text_field(body, "late_reason", problems, required=False)
    filed = _date(body, "filed", problems)
    permit = find_permit(number)
    if problems:
        raise invalid(problems)
    return jsonify(office().appeal(op, permit["number"], kind or "", filed, case or "", note, late)), 201  # type: ignore[arg-type]


def _date(body: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> Any:
    try:
        return parse_date(body.get(name), name)
    except OfficeError as exc:
        problems.append((name, exc.message.removeprefix(f"{name} ")))
        return None


@bp.get("/appeals")
@requires("read")
def appeals() -> Response:
    problems = [(k, "unknown query parameter") for k in request.args if k not in ("overdue", "number")]
    if problems:
        raise invalid(problems)
    overdue = request.args.get("overdue", "") in ("1", "true")
    return jsonify({"appeals": office().appeals(overdue, request.args.get("number"))})


@bp.post("/appeals/<int(max=9223372036854775807):appeal_id>/decide")
def appeal_decide(appeal_id: int) -> tuple[Response, int]:
    """{"outcome": upheld|overturned, "decided": DATE, "note"?}"""
    g.permission = "appeal-decide"
    op = operator()
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    unknown_fields(body, ("outcome", "decided"), problems)
    outcome = text_field(body, "outcome", problems)
    decided = _date(body, "decided", problems)
    if problems:
        raise invalid(problems)
    return answer(office().decide_appeal(op, appeal_id, outcome or "", decided, note))


@bp.post("/permits/<number>/presence")
def presence(number: str) -> tuple[Response, int]:
    """{"year": YEAR, "days": DAYS, "note"?}: days present in a calendar year."""
    g.permission = "presence"
    op = operator()
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    unknown_fields(body, ("year", "days"), problems)
    for name in ("year", "days"):
        if not isinstance(body.get(name), int) or isinstance(body.get(name), bool):
            problems.append((name, "is required: a whole number"))
    permit = find_permit(number)
    if problems:
        raise invalid(problems)
    office().record_presence(op, {(permit["number"], body["year"]): body["days"]}, "entered", note)
    return jsonify({"number": permit["number"], "year": body["year"], "days": body["days"]}), 200


@bp.post("/presence/import")
def presence_import() -> tuple[Response, int]:
    """{"csv": "number,entry,exit\n...", "source"?: NAME, "note"?}: stays, as `registry presence import`."""
    g.permission = "presence"
    op = operator()
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    unknown_fields(body, ("csv", "source"), problems)
    text = text_field(body, "csv", problems, limit=50_000_000)
    source = text_field(body, "source", problems, required=False, limit=100) or "upload"
    if problems:
        raise invalid(problems)
    count = office().import_presence(op, text or "", f"import:{source}", note)
    return jsonify({"recorded": count}), 200


# ---- operators ---------------------------------------------------------------------------------------------

@bp.get("/operators")
@requires("operators")
def operators_list() -> Response:
    return jsonify({"operators": list_operators(get_db())})


@bp.post("/operators")
@requires("operators")
def operators_add() -> tuple[Response, int]:
    body = json_body()
    problems: list[tuple[str, str]] = []
    unknown_fields(body, ("name", "role", "person"), problems)
    name, role, person = body.get("name"), body.get("role"), body.get("person")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems.append(("name", "is required: 1 to 64 letters, digits and . _ @ - (starting with a letter or "
                                 "digit)"))
    if role not in ROLES:
        problems.append(("role", f"is required: one of {', '.join(ROLES)}"))
    if not isinstance(person, str) or not person.strip():
        problems.append(("person", "is required: the staff number of the person behind the account"))
    if problems:
        raise invalid(problems)
    added, token = add_operator(get_db(), name, role, person, now(), operator())  # type: ignore[arg-type]
    return jsonify({"name": added.name, "role": added.role.value, "created_at": added.created_at,
                    "token": token}), 201


@bp.post("/operators/<name>/revoke")
@requires("operators")
def operators_revoke(name: str) -> Response:
    json_body(required=False)
    try:
        revoke_operator(get_db(), name, now(), operator())
    except OfficeError as exc:
        if exc.kind == NOT_FOUND:
            raise not_found("There is no active operator by that name.") from None
        raise
    return jsonify({"name": name, "revoked": True})
