"""The admin API (`/admin/v1`): the office CLI's operations over HTTP for the office's own front end.

Every route names one permission (operators.PERMISSIONS); the caller's operator token (Authorization:
Bearer) must belong to an unrevoked operator whose role has it. Authentication runs before routing, so an
unauthenticated caller learns nothing about which URLs or permits exist. State changes go through
registry.issuance / registry.lifecycle exactly as the CLI's commands do, with the operator's name as actor.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import fcntl
import json
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from keys.errors import Reason
from registry import lifecycle, store
from registry.api.operators import (
    NAME_PATTERN,
    ROLES,
    Operator,
    OperatorError,
    add_operator,
    list_operators,
    revoke_operator,
)
from registry.api.problems import ApiProblem, forbidden, invalid, not_found, unauthorized
from registry.api.state import app_state, fold, get_db
from registry.issuance import Signing, issue_permit, payload_text, signing_from_home
from registry.lifecycle import LISTING_SQL, STATUS_SQL, Actor
from registry.publish import publish
from registry.qr import png_bytes, svg_bytes
from registry.validation import (
    MAX_GIVEN,
    MAX_PHOTO_BYTES,
    MAX_SURNAME,
    ValidationError,
    chinese_name,
    latin_name,
    read_photo,
    validate_application,
)
from verifier.permit import CATEGORIES, local_date

bp = Blueprint("admin", __name__, url_prefix="/admin/v1")

MAX_NOTE = 500
MAX_REASON_TEXT = 200
MAX_LIST = 500
DEFAULT_LIST = 100
NUMBER_PATTERN = re.compile(r"[0-9A-Z]{18}")
STATUS_ACTIONS = ("revoke", "suspend", "reinstate", "surrender", "record-death")
CARD_ACTIONS = ("renew", "replace")
SUSPEND_REASONS = ("investigation", "reconsideration")
# The same listing as `registry list --json` (registry/office_cli.py), with the name filter's wildcards escaped.


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
    if not op.may(permission):
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


def json_body(required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, or a 400/415 problem. An empty body is {} when not required."""
    raw = request.get_data(cache=True)  # MAX_CONTENT_LENGTH applies: larger bodies are a 413
    if not raw.strip():
        if required:
            raise ApiProblem(400, "malformed-json", "Malformed request body", "A JSON object body is required.",
                             Reason.MALFORMED)
        return {}
    if request.mimetype and request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiProblem(415, "unsupported-media-type", "Unsupported media type",
                         "The body must be JSON (Content-Type: application/json).", Reason.MALFORMED)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiProblem(400, "malformed-json", "Malformed request body", "The body is not UTF-8 text.",
                         Reason.MALFORMED) from None
    except json.JSONDecodeError as exc:  # its message names a position, never the content
        raise ApiProblem(400, "malformed-json", "Malformed request body", f"The body is not valid JSON: {exc}",
                         Reason.MALFORMED) from None
    except (ValueError, RecursionError):
        raise ApiProblem(400, "malformed-json", "Malformed request body", "The body is not valid JSON.",
                         Reason.MALFORMED) from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "malformed-json", "Malformed request body", "The body must be a JSON object.",
                         Reason.MALFORMED)
    return data


def _note(body: dict[str, Any], problems: list[tuple[str, str]]) -> str | None:
    note = body.pop("note", None)
    if note is None or note == "":
        return None
    if not isinstance(note, str):
        problems.append(("note", "must be text"))
        return None
    note = note.strip()
    if len(note) > MAX_NOTE or not note.isprintable():
        problems.append(("note", f"must be at most {MAX_NOTE} printable characters"))
        return None
    return note or None


def _unknown(body: Mapping[str, Any], allowed: tuple[str, ...], problems: list[tuple[str, str]]) -> None:
    problems.extend((k, "unknown field") for k in body if k not in allowed)


def _decode_photo(value: object) -> tuple[bytes | None, str | None]:
    """A photo sent over HTTP: base64 (optionally a data: URI) of a JPEG or PNG. Never a server path."""
    if not isinstance(value, str):
        return None, "must be base64 text (or a data: URI) of a JPEG or PNG image"
    text = value.strip()
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if not head.endswith(";base64"):
            return None, "a data: URI must be base64-encoded"
    if len(text) > (MAX_PHOTO_BYTES * 4) // 3 + 8:
        return None, f"is more than {MAX_PHOTO_BYTES} bytes"
    try:
        return base64.b64decode(text, validate=True), None
    except (binascii.Error, ValueError):
        return None, "must be base64 text (or a data: URI) of a JPEG or PNG image"


