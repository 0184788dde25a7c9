"""The online verification service: the same checks as `verifier check`, behind HTTP.

Callers are organisations with API keys (`Authorization: Bearer KEY`); each sees the permit fields
its sector may see. Every check is audited off the request path. Every error is an RFC 9457
problem+json with no personal data. The validation time is the server's clock, read once per request.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from keys.errors import FormatError, Reason
from keys.trustlist import TrustList
from verifier.cache import Cache
from verifier.check import Result, check, failure
from verifier.holdings import holdings
from verifier.scan import read_qr_text
from verifier.server import orgs
from verifier.server.audit import AuditLog
from verifier.server.openapi import OPENAPI
from verifier.server.sectors import SECTORS, Sector
from verifier.status import CachedStatus

MAX_BATCH = 1000
MAX_BODY = 4 * 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"
PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


class Problem(Exception):
    """An HTTP error answered as application/problem+json (RFC 9457)."""

    def __init__(self, status: int, title: str, detail: str, reason: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.reason, self.headers = status, title, detail, reason, headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.reason:
            body["reason"] = self.reason
        resp = jsonify(body)
        resp.status_code = self.status
        resp.mimetype = "application/problem+json"
        resp.headers.update(self.headers)
        return resp


@dataclass
class _Bucket:
    tokens: float
    at: float


class ServiceState:
    """Per worker: the cached lists (reloaded when a sync swaps the cache), the organisations' keys
    (re-read at most once a second, so a revocation takes effect within a second), rate buckets, audit."""

    def __init__(self, cache_dir: Path, clock: Callable[[], float]) -> None:
        self.cache = Cache(cache_dir)
        self.clock = clock
        self.audit = AuditLog(cache_dir)
        self._conn = orgs.connect(cache_dir)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._checked_lists = 0.0
        self.trust: TrustList | None = None
        self._status: dict[int, CachedStatus] = {}
        self._keys: dict[str, orgs.Org] = {}
        self._checked_keys = 0.0
        self._buckets: dict[str, _Bucket] = {}

    def lists(self, sector: Sector) -> tuple[TrustList | None, CachedStatus | None]:
        now = time.monotonic()
        if now - self._checked_lists >= 1.0:
            with self._lock:
                self._checked_lists = now
                generation = self.cache.generation()
                if generation != self._generation:
                    trust = self.cache.trust_list()
                    held = self.cache.status_lists(trust) if trust is not None else {}
                    self._status = {s.max_status_age: CachedStatus(held, s.max_status_age) for s in SECTORS.values()}
                    self.trust, self._generation = trust, generation
        return self.trust, self._status.get(sector.max_status_age)

    def org_for(self, key: str) -> orgs.Org | None:
        now = time.monotonic()
        if now - self._checked_keys >= 1.0:
            with self._lock:
                self._keys, self._checked_keys = orgs.active_keys(self._conn), now
        return self._keys.get(orgs.key_hash(key))

    def admit(self, key: str, org: orgs.Org, sector: Sector) -> float | None:
        """Token bucket per key (per worker process): None if admitted, else seconds to wait. The rate is
        the organisation's own if it has one, else its sector's."""
        rate = org.rate or sector.rate
        burst = max(float(sector.burst), 2 * rate)
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(burst, now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate


def _normal_name(text: str) -> str:
    """Names compared the way a clerk would: no accents, no case, punctuation and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


