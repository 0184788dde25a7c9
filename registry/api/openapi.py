"""OpenAPI 3.1 description of the admin API (served at GET /admin/v1/openapi.json, to any operator).

Request bodies say exactly what the routes accept (the office's further rules, e.g. a birth date not in the
future or one person one permit, are answered 422 or 409 with every problem at once); enums come from the
code (reason codes, grounds, states, categories), so the document cannot drift from it.
"""

from __future__ import annotations

from typing import Any

from keys.errors import Reason
from keys.permit import CATEGORIES
from registry.api.operators import NAME_PATTERN, ROLES
from registry.lifecycle import REPLACE_REASONS, STATES
from registry.office.deadlines import KINDS, OUTCOMES
from registry.office.policy import GROUNDS, SUSPEND_REASONS
from registry.validation import MAX_CHINESE, MAX_GIVEN, MAX_REF, MAX_SURNAME, REQUIRED

from .bodies import MAX_NOTE

PREFIX = "/admin/v1"
_PROBLEM = {"description": "RFC 9457 problem", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}
_ERRORS = {str(code): _PROBLEM for code in (400, 401, 403, 404, 409, 413, 415, 422, 503)}
_OBJECT = {"type": "object"}
_OPERATOR_NAME = f"^{NAME_PATTERN.pattern}$"
_NOTE = {"type": ["string", "null"], "maxLength": MAX_NOTE, "description": "kept in the event log"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
_NUMBER = {"name": "number", "in": "path", "required": True, "description": "the permit number (18 characters)",
           "schema": {"type": "string", "pattern": "^[0-9A-Za-z]{18}$"}}
_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_PROPOSAL = {"name": "proposal", "in": "path", "required": True, "schema": _ID}


def _json(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required),
            "properties": {**properties, "note": _NOTE}}


def _answer(*codes: str, description: str = "the permit as it is now, or the proposal waiting for approval"
            ) -> dict[str, Any]:
    return {code: {"description": description, "content": {"application/json": {"schema": _OBJECT}}}
            for code in codes}


def _op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, "responses": {**responses, **_ERRORS}, **extra}


_APPLICATION = {
    "type": "object", "additionalProperties": False, "required": list(REQUIRED),
    "properties": {
        "surname": {"type": "string", "minLength": 1, "maxLength": MAX_SURNAME},
        "given_names": {"type": "string", "minLength": 1, "maxLength": MAX_GIVEN},
        "chinese_name": {"type": ["string", "null"], "maxLength": MAX_CHINESE},
        "sex": {"enum": ["M", "F"]},
        "birth_date": _DATE,
        "nationality": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 3166-1 alpha-3"},
        "province": {"type": "string", "pattern": "^[0-9]{2}$", "description": "GB/T 2260 province code"},
        "category": {"enum": list(CATEGORIES)},
        "passport_number": {"type": "string", "minLength": 1},
        "passport_country": {"type": "string", "minLength": 1, "description": "ISO 3166-1 alpha-3"},
        "photo": {"type": ["string", "null"], "description": "base64 (or a data: URI) of a JPEG or PNG"},
        "ref": {"type": ["string", "null"], "maxLength": MAX_REF},
        "note": _NOTE,
    },
}

_ACTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "revoke": ("revokePermit", "Revoke (four eyes by default)",
               _body({"reason": {"enum": list(GROUNDS)}}, ("reason",))),
    "suspend": ("suspendPermit", "Suspend", _body({"reason": {"enum": [*SUSPEND_REASONS, None]}})),
    "reinstate": ("reinstatePermit", "Reinstate a suspended permit",
                  _body({"reason": {"type": ["string", "null"], "maxLength": 200}})),
    "surrender": ("surrenderPermit", "Record that the holder gave the permit up", _body({})),
    "record-death": ("recordDeath", "Record the holder's death", _body({})),
    "renew": ("renewPermit", "Issue the next card of a permit near its expiry",
              _body({"override_residence": {"type": ["string", "null"], "maxLength": 200}})),
    "replace": ("replaceCard", "Replace a lost or damaged card, or one whose data changed",
                _body({"reason": {"enum": list(REPLACE_REASONS)}, "changes": {"type": ["object", "null"]}},
                      ("reason",))),
    "passport": ("changePassport", "Record the holder's new passport",
                 _body({"passport_number": {"type": "string"}, "passport_country": {"type": "string"}},
                       ("passport_number", "passport_country"))),
}


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/permits": {
            "post": _op("issuePermit", "Propose (or, without four eyes, issue) a permit",
                        {**_answer("201", "202")}, requestBody=_json(_APPLICATION)),
            "get": _op("listPermits", "Search permits", _answer("200", description="{permits, limit, offset}"),
                       parameters=[
                           {"name": "name", "in": "query", "schema": {"type": "string"}},
                           {"name": "nationality", "in": "query", "schema": {"type": "string"}},
                           {"name": "status", "in": "query", "schema": {"enum": list(STATES)}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                       "maximum": 500}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                        "maximum": 10**9}}]),
        },
        "/permits/{number}": {"get": _op("getPermit", "A permit, its current card and its QR text",
                                         _answer("200", description="the permit"), parameters=[_NUMBER])},
        "/permits/{number}/history": {"get": _op("getPermitHistory", "The permit's events and API calls",
                                                 _answer("200", description="{number, events, calls}"),
                                                 parameters=[_NUMBER])},
        "/permits/{number}/appeals": {"post": _op(
            "fileAppeal", "File a reconsideration or litigation against an act", _answer("201"),
            parameters=[_NUMBER], requestBody=_json(_body({
                "kind": {"enum": list(KINDS)}, "filed": _DATE, "case": {"type": "string", "minLength": 1,
                                                                         "maxLength": 64},
                "late_reason": {"type": ["string", "null"], "maxLength": 200}}, ("kind", "filed", "case"))))},
        "/permits/{number}/presence": {"post": _op(
            "recordPresence", "Days present in a calendar year", _answer("200"), parameters=[_NUMBER],
            requestBody=_json(_body({"year": {"type": "integer"}, "days": {"type": "integer"}}, ("year", "days"))))},
        "/presence/import": {"post": _op(
            "importPresence", "Stays (CSV: number,entry,exit) as `registry presence import`",
            _answer("200", description="{recorded}"),
            requestBody=_json(_body({"csv": {"type": "string", "minLength": 1},
                                     "source": {"type": ["string", "null"], "maxLength": 100}}, ("csv",))))},
        "/pending": {"get": _op("listPending", "Acts waiting for a second officer",
                                _answer("200", description="{pending}"))},
        "/pending/{proposal}/approve": {"post": _op("approveProposal", "Approve (by a second officer)",
                                                    _answer("200"), parameters=[_PROPOSAL],
                                                    requestBody=_json(_OBJECT, required=False))},
        "/pending/{proposal}/reject": {"post": _op("rejectProposal", "Reject a proposal", _answer("200"),
                                                   parameters=[_PROPOSAL], requestBody=_json(_body({}), False))},
        "/appeals": {"get": _op("listAppeals", "Appeals, or the overdue ones", _answer("200", description="{appeals}"),
                                parameters=[{"name": "overdue", "in": "query", "schema": {"enum": ["1", "true", "0",
                                                                                                   "false"]}},
                                            {"name": "number", "in": "query", "schema": {"type": "string"}}])},
        "/appeals/{appeal_id}/decide": {"post": _op(
            "decideAppeal", "Record an appeal's outcome", _answer("200"),
            parameters=[{"name": "appeal_id", "in": "path", "required": True, "schema": _ID}],
            requestBody=_json(_body({"outcome": {"enum": list(OUTCOMES)}, "decided": _DATE}, ("outcome", "decided"))))},
        "/publish": {"post": _op("publish", "Sign what changed and write the published files",
                                 _answer("200", description="{trust_version, trust_signed, lists, lists_signed}"),
                                 requestBody=_json(_OBJECT, required=False))},
        "/operators": {
            "get": _op("listOperators", "Operator accounts (never their tokens)",
                       _answer("200", description="{operators}")),
            "post": _op("addOperator", "Add an operator; its token is in the answer, once",
                        _answer("201", description="{name, role, created_at, token}"),
                        requestBody=_json({"type": "object", "additionalProperties": False,
                                           "required": ["name", "role", "person"], "properties": {
                                               "name": {"type": "string", "pattern": _OPERATOR_NAME},
                                               "role": {"enum": list(ROLES)},
                                               "person": {"type": "string", "pattern": "\\S"}}})),
        },
        "/operators/{name}/revoke": {"post": _op(
            "revokeOperator", "Revoke an operator's token", _answer("200", description="{name, revoked}"),
            parameters=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            requestBody=_json(_OBJECT, required=False))},
        "/openapi.json": {"get": _op("getAdminOpenApi", "This document", _answer("200", description="OpenAPI 3.1"))},
    }
    for fmt, media in (("png", "image/png"), ("svg", "image/svg+xml")):
        paths[f"/permits/{{number}}/qr.{fmt}"] = {"get": _op(
            f"getQr{fmt.upper()}", f"The QR code of the current card (or of card N) as {fmt.upper()}",
            {"200": {"description": "the picture", "content": {media: {}}}},
            parameters=[_NUMBER, {"name": "card", "in": "query", "schema": {"type": "string",
                                                                            "pattern": "^[0-9]{1,6}$"}}])}
    for action, (operation_id, summary, body) in _ACTS.items():
        paths[f"/permits/{{number}}/{action}"] = {"post": _op(operation_id, summary, _answer("200", "201", "202"),
                                                              parameters=[_NUMBER], requestBody=_json(body, False))}
    return {PREFIX + path: item for path, item in paths.items()}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "permit-registry admin API", "version": "1.0.0",
             "description": "The office's acts over HTTP for its own front end; operators authenticate with "
                            "their token. Every error is an RFC 9457 problem whose `type` names the rule."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
            "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "reason": {"enum": [r.value for r in Reason]},
            "errors": {"type": "array", "items": {"type": "object", "required": ["field", "detail"], "properties": {
                "field": {"type": "string"}, "pointer": {"type": "string"}, "detail": {"type": "string"}}}}}}},
    },
    "security": [{"bearer": []}],
    "paths": _paths(),
}
