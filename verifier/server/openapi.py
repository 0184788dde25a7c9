"""OpenAPI 3.1 description of the verification service (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from keys.errors import Reason
from keys.permit import CATEGORIES

_PROBLEM = {"description": "RFC 9457 problem", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}
_ERRORS = {str(code): _PROBLEM for code in (400, 401, 403, 413, 415, 422, 429, 503)}
_LANGUAGE = {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "Language of `message` and of problem titles: zh-CN or en (default zh-CN). "
                            "`reason` codes never change."}
_PERMIT_FIELDS: dict[str, Any] = {
    **{name: {"type": "string"} for name in ("number", "surname", "given_names", "nationality", "authority")},
    **{name: {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
       for name in ("birth_date", "issue_date", "expiry_date")},
    **{name: {"type": "string", "format": "date-time", "description": "UTC, YYYY-MM-DDTHH:MM:SSZ"}
       for name in ("valid_from", "valid_until", "signed_at")},
    "sex": {"enum": ["M", "F"]}, "category": {"enum": list(CATEGORIES)}}
_REASON = {"enum": [r.value for r in Reason], "description": "the stable reason code (keys.errors.Reason)"}
_VERDICT = {"enum": ["valid", "invalid", "indeterminate"]}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "permit-registry verification service", "version": "1.0.0",
             "description": "Check permanent-residence permits: the same checks as `verifier check`, over HTTP."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {"type": "object", "required": ["title", "status"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "reason": _REASON}},
            "Result": {"type": "object", "required": ["verdict", "reason", "message"], "properties": {
                "verdict": _VERDICT,
                "reason": _REASON, "message": {"type": "string", "description": "plain words, in the "
                                                          "language Accept-Language asked for"},
                "detail": {"type": "string", "description": "the technical detail, in English"},
                "action": {"enum": ["compare", "rescan", "refuse", "update", "sync"], "description":
                           "what the desk does next: compare the data with the photo and the person; rescan (a "
                           "misread, never a forgery); refuse; update or sync the verifier"},
                "checked_at": {"type": "string", "format": "date-time"},
                "permit": {"description": "the fields the caller's sector may see; null unless valid",
                           "oneOf": [{"type": "null"}, {"type": "object", "properties": {
                    **_PERMIT_FIELDS, "card": {"type": "integer"},
                    "chinese_name": {"type": ["string", "null"]},
                    "status_list": {"type": "integer"}, "status_index": {"type": "integer"}}}]},
                "kid": {"type": ["string", "null"]},
                "checked": {"type": "array", "items": {"type": "string"}},
                "status_age": {"type": ["integer", "null"]}}},
            "IdentityAnswer": {"type": "object", "required": ["match", "verdict", "reason"], "properties": {
                "match": {"type": "boolean"}, "verdict": _VERDICT, "reason": _REASON,
                "message": {"type": "string"}, "status_age": {"type": ["integer", "null"]}}},
            "IdentityClaim": {"type": "object", "required": ["payload", "number", "name"], "properties": {
                "payload": {"type": "string"}, "number": {"type": "string"}, "name": {"type": "string"},
                "birth_date": {"type": "string", "description": "YYYY-MM-DD; any other text never matches"}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/verify": {"post": {
            "operationId": "verify",
            "parameters": [_LANGUAGE],
            "summary": "Verify one payload, or a batch of up to 1,000",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "required": ["payload"], "additionalProperties": False,
                 "properties": {"payload": {"type": "string"}}},
                {"type": "object", "required": ["payloads"], "additionalProperties": False, "properties": {"payloads": {
                    "type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string"}}}}]}}}},
            "responses": {"200": {"description": "the verdict(s)", "content": {"application/json": {"schema": {
                "oneOf": [{"$ref": "#/components/schemas/Result"}, {"type": "object", "required": ["results"],
                                                                     "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}}]}}}},
                **_ERRORS}}},
        "/v1/identity-check": {"post": {
            "operationId": "identityCheck",
            "parameters": [_LANGUAGE],
            "summary": "Does a permit match a claimed number and name (and birth date)? Discloses nothing else.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "required": ["check"], "additionalProperties": False, "properties": {
                    "check": {"$ref": "#/components/schemas/IdentityClaim"}}},
                {"type": "object", "required": ["checks"], "additionalProperties": False, "properties": {"checks": {
                    "type": "array", "minItems": 1, "maxItems": 1000,
                    "items": {"$ref": "#/components/schemas/IdentityClaim"}}}}]}}}},
            "responses": {"200": {"description": "match or not, and the permit's status", "content": {
                "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/IdentityAnswer"}, {
                    "type": "object", "required": ["results"], "properties": {"results": {
                        "type": "array", "items": {"$ref": "#/components/schemas/IdentityAnswer"}}}}]}}}},
                **_ERRORS}}},
        "/v1/verify-image": {"post": {
            "operationId": "verifyImage",
            "parameters": [_LANGUAGE],
            "summary": "Verify the QR code in an uploaded picture",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["image"], "properties": {
                    "image": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}},
            "responses": {"200": {"description": "the verdict", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Result"}}}}, **_ERRORS}}},
        "/v1/trust-list": {"get": {
            "operationId": "getTrustList", "summary": "The signed trust list this verifier holds", "security": [],
                                   "responses": {"200": {"description": "COSE_Sign1", "content": {
                                       "application/permit-trust-list+cwt": {}}}, "404": _PROBLEM}}},
        "/v1/status-lists/{id}": {"get": {
            "operationId": "getStatusList",
            "summary": "A signed status list this verifier holds", "security": [],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": {"description": "Status List Token", "content": {"application/statuslist+cwt": {}}},
                          "404": _PROBLEM}}},
        "/health": {"get": {
            "operationId": "health", "summary": "Liveness and the trust list held", "security": [], "responses": {
            "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "status": {"type": "string"}}}}}}}}},
    },
}
