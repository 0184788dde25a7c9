"""Reading an admin API request's body: a JSON object (or a 400/415 problem), and its fields, every problem
of its shape collected at once as (field, message) for one 422."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from flask import request

from keys.errors import Reason
from registry.api.problems import ApiProblem
from registry.validation import MAX_PHOTO_BYTES

MAX_NOTE = 500


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


def note_field(body: dict[str, Any], problems: list[tuple[str, str]]) -> str | None:
    """The note: text of at most MAX_NOTE characters; control characters are removed by the office."""
    note = body.pop("note", None)
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        problems.append(("note", f"must be text of at most {MAX_NOTE} characters"))
        return None
    return note


def unknown_fields(body: Mapping[str, Any], allowed: tuple[str, ...], problems: list[tuple[str, str]]) -> None:
    problems.extend((k, "unknown field") for k in body if k not in allowed)


def text_field(body: Mapping[str, Any], name: str, problems: list[tuple[str, str]], required: bool = True,
          limit: int = 200) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            problems.append((name, "is required"))
        return None
    if not isinstance(value, str) or len(value) > limit:
        problems.append((name, f"must be text of at most {limit} characters"))
        return None
    return value


def decode_photo(value: object) -> tuple[bytes | None, str | None]:
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


def photo_bytes(value: object, problems: list[tuple[str, str]], field: str = "photo") -> bytes | None:
    data, why = decode_photo(value)
    if data is None:
        problems.append((field, why or "is not valid"))
    return data
