"""Pure parsing of what the adapters receive, shared so the CLI and the admin API cannot drift: the
application (registry/validation.py), the changed fields of a replacement, dates, and the search filter.
Photos arrive as bytes (the CLI reads its file, the API decodes its base64) and are checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from keys.permit import CATEGORIES
from registry.office.errors import INVALID, OfficeError
from registry.validation import (
    MAX_GIVEN,
    MAX_SURNAME,
    ValidationError,
    check_photo,
    chinese_name,
    latin_name,
    passport_country,
    passport_number,
)

CHANGE_FIELDS = ("surname", "given_names", "chinese_name", "category", "photo")


def parse_changes(raw: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """The changed fields of a replacement: {field: text} (photo: bytes). Raises one ValidationError with
    every problem; field names carry `prefix` (the API's "changes.")."""
    problems: list[tuple[str, str]] = []
    out: dict[str, object] = {}
    for name, value in raw.items():
        field = prefix + name
        if name not in CHANGE_FIELDS:
            problems.append((field, f"cannot be changed on a replacement card (only {', '.join(CHANGE_FIELDS)})"))
            continue
        if name == "photo":
            if not isinstance(value, bytes):
                problems.append((field, "must be a JPEG or PNG image"))
                continue
            try:
                out["photo"], out["photo_type"] = check_photo(value)
            except ValueError as exc:
                problems.append((field, str(exc)))
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
    if problems:
        raise ValidationError(problems)
    return out


def parse_passport(country: object, number: object) -> tuple[str, str]:
    problems: list[tuple[str, str]] = []
    c, n = None, None
    for name, value, check in (("passport_country", country, passport_country),
                               ("passport_number", number, passport_number)):
        if not isinstance(value, str) or not value.strip():
            problems.append((name, "is required"))
            continue
        got, why = check(value)
        if why:
            problems.append((name, why))
        elif name == "passport_country":
            c = got
        else:
            n = got
    if problems or c is None or n is None:
        raise ValidationError(problems)
    return c, n


def parse_date(text: object, what: str) -> date:
    if not isinstance(text, str) or len(text.strip()) != 10:
        raise OfficeError("bad-date", f"{what} must be a date written YYYY-MM-DD", INVALID)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OfficeError("bad-date", f"{what} must be a date written YYYY-MM-DD", INVALID) from None
