"""The admin API (`/admin/v1`): the office service over HTTP for the office's own front end.

A thin adapter: every route authenticates the operator (Authorization: Bearer, before routing), reads its
JSON body (every problem of its shape at once, 422), calls one operation of registry/office/service.py
(the same the CLI calls) and answers with its outcome: 200/201 when the act happened, 202 with the
proposal when it waits for a second officer (four eyes). The office's refusals are problems whose type is
the rule's code (urn:permit-registry:problem:duplicate-person, ...:barred, ...:self-approval ...).
Non-act routes (read, qr, publish, operators) name one permission of registry/api/operators.py.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from keys.errors import http_status
from registry import lifecycle, store
from registry.api.bodies import json_body, note_field, photo_bytes, text_field, unknown_fields
from registry.api.operators import Operator, may
from registry.api.problems import ApiProblem, forbidden, invalid, not_found, unauthorized
from registry.api.state import app_state, get_db
from registry.issuance import payload_text
from registry.office import search as reading
from registry.office.errors import OfficeError
from registry.office.parse import parse_changes, parse_passport
from registry.office.policy import GROUNDS, SUSPEND_REASONS
from registry.office.service import Office, Outcome
from registry.office.setup import office_for
from registry.publish import publish
from registry.qr import png_bytes, svg_bytes
from registry.validation import ValidationError, validate_application

bp = Blueprint("admin", __name__, url_prefix="/admin/v1")

MAX_LIST = 500
DEFAULT_LIST = 100
NUMBER_PATTERN = re.compile(r"[0-9A-Z]{18}")
STATUS_ACTIONS = ("revoke", "suspend", "reinstate", "surrender", "record-death")
CARD_ACTIONS = ("renew", "replace")


@bp.errorhandler(OfficeError)
def _office_error(exc: OfficeError) -> Response:
    from registry.api.problems import problem_response

    return problem_response(ApiProblem(http_status(exc), exc.code, exc.code.replace("-", " ").capitalize(),
                                       exc.message, exc.reason))


# ---- request plumbing --------------------------------------------------------------------------------------

def now() -> int:
    return int(current_app.config["CLOCK"]())


def operator() -> Operator:
    op = g.get("operator")
    if op is None:
        raise unauthorized()
    return op


def require(permission: str) -> Operator:
    g.permission = permission
    op = operator()
    if not may(op, permission):
        raise forbidden(permission)
    return op


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            require(permission)
            return view(**kwargs)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def office() -> Office:
    """The office on this request's connection, with the key store read afresh (a `registry keys rotate`
    by the CLI is seen at once)."""
    return office_for(app_state().fresh_home(), get_db(), current_app.config["CLOCK"])


def find_permit(number: str) -> dict:
    key = number.upper()
    g.number = key[:32]
    permit = lifecycle.get_permit(get_db(), key) if NUMBER_PATTERN.fullmatch(key) and _exists(key) else None
    if permit is None:
        raise not_found(f"There is no permit {key[:32]} in this registry.")
    return permit


def _exists(number: str) -> bool:
    return bool(get_db().execute("SELECT 1 FROM permits WHERE number = ?", (number,)).fetchone())


def permit_view(number: str) -> dict:
    data = reading.show(get_db(), number, now())
    data["qr_text"] = payload_text(lifecycle.current_card(get_db(), number)["payload"])
    return data


def answer(outcome: Outcome, created: bool = False) -> tuple[Response, int]:
    """202 with the proposal when the act waits for approval; otherwise the permit as it is now."""
    if outcome.status == "pending":
        return jsonify({**outcome.to_json(), "approve": url_for("admin.approve", proposal=outcome.proposal)}), 202
    if outcome.number is None:
        return jsonify(outcome.to_json()), 200
    g.number = outcome.number
    return jsonify({**outcome.to_json(), **permit_view(outcome.number), "status": outcome.state,
                    "outcome": outcome.status}), 201 if created else 200


# ---- issue and read ----------------------------------------------------------------------------------------

@bp.post("/permits")
def issue() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    """Issue a permit; the body is the application JSON of `registry issue --json` (photo as base64)."""
    g.permission = "issue"
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    photo = photo_bytes(body.pop("photo"), problems) if body.get("photo") not in (None, "") else None
    body.pop("photo", None)
    try:
        application = validate_application(body, now())
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        raise invalid(problems)
    if photo is not None:
        import dataclasses

        from registry.validation import check_photo

        try:
            data, kind = check_photo(photo)
        except ValueError as exc:
            raise invalid([("photo", str(exc))]) from None
        application = dataclasses.replace(application, photo=data, photo_type=kind)
    outcome = office().issue(operator(), application, note)
    if outcome.status == "pending":
        return answer(outcome)
    response, status = answer(outcome, created=True)
    return response, status, {"Location": url_for("admin.show", number=outcome.number)}


@bp.get("/permits/<number>")
@requires("read")
def show(number: str) -> Response:
    permit = find_permit(number)
    return jsonify(permit_view(permit["number"]))


@bp.get("/permits/<number>/history")
@requires("read")
def history(number: str) -> Response:
    """The permit's events (who acted, who approved) and every API call made about it."""
    permit = find_permit(number)
    calls = get_db().query("SELECT at, operator, role, method, path, permission, status, reason FROM api_calls "
                           "WHERE number = ? ORDER BY id", (permit["number"],))
    return jsonify({"number": permit["number"], "events": reading.history(get_db(), permit["number"]),
                    "calls": list(calls)})