def _checked_photo(value: object, problems: list[tuple[str, str]], field: str = "photo") -> tuple[bytes, str] | None:
    data, why = _decode_photo(value)
    if data is None:
        problems.append((field, why or "is not valid"))
        return None
    with tempfile.TemporaryDirectory(prefix="registry-photo-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        try:
            return read_photo(path)
        except ValueError as exc:
            problems.append((field, f"{exc}"))
            return None


def find_permit(number: str) -> dict:
    key = number.upper()
    g.number = key[:32]
    permit = store.one(get_db(), "SELECT number, state FROM permits WHERE number = ?", (key,)) \
        if NUMBER_PATTERN.fullmatch(key) else None
    if permit is None:
        raise not_found(f"There is no permit {key[:32]} in this registry.")
    return permit


def _dates(row: dict) -> dict:
    row = dict(row)
    row["issue_date"] = local_date(row.pop("valid_from")).isoformat()
    row["expiry_date"] = local_date(row.pop("valid_until") - 1).isoformat()
    return row


def permit_view(number: str) -> dict:
    db = get_db()
    row = store.one(db, LISTING_SQL + " WHERE p.number = :number", {"now": now(), "number": number})
    if row is None:
        raise not_found(f"There is no permit {number} in this registry.")
    photo = store.one(db, "SELECT length(photo) AS size, photo_type FROM permits WHERE number = ?", (number,))
    data = _dates(row)
    data["photo"] = {"type": photo["photo_type"], "bytes": photo["size"]} if photo and photo["size"] else None
    card = lifecycle.current_card(db, number)
    data["qr_text"] = payload_text(card["payload"])
    return data


def signing() -> Signing:
    """The active permit key, read afresh (a `registry keys rotate` by the CLI is seen at once)."""
    return signing_from_home(app_state().fresh_home())


# ---- issue and read ----------------------------------------------------------------------------------------

@bp.post("/permits")
@requires("issue")
def issue() -> tuple[Response, int, dict[str, str]]:
    """Issue a permit; the body is the application JSON of `registry issue --json` (photo as base64)."""
    body = json_body()
    problems: list[tuple[str, str]] = []
    note = _note(body, problems)
    photo = None
    if body.get("photo") not in (None, ""):
        photo = _checked_photo(body.pop("photo"), problems)
    else:
        body.pop("photo", None)
    t = now()
    try:
        application = validate_application(body, t)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        raise invalid(problems)
    if photo is not None:
        application = dataclasses.replace(application, photo=photo[0], photo_type=photo[1])
    number = issue_permit(get_db(), application, signing(), t, operator().name, note)
    g.number = number
    location = url_for("admin.show", number=number)
    return jsonify({"number": number}), 201, {"Location": location}


@bp.get("/permits/<number>")
@requires("read")
def show(number: str) -> Response:
    permit = find_permit(number)
    return jsonify(permit_view(permit["number"]))


@bp.get("/permits/<number>/history")
@requires("read")
def history(number: str) -> Response:
    """The permit's events (its state changes, with the operator or CLI user as actor) and every API call
    made about it (reads and refusals included)."""
    permit = find_permit(number)
    db = get_db()
    events = store.rows(db, "SELECT at, action, from_state, to_state, card_serial, actor, reason, note, detail "
                        "FROM events WHERE number = ? ORDER BY id", (permit["number"],))
    for e in events:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else None
    calls = store.rows(db, "SELECT at, operator, role, method, path, permission, status, reason FROM api_calls "
                       "WHERE number = ? ORDER BY id", (permit["number"],))
    return jsonify({"number": permit["number"], "events": events, "calls": calls})


@bp.get("/permits")
@requires("read")
def listing() -> Response:
    args = request.args
    problems: list[tuple[str, str]] = []
    problems.extend((k, "unknown query parameter") for k in args
                    if k not in ("name", "nationality", "status", "limit", "offset"))
    where, params = [], {"now": now()}
    name = args.get("name", "").strip()
    if name:
        if len(name) > 100:
            problems.append(("name", "must be at most 100 characters"))
        # fold(): NFC + casefold, so "müll" finds MÜLLER (SQLite's LIKE folds ASCII only).
        where.append("(fold(p.surname) LIKE :name ESCAPE '\\' OR fold(p.given_names) LIKE :name ESCAPE '\\' "
                     "OR fold(p.chinese_name) LIKE :name ESCAPE '\\' "
                     "OR fold(p.given_names || ' ' || p.surname) LIKE :name ESCAPE '\\')")
        escaped = fold(name).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["name"] = f"%{escaped}%"
    nationality = args.get("nationality", "").strip().upper()
    if nationality:
        if not re.fullmatch(r"[A-Z]{3}", nationality):
            problems.append(("nationality", "must be an ISO 3166-1 alpha-3 code"))
        where.append("p.nationality = :nationality")
        params["nationality"] = nationality
    status = args.get("status", "").strip()
    if status:
        if status not in lifecycle.STATES:
            problems.append(("status", f"must be one of {', '.join(lifecycle.STATES)}"))
        where.append(f"{STATUS_SQL} = :status")
        params["status"] = status
    limit = _int_arg("limit", DEFAULT_LIST, 1, MAX_LIST, problems)
    offset = _int_arg("offset", 0, 0, 10**9, problems)
    if problems:
        raise invalid(problems)
    sql = (LISTING_SQL + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY p.number LIMIT {limit} OFFSET {offset}")
    found = [_dates(r) for r in store.rows(get_db(), sql, params)]
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


# ---- lifecycle ---------------------------------------------------------------------------------------------

@bp.post("/permits/<number>/<action>")
def act(number: str, action: str) -> Response:
    """revoke {"reason": ground}, suspend {"reason"?}, reinstate {"reason"?}, surrender, record-death, renew,
    replace {"reason": lost|damaged|data-changed, "changes"?}; each takes an optional "note"."""
    if action not in STATUS_ACTIONS + CARD_ACTIONS:
        operator()
        raise not_found(f"There is no action {action[:40]!r}; the actions are "
                        f"{', '.join(STATUS_ACTIONS + CARD_ACTIONS)}.")
    op = require(action)
    body = json_body(required=False)
    problems: list[tuple[str, str]] = []
    note = _note(body, problems)
    reason = body.get("reason")
    if action == "revoke":
        _unknown(body, ("reason",), problems)
        if reason not in lifecycle.REVOCATION_GROUNDS:
            problems.append(("reason", f"is required: one of {', '.join(lifecycle.REVOCATION_GROUNDS)}"))
    elif action == "suspend":
        _unknown(body, ("reason",), problems)
        reason = reason or "investigation"
        if reason not in SUSPEND_REASONS:
            problems.append(("reason", f"must be one of {', '.join(SUSPEND_REASONS)}"))
    elif action == "reinstate":
        _unknown(body, ("reason",), problems)
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_TEXT
                                   or not reason.isprintable()):
            problems.append(("reason", f"must be text of at most {MAX_REASON_TEXT} printable characters"))
    elif action == "replace":
        _unknown(body, ("reason", "changes"), problems)
        changes = _changes(body.get("changes"), problems)
        if reason not in lifecycle.REPLACE_REASONS:
            problems.append(("reason", f"is required: one of {', '.join(lifecycle.REPLACE_REASONS)}"))
        elif reason == "data-changed" and not changes and not any(f.startswith("changes") for f, _ in problems):
            problems.append(("changes", "a data-changed replacement needs at least one changed field"))
        elif reason != "data-changed" and body.get("changes"):
            problems.append(("changes", f"a replacement for a {reason} card keeps the data; "
                                        "use reason data-changed"))
    else:
        _unknown(body, (), problems)
    permit = find_permit(number)  # 404 before 422: a wrong number is the first thing to tell
    if problems:
        raise invalid(problems)
    db, t, who = get_db(), now(), Actor(op.name, note)
    if action in STATUS_ACTIONS:
        lifecycle.transition(db, permit["number"], action, t, who, reason)
    elif action == "renew":
        lifecycle.renew(db, permit["number"], t, who, signing())
    else:
        lifecycle.replace(db, permit["number"], reason, changes, t, who, signing())
    return jsonify({"action": action, **permit_view(permit["number"])})


def _changes(raw: object, problems: list[tuple[str, str]]) -> dict[str, object]:
    """The changed fields of a replacement, checked as `registry replace` checks its flags."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(("changes", "must be a JSON object"))
        return {}
    out: dict[str, object] = {}
    for name, value in raw.items():
        field = f"changes.{name}"
        if name not in ("surname", "given_names", "chinese_name", "category", "photo"):
            problems.append((field, "cannot be changed on a replacement card (only surname, given_names, "
                                    "chinese_name, category, photo)"))
            continue
        if name == "photo":
            photo = _checked_photo(value, problems, field)
            if photo is not None:
                out["photo"], out["photo_type"] = photo
            continue
        if name == "chinese_name" and value in (None, ""):
            out[name] = None
            continue
        if not isinstance(value, str):
            problems.append((field, "must be text"))
            continue
        why = None
        if name in ("surname", "given_names"):
            out[name], why = latin_name(value, MAX_SURNAME if name == "surname" else MAX_GIVEN)
        elif name == "chinese_name":
            out[name], why = chinese_name(value)
        else:
            out[name] = value.strip().lower()
            why = None if out[name] in CATEGORIES else f"must be one of {', '.join(CATEGORIES)}"
        if why:
            problems.append((field, why))
    return out


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
            report = publish(home, state.publish_dir, now())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return jsonify({"trust_version": report.trust_version, "trust_signed": report.trust_signed,
                    "lists": report.lists, "lists_signed": report.lists_signed})


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
    _unknown(body, ("name", "role"), problems)
    name, role = body.get("name"), body.get("role")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems.append(("name", "is required: 1 to 64 letters, digits and . _ @ - (starting with a letter or "
                                 "digit)"))
    if role not in ROLES:
        problems.append(("role", f"is required: one of {', '.join(ROLES)}"))
    if problems:
        raise invalid(problems)
    try:
        added, token = add_operator(get_db(), name, role, now(), f"api:{operator().name}")
    except OperatorError as exc:
        raise ApiProblem(409, "conflict", "Conflict", exc.message) from None
    return jsonify({"name": added.name, "role": added.role.value, "created_at": added.created_at,
                    "token": token}), 201


@bp.post("/operators/<name>/revoke")
@requires("operators")
def operators_revoke(name: str) -> Response:
    json_body(required=False)
    try:
        revoke_operator(get_db(), name, now(), f"api:{operator().name}")
    except OperatorError:
        raise not_found("There is no active operator by that name.") from None
    return jsonify({"name": name, "revoked": True})
