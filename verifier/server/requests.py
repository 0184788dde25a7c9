"""The request plumbing the verification routes share: who calls (API key, sector, rate), the JSON body,
one item or a batch, one audited check, and the answer in the caller's language and sector."""

from __future__ import annotations

import math
from typing import Any

from flask import g, request

from verifier import desk
from verifier.check import Result, check
from verifier.server import orgs
from verifier.server.limits import MAX_JSON_DEPTH, TooDeep, load_json
from verifier.server.problems import Problem
from verifier.server.sectors import Sector
from verifier.server.state import service_state

MAX_BATCH = 1000


def authenticate() -> tuple[orgs.Org, Sector]:
    state = service_state()
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    org = state.org_for(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
    if org is None:
        raise Problem(401, "problem.unauthorized", headers={"WWW-Authenticate": 'Bearer realm="permit-verifier"'})
    sector = state.policy.sectors.get(org.sector)
    if sector is None:
        raise Problem(403, "problem.no_sector", sector=org.sector)
    g.org, g.key, g.sector = org, key.strip(), sector
    charge(1, sector)
    return org, sector


def charge(cost: int, sector: Sector, paid: int = 0) -> None:
    """Count `cost` checks against the caller's rate: a batch costs one per item."""
    wait = service_state().admit(g.key, g.org, sector, cost, paid)
    if wait is not None:
        raise Problem(429, "problem.rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))},
                      sector=sector.name)


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise Problem(415, "problem.json_required")
    try:
        body = load_json(request.get_data(cache=True))
    except TooDeep:
        raise Problem(400, "problem.json_too_deep", max=MAX_JSON_DEPTH) from None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "problem.json_object")
    return body


def items(body: dict[str, Any], one: str, many: str) -> tuple[list[Any], bool]:
    unexpected = set(body) - {one, many}
    if unexpected:
        raise Problem(422, "problem.unexpected_fields", names=", ".join(sorted(map(repr, unexpected)))[:200])
    if one in body and many not in body:
        return [body[one]], False
    if many in body and one not in body:
        batch = body[many]
        if not isinstance(batch, list) or not batch:
            raise Problem(422, "problem.non_empty_array", name=many)
        if len(batch) > MAX_BATCH:
            raise Problem(422, "problem.batch_too_large", max=MAX_BATCH, count=len(batch))
        charge(len(batch) - 1, g.sector, paid=1)  # the request itself paid for one check
        return batch, True
    raise Problem(422, "problem.one_or_many", one=one, many=many)


def verify_one(text: object, org: orgs.Org, sector: Sector, at: int) -> Result:
    state = service_state()
    if not isinstance(text, str):
        raise Problem(422, "problem.payload_string")
    trust, status = state.lists(sector)
    result = check(desk.normalise_scan(text), trust, at, status)
    state.audit.record(org.name, "verify", result.permit.number if result.permit else None,
                       result.verdict.value, result.reason.value)
    return result


def answer(result: Result, sector: Sector, at: int) -> dict[str, Any]:
    return desk.result_json(result, g.locale, sector.fields, at)