@bp.get("/permits")
@requires("read")
def listing() -> Response:
    args = request.args
    problems: list[tuple[str, str]] = [(k, "unknown query parameter") for k in args
                                       if k not in ("name", "nationality", "status", "limit", "offset")]
    limit = _int_arg("limit", DEFAULT_LIST, 1, MAX_LIST, problems)
    offset = _int_arg("offset", 0, 0, 10**9, problems)
    try:
        found = reading.search(get_db(), now(), args.get("name"), args.get("nationality"), args.get("status"),
                               limit, offset)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        raise invalid(problems)
    return jsonify({"permits": found, "limit": limit, "offset": offset})


def _int_arg(name: str, default: int, low: int, high: int, problems: list[tuple[str, str]]) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        problems.append((name, f"must be an integer from {low} to {high}"))
        return default
    return int(text)


@bp.get("/permits/<number>/qr.<any(png, svg):fmt>")
@requires("qr")
def qr(number: str, fmt: str) -> Response:
    permit = find_permit(number)
    db = get_db()
    serial = request.args.get("card")
    if serial is None:
        card = lifecycle.current_card(db, permit["number"])
    else:
        if not serial.isdigit() or len(serial) > 6:
            raise invalid([("card", "must be a card serial (1, 2, ...)")])
        card = store.one(db, "SELECT * FROM cards WHERE number = ? AND serial = ?", (permit["number"], int(serial)))
        if card is None:
            raise not_found(f"Permit {permit['number']} has no card {serial}.")
    text = payload_text(card["payload"])
    if fmt == "png":
        return Response(png_bytes(text), mimetype="image/png")
    return Response(svg_bytes(text), mimetype="image/svg+xml")


# ---- acts on a permit --------------------------------------------------------------------------------------

