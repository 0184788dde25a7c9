"""The request plumbing the verification routes share: who calls (API key, sector, rate), the JSON body,
one item or a batch, one audited check, and the answer in the caller's language and sector.

The routes take the service state and the caller once and pass them on: every access to Flask's
request-local proxies (`request`, `g`, `current_app`) costs a lookup, and a verify request is a few
tens of microseconds of Python around one signature check."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Request, Response, request
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import get_content_length

from verifier import desk
from verifier.check import Result, check
from verifier.server.limits import MAX_JSON_DEPTH, TooDeep, load_json
from verifier.server.problems import Problem
from verifier.server.sectors import Sector
from verifier.server.state import Caller, ServiceState

MAX_BATCH = 1000
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="permit-verifier"'}
# What flask.jsonify writes with this app's settings (compact, keys sorted, UTF-8 kept), from one encoder
# made once rather than one per response.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def authenticate(state: ServiceState) -> Caller:
    """The caller of this request (401 without a known key, 403 if its sector left the policy), charged one
    check against its rate (429 when over it)."""
    scheme, _, key = request.environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    key = key.strip()
    caller = state.caller(key) if key and scheme.lower() == "bearer" else None
    if caller is None:
        raise Problem(401, "problem.unauthorized", headers=dict(_UNAUTHORIZED))
    if caller.sector is None:
        raise Problem(403, "problem.no_sector", sector=caller.org.sector)
    charge(state, caller, 1)
    return caller


def charge(state: ServiceState, caller: Caller, cost: int, paid: int = 0) -> None:
    """Count `cost` checks against the caller's rate: a batch costs one per item."""
    wait = state.admit(caller, cost, paid)
    if wait is not None:
        raise Problem(429, "problem.rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))},
                      sector=caller.sector.name)


def body_bytes(req: Request) -> bytes:
    """The request body. With a Content-Length within the limit: one read of exactly that many bytes from
    the server's input (werkzeug's guarded stream reads the same bytes in several steps, a good part of a
    small request's cost); anything else (chunked, or over the limit: 413) as werkzeug reads it."""
    environ = req.environ
    length = get_content_length(environ)
    limit = req.max_content_length
    if length is None or (limit is not None and length > limit):
        return req.get_data(cache=True)
    data = environ["wsgi.input"].read(length) if length else b""
    if len(data) != length:
        raise ClientDisconnected()
    return data


def json_body() -> dict[str, Any]:
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.environ.get("CONTENT_TYPE") != "application/json" and not req.is_json:  # the usual header, unparsed
        raise Problem(415, "problem.json_required")
    try:
        body = load_json(body_bytes(req))
    except TooDeep:
        raise Problem(400, "problem.json_too_deep", max=MAX_JSON_DEPTH) from None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "problem.json_object")
    return body


def items(state: ServiceState, caller: Caller, body: dict[str, Any], one: str, many: str) -> tuple[list[Any], bool]:
    """The one item (`one`) or the batch (`many`) of the body; a batch is charged one check per item."""
    if len(body) == 1 and one in body:
        return [body[one]], False
    unexpected = set(body) - {one, many}
    if unexpected:
        raise Problem(422, "problem.unexpected_fields", names=", ".join(sorted(map(repr, unexpected)))[:200])
    if many in body and one not in body:
        batch = body[many]
        if not isinstance(batch, list) or not batch:
            raise Problem(422, "problem.non_empty_array", name=many)
        if len(batch) > MAX_BATCH:
            raise Problem(422, "problem.batch_too_large", max=MAX_BATCH, count=len(batch))
        charge(state, caller, len(batch) - 1, paid=1)  # the request itself paid for one check
        return batch, True
    raise Problem(422, "problem.one_or_many", one=one, many=many)


def verify_one(state: ServiceState, text: object, caller: Caller, at: int) -> Result:
    if not isinstance(text, str):
        raise Problem(422, "problem.payload_string")
    trust, status = state.lists(caller.sector)
    result = check(desk.normalise_scan(text), trust, at, status)
    state.audit.record(caller.org.name, "verify", result.permit.number if result.permit else None,
                       result.verdict.value, result.reason.value)
    return result


def answer(result: Result, sector: Sector, locale: str, at: int) -> dict[str, Any]:
    return desk.result_json(result, locale, sector.fields, at)


def json_response(body: object) -> Response:
    """`body` as application/json, byte for byte what flask.jsonify gives under this app's settings."""
    return Response(_ENCODER.encode(body) + "\n", mimetype="application/json")