def create_app(cache_dir: Path, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, CLOCK=time.time, BENCH_BARE=False)
    app.config.update(config or {})
    state = ServiceState(cache_dir, app.config["CLOCK"])
    app.extensions["verifier"] = state

    def authenticate() -> tuple[orgs.Org, Sector]:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        org = state.org_for(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if org is None:
            raise Problem(401, "Unauthorized", "a valid organisation API key is required (Authorization: Bearer KEY)",
                          headers={"WWW-Authenticate": 'Bearer realm="permit-verifier"'})
        sector = SECTORS[org.sector]
        wait = state.admit(key.strip(), org, sector)
        if wait is not None:
            raise Problem(429, "Too Many Requests", f"the rate limit of the {sector.name} sector was reached",
                          headers={"Retry-After": str(max(1, round(wait)))})
        g.org = org
        return org, sector

    def json_body() -> dict[str, Any]:
        if not request.is_json:
            raise Problem(415, "Unsupported Media Type", "send the request body as application/json")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Problem(400, "Bad Request", "the request body must be a JSON object")
        return body

    def items(body: dict[str, Any], one: str, many: str) -> tuple[list[Any], bool]:
        unexpected = set(body) - {one, many}
        if unexpected:
            names = ", ".join(sorted(map(repr, unexpected)))[:200]
            raise Problem(422, "Unprocessable Content", f"unexpected field(s): {names}")
        if one in body and many not in body:
            return [body[one]], False
        if many in body and one not in body:
            batch = body[many]
            if not isinstance(batch, list) or not batch:
                raise Problem(422, "Unprocessable Content", f"{many!r} must be a non-empty array")
            if len(batch) > MAX_BATCH:
                raise Problem(422, "Unprocessable Content",
                              f"a batch holds at most {MAX_BATCH} items, not {len(batch)}")
            return batch, True
        raise Problem(422, "Unprocessable Content", f"give either {one!r} or {many!r}")

    def verify_one(text: object, org: orgs.Org, sector: Sector, at: int) -> Result:
        if not isinstance(text, str):
            raise Problem(422, "Unprocessable Content", "every payload must be a string")
        trust, status = state.lists(sector)
        result = check(text, trust, at, status)
        state.audit.record(org.name, "verify", result.permit.number if result.permit else None,
                           result.verdict.value, result.reason.value)
        return result

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # e.g. Allow on a 405
        return Problem(exc.code or 500, exc.name, exc.description or exc.name, headers=headers).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unexpected error")
        return Problem(500, "Internal Server Error", "the service failed; the error was logged").response()

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith("/v1/") and request.method == "POST":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.post("/v1/verify")
    def verify() -> Response:
        org, sector = authenticate()
        payloads, batch = items(json_body(), "payload", "payloads")
        at = int(state.clock())
        results = [verify_one(p, org, sector, at).to_json(sector.fields) for p in payloads]
        return jsonify({"results": results} if batch else results[0])

    @app.post("/v1/verify-image")
    def verify_image() -> Response:
        org, sector = authenticate()
        upload = request.files.get("image")
        if upload is None:
            raise Problem(422, "Unprocessable Content", "send the picture as the multipart field 'image'")
        at = int(state.clock())
        try:
            text = read_qr_text(upload.read())
        except FormatError as exc:
            result = failure(exc)
            state.audit.record(org.name, "verify-image", None, result.verdict.value, result.reason.value)
            return jsonify(result.to_json(sector.fields))
        return jsonify(verify_one(text, org, sector, at).to_json(sector.fields))

    @app.post("/v1/identity-check")
    def identity_check() -> Response:
        org, sector = authenticate()
        claims, batch = items(json_body(), "check", "checks")
        at = int(state.clock())
        answers = []
        for claim in claims:
            if not isinstance(claim, dict) or not all(isinstance(claim.get(k), str) for k in ("payload", "number",
                                                                                               "name")):
                raise Problem(422, "Unprocessable Content", "each check needs string fields 'payload', 'number' "
                              "and 'name' (and may have 'birth_date')")
            birth = claim.get("birth_date")
            if "birth_date" in claim and not isinstance(birth, str):
                raise Problem(422, "Unprocessable Content", "'birth_date' must be a string YYYY-MM-DD")
            trust, status = state.lists(sector)
            result = check(claim["payload"], trust, at, status)
            permit = result.permit
            match = permit is not None and permit.number == claim["number"].strip().upper() and _normal_name(
                f"{permit.surname} {permit.given_names}") == _normal_name(claim["name"]) and (
                birth is None or permit.birth_date.isoformat() == birth.strip())
            state.audit.record(org.name, "identity-check", permit.number if permit else None,
                               result.verdict.value, result.reason.value)
            answers.append({"match": bool(match), "verdict": result.verdict.value, "reason": result.reason.value,
                            "message": result.message, "status_age": result.status_age})
        return jsonify({"results": answers} if batch else answers[0])

    @app.get("/v1/trust-list")
    def trust_list() -> Response:
        data = state.cache.trust_list_bytes()
        if data is None:
            raise Problem(404, "Not Found", "this verifier holds no trust list yet", Reason.NO_TRUST_LIST.value)
        return Response(data, mimetype="application/permit-trust-list+cwt")

    @app.get("/v1/status-lists/<int:list_id>")
    def status_list(list_id: int) -> Response:
        data = state.cache.status_list_bytes(list_id)
        if data is None:
            raise Problem(404, "Not Found", f"this verifier holds no status list {list_id}")
        return Response(data, mimetype="application/statuslist+cwt")

    @app.get("/health")
    def health() -> Response:
        trust, status = state.lists(SECTORS["bank"])
        body: dict[str, Any] = {"status": "ok" if trust is not None else "no-trust-list"}
        if trust is not None:
            body.update(trust_list_version=trust.version, trust_list_expires_at=trust.expires_at,
                        trust_list_expired=state.clock() >= trust.expires_at)
        body.update(holdings(state.cache, int(state.clock()), (trust, status.lists if status else {})))
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

    if app.config["BENCH_BARE"]:
        @app.post("/v1/bare")
        def bare() -> Response:
            return Response("{}", mimetype="application/json")

    return app