@bp.post("/permits/<number>/<action>")
def act(number: str, action: str) -> tuple[Response, int]:
    """revoke {"reason": ground}, suspend {"reason"?}, reinstate {"reason"?}, surrender, record-death,
    renew {"override_residence"?}, replace {"reason": lost|damaged|data-changed, "changes"?},
    passport {"passport_number", "passport_country"}; each takes an optional "note"."""
    acts = STATUS_ACTIONS + CARD_ACTIONS + ("passport",)
    if action not in acts:
        operator()
        raise not_found(f"There is no action {action[:40]!r}; the actions are {', '.join(acts)}.")
    g.permission = action
    op = operator()
    key = {"replace": "replace:damaged", "passport": "passport-change"}.get(action, action)
    office().require_start(op, key)  # 403 before anything is looked up
    body = json_body(required=False)
    problems: list[tuple[str, str]] = []
    note = note_field(body, problems)
    reason = body.get("reason")
    call: Callable[[Office], Outcome]
    permit_number = number.upper()
    if action == "revoke":
        unknown_fields(body, ("reason",), problems)
        if reason not in GROUNDS:
            problems.append(("reason", f"is required: one of {', '.join(GROUNDS)}"))
        call = lambda o: o.transition(op, permit_number, action, reason, note)  # noqa: E731
    elif action == "suspend":
        unknown_fields(body, ("reason",), problems)
        reason = reason or "investigation"
        if reason not in SUSPEND_REASONS:
            problems.append(("reason", f"must be one of {', '.join(SUSPEND_REASONS)}"))
        call = lambda o: o.transition(op, permit_number, action, reason, note)  # noqa: E731
    elif action in ("reinstate", "surrender", "record-death"):
        unknown_fields(body, ("reason",) if action == "reinstate" else (), problems)
        reason = text_field(body, "reason", problems, required=False) if action == "reinstate" else None
        call = lambda o: o.transition(op, permit_number, action, reason, note)  # noqa: E731
    elif action == "renew":
        unknown_fields(body, ("override_residence",), problems)
        override = text_field(body, "override_residence", problems, required=False)
        call = lambda o: o.renew(op, permit_number, override, note)  # noqa: E731
    elif action == "replace":
        unknown_fields(body, ("reason", "changes"), problems)
        changes = _changes(body.get("changes"), problems)
        if reason not in lifecycle.REPLACE_REASONS:
            problems.append(("reason", f"is required: one of {', '.join(lifecycle.REPLACE_REASONS)}"))
        elif reason == "data-changed" and not changes and not any(f.startswith("changes") for f, _ in problems):
            problems.append(("changes", "a data-changed replacement needs at least one changed field"))
        elif reason != "data-changed" and body.get("changes"):
            problems.append(("changes", f"a replacement for a {reason} card keeps the data; use reason data-changed"))
        call = lambda o: o.replace(op, permit_number, reason, changes, note)  # noqa: E731
    else:
        unknown_fields(body, ("passport_number", "passport_country"), problems)
        passport = None
        try:
            passport = parse_passport(body.get("passport_country"), body.get("passport_number"))
        except ValidationError as exc:
            problems.extend(exc.problems)
        call = lambda o: o.change_passport(op, permit_number, *passport, note)  # type: ignore[misc]  # noqa: E731
    find_permit(number)  # 404 before 422: a wrong number is the first thing to tell
    if problems:
        raise invalid(problems)
    return answer(call(office()))


def _changes(raw: object, problems: list[tuple[str, str]]) -> dict[str, object]:
    """The changed fields of a replacement, parsed by the same code as `registry replace`'s flags."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(("changes", "must be a JSON object"))
        return {}
    raw = dict(raw)
    if "photo" in raw:
        data = photo_bytes(raw["photo"], problems, "changes.photo")
        if data is None:
            raw.pop("photo")
        else:
            raw["photo"] = data
    try:
        return parse_changes(raw, prefix="changes.")
    except ValidationError as exc:
        problems.extend(exc.problems)
        return {}


# ---- publish -----------------------------------------------------------------------------------------------

@bp.post("/publish")
@requires("publish")
def publish_now() -> Response:
    """Sign what changed and write the published files to PUBLISH_DIR (served under /published/)."""
    json_body(required=False)
    state = app_state()
    home = state.fresh_home()
    home.config()
    lock_path = home.path / ".publish.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two workers publishing at once would race on HOME/published/
        try:
            report = publish(home, state.publish_dir, now(), operator_id=g.operator.id)  # a logged act
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return jsonify({"trust_version": report.trust_version, "trust_signed": report.trust_signed,
                    "lists": report.lists, "lists_signed": report.lists_signed})


