"""The online verification service: the same checks as `verifier check`, behind HTTP.

Callers are organisations with API keys (`Authorization: Bearer KEY`); each sees the permit fields
its sector may see. Every check is audited off the request path. Every error is an RFC 9457
problem+json with no personal data. The validation time is the server's clock, read once per request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from keys.errors import FormatError, Reason
from keys.trustlist import TrustList
from verifier import desk, i18n
from verifier.cache import Cache
from verifier.check import Result, check, failure
from verifier.holdings import holdings
from verifier.names import name_matches
from verifier.scan import read_qr_text
from verifier.server import metrics, orgs
from verifier.server.audit import AuditLog
from verifier.server.limits import MAX_JSON_DEPTH, CheckLimiter, DecodeSlots, TooDeep, burst_for, load_json
from verifier.server.openapi import OPENAPI
from verifier.server.problems import Problem
from verifier.server.sectors import Policy, Sector
from verifier.status import CachedStatus

MAX_BATCH = 1000
MAX_BODY = 4 * 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"
MESSAGES = Path(__file__).resolve().parent.parent / "messages"
PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


class ServiceState:
    """Per worker: the cached lists (reloaded when a sync swaps the cache), the organisations' keys and the
    sector policy (re-read at most once a second, so a revocation or a policy change takes effect within a
    second), rate buckets, audit."""

    def __init__(self, cache_dir: Path, clock: Callable[[], float]) -> None:
        self.cache = Cache(cache_dir)
        self.clock = clock
        self.audit = AuditLog(cache_dir)
        self._conn = orgs.connect(cache_dir)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._checked_lists = 0.0
        self.trust: TrustList | None = None
        self._held: dict = {}
        self._status: dict[int, CachedStatus] = {}
        self.policy = Policy(cache_dir)
        self._keys: dict[str, orgs.Org] = {}
        self._checked_keys = 0.0
        self.limiter = CheckLimiter()
        self.decoders = DecodeSlots()

    def lists(self, sector: Sector) -> tuple[TrustList | None, CachedStatus | None]:
        now = time.monotonic()
        if now - self._checked_lists >= 1.0:
            with self._lock:
                self._checked_lists = now
                generation = self.cache.generation()
                if generation != self._generation:
                    trust = self.cache.trust_list()
                    self._held = self.cache.status_lists(trust) if trust is not None else {}
                    self._status = {}
                    self.trust, self._generation = trust, generation
        status = self._status.get(sector.max_status_age)
        if status is None:
            status = self._status[sector.max_status_age] = CachedStatus(self._held, sector.max_status_age)
        return self.trust, status

    def org_for(self, key: str) -> orgs.Org | None:
        now = time.monotonic()
        if now - self._checked_keys >= 1.0:
            with self._lock:
                self._keys, self._checked_keys = orgs.active_keys(self._conn), now
                self.policy.refresh()
        return self._keys.get(orgs.key_hash(key))

    def admit(self, key: str, org: orgs.Org, sector: Sector, cost: int = 1, paid: int = 0) -> float | None:
        """Take `cost` checks from the key's bucket (per worker process; see limits.py): None if admitted,
        else seconds to wait. The rate is the organisation's own if it has one, else its sector's; the burst
        follows that rate."""
        rate = org.rate or sector.rate
        return self.limiter.take(key, cost, rate, burst_for(rate, sector.rate, sector.burst), paid)


def create_app(cache_dir: Path, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, CLOCK=time.time, BENCH_BARE=False)
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    state = ServiceState(cache_dir, app.config["CLOCK"])
    app.extensions["verifier"] = state
    metrics.install(app, state)

    def authenticate() -> tuple[orgs.Org, Sector]:
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
        wait = state.admit(g.key, g.org, sector, cost, paid)
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
        if not isinstance(text, str):
            raise Problem(422, "problem.payload_string")
        trust, status = state.lists(sector)
        result = check(desk.normalise_scan(text), trust, at, status)
        state.audit.record(org.name, "verify", result.permit.number if result.permit else None,
                           result.verdict.value, result.reason.value)
        return result

    def answer(result: Result, sector: Sector, at: int) -> dict[str, Any]:
        return desk.result_json(result, g.locale, sector.fields, at)

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

    @app.post("/v1/verify")
    def verify() -> Response:
        org, sector = authenticate()
        payloads, batch = items(json_body(), "payload", "payloads")
        at = int(state.clock())
        results = [answer(verify_one(p, org, sector, at), sector, at) for p in payloads]
        return jsonify({"results": results} if batch else results[0])

    @app.post("/v1/verify-image")
    def verify_image() -> Response:
        org, sector = authenticate()
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
            return jsonify(answer(result, sector, at))
        finally:
            state.decoders.release()
        return jsonify(answer(verify_one(text, org, sector, at), sector, at))

    @app.post("/v1/identity-check")
    def identity_check() -> Response:
        org, sector = authenticate()
        claims, batch = items(json_body(), "check", "checks")
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
        return jsonify({"results": answers} if batch else answers[0])

    @app.get("/v1/trust-list")
    def trust_list() -> Response:
        data = state.cache.trust_list_bytes()
        if data is None:
            raise Problem(404, "problem.no_trust_list", Reason.NO_TRUST_LIST.value)
        return Response(data, mimetype="application/permit-trust-list+cwt")

    @app.get("/v1/status-lists/<int:list_id>")
    def status_list(list_id: int) -> Response:
        data = state.cache.status_list_bytes(list_id)
        if data is None:
            raise Problem(404, "problem.no_status_list", id=list_id)
        return Response(data, mimetype="application/statuslist+cwt")

    @app.get("/health")
    def health() -> Response:
        trust, status = state.lists(state.policy.sectors.get("other") or next(iter(state.policy.sectors.values())))
        body: dict[str, Any] = {"status": "ok" if trust is not None else "no-trust-list"}
        if trust is not None:
            body.update(trust_list_version=trust.version, trust_list_issued_at=trust.issued_at,
                        trust_list_expires_at=trust.expires_at, trust_list_expired=state.clock() >= trust.expires_at)
        body.update(holdings(state.cache, int(state.clock()), (trust, status.lists if status else {})))
        if state.policy.error:
            body["policy_error"] = state.policy.error
        return jsonify(body)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(OPENAPI)

    @app.get("/")
    def page() -> Response:
        resp = send_from_directory(STATIC, "clerk.html")
        resp.headers["Content-Security-Policy"] = PAGE_CSP
        return resp

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    @app.get("/messages/<locale>.json")
    def messages(locale: str) -> Response:
        if locale not in i18n.LOCALES:
            raise Problem(404, "problem.http", code=404)
        return send_from_directory(MESSAGES, f"{locale}.json", mimetype="application/json")

    if app.config["BENCH_BARE"]:
        @app.post("/v1/bare")
        def bare() -> Response:
            return Response("{}", mimetype="application/json")

    return app
