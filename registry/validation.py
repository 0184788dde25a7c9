"""Checking an application before anything is written: every problem is reported at once.

`validate_application(raw, now)` turns untrusted input (a JSON object, CLI flags or a CSV row, all
values as text) into an `Application`, or raises one ValidationError listing every (field, message).

Rules and assumptions (the lead documents them):
- Names are Latin as in the passport's visual zone: letters of the Latin script (accented letters and
  combining diacritics included), space, hyphen and apostrophe; NFC-normalised, surrounding spaces
  removed and inner runs of spaces collapsed; control, format (bidi) and other-script characters are
  refused. Case is kept as given.
- The Chinese name is CJK unified ideographs and the middle dot U+00B7 (the katakana middle dot and the
  hyphenation point, common look-alikes, are turned into U+00B7).
- The birth date is a real date, not after the issue date and not before 1900-01-01.
- A permanent-residence permit is for foreigners: nationality CHN is refused.
- The passport (number and issuing country, ICAO 9303 alpha-3) is required: it is who the applicant is
  for the rule of one active permit per person. The number is kept upper-case without spaces or hyphens,
  5 to 20 letters and digits. It is kept in the register and never put on the QR.
- The photo is a JPEG or PNG file of at most MAX_PHOTO_BYTES and MAX_PHOTO_PIXELS, checked with Pillow.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from keys import countries
from keys.errors import Cause, PermitError, Reason
from keys.permit import CATEGORIES, local_date

MAX_SURNAME = 60
MAX_GIVEN = 80
MAX_CHINESE = 30
MAX_REF = 64
MAX_PHOTO_BYTES = 1_000_000
MAX_PHOTO_PIXELS = 4000 * 4000
MIN_BIRTH = date(1900, 1, 1)
MIDDLE_DOT = "\u00b7"
_DOT_LOOKALIKES = {"\u30fb": MIDDLE_DOT, "\u2027": MIDDLE_DOT, "\uff65": MIDDLE_DOT}
_NAME_PUNCTUATION = frozenset(" -'")
FIELDS = ("surname", "given_names", "chinese_name", "sex", "birth_date", "nationality", "province",
          "category", "passport_number", "passport_country", "photo", "ref")
REQUIRED = ("surname", "given_names", "sex", "birth_date", "nationality", "province", "category",
            "passport_number", "passport_country")
PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{5,20}")


class ValidationError(PermitError):
    """The input has problems; `problems` lists every (field, message). Nothing was written."""

    reason = Reason.USAGE
    cause = Cause.FORMAT

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "".join(f"\n  {field}: {message}" for field, message in problems)
        super().__init__(f"{len(problems)} problem(s) in the input, nothing was written:{lines}")


@dataclass(frozen=True, slots=True)
class Application:
    surname: str
    given_names: str
    chinese_name: str | None
    sex: str
    birth_date: date
    nationality: str
    province: str
    category: str
    passport_number: str
    passport_country: str
    photo: bytes | None = None
    photo_type: str | None = None
    ref: str | None = None


def latin_name(value: str, limit: int) -> tuple[str | None, str | None]:
    """(normalised name, None) or (None, why it is refused)."""
    text = " ".join(part for part in unicodedata.normalize("NFC", value).split(" ") if part)
    if not text:
        return None, "must not be empty"
    if len(text) > limit:
        return None, f"must be at most {limit} characters"
    for ch in text:
        if ch in _NAME_PUNCTUATION:
            continue
        category = unicodedata.category(ch)
        if category.startswith("C"):
            return None, f"contains the control or format character U+{ord(ch):04X}"
        if category == "Mn" and 0x300 <= ord(ch) <= 0x36F:
            continue  # a combining diacritic left after NFC
        if not (category.startswith("L") and unicodedata.name(ch, "").startswith("LATIN")):
            return None, f"contains {ch!r} (U+{ord(ch):04X}): only Latin letters, space, hyphen and apostrophe"
    if not text[0].isalpha():
        return None, "must start with a letter"
    return text, None


def chinese_name(value: str) -> tuple[str | None, str | None]:
    text = "".join(_DOT_LOOKALIKES.get(c, c) for c in unicodedata.normalize("NFC", value.strip()))
    if len(text) > MAX_CHINESE:
        return None, f"must be at most {MAX_CHINESE} characters"
    for ch in text:
        if ch != MIDDLE_DOT and not unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH"):
            return None, f"contains {ch!r} (U+{ord(ch):04X}): only CJK ideographs and the middle dot"
    if text.startswith(MIDDLE_DOT) or text.endswith(MIDDLE_DOT) or MIDDLE_DOT * 2 in text:
        return None, "a middle dot must stand between two names"
    return text, None


def passport_number(value: str) -> tuple[str | None, str | None]:
    """(normalised passport number, None) or (None, why it is refused)."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", value).upper() if ch not in " -")
    if not PASSPORT_NUMBER.fullmatch(text):
        return None, "must be 5 to 20 letters and digits (spaces and hyphens are ignored)"
    return text, None


def passport_country(value: str) -> tuple[str | None, str | None]:
    code = value.strip().upper()
    if not countries.is_alpha3(code):
        return None, "must be the ISO 3166-1 alpha-3 code of the issuing country"
    return code, None


def read_photo(path: Path) -> tuple[bytes, str]:
    """The photo's bytes and its type ('jpeg' or 'png'); raises ValueError saying why it is refused."""
    try:
        size = path.stat().st_size
        if size > MAX_PHOTO_BYTES:
            raise ValueError(f"is {size} bytes; at most {MAX_PHOTO_BYTES} are accepted")
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror}") from None
    return check_photo(data)


def check_photo(data: bytes) -> tuple[bytes, str]:
    """The same checks on bytes already read (a photo sent over HTTP)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        raise ValueError(f"is more than {MAX_PHOTO_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            kind = (image.format or "").lower()
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise ValueError(f"is {width}x{height} pixels; at most {MAX_PHOTO_PIXELS} pixels are accepted")
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValueError("is not a JPEG or PNG image") from None
    except (OSError, SyntaxError) as exc:  # Pillow's way of saying the file is truncated or corrupt
        raise ValueError(f"is not a readable JPEG or PNG image: {exc}") from None
    return data, kind


def _text(raw: Mapping[str, object], name: str, problems: list[tuple[str, str]]) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        if name in REQUIRED:
            problems.append((name, "is required"))
        return None
    if not isinstance(value, str):
        problems.append((name, "must be text"))
        return None
    return value


def validate_application(raw: Mapping[str, object], now: int, base_dir: Path | None = None) -> Application:
    """Check every field of `raw` against the rules above. `now` (epoch seconds) fixes the issue date;
    a relative photo path is taken from `base_dir` (default: the working directory)."""
    problems: list[tuple[str, str]] = [(k, "unknown field") for k in raw if k not in FIELDS]
    values = {name: _text(raw, name, problems) for name in FIELDS}
    out: dict[str, object] = {}

    for name, limit in (("surname", MAX_SURNAME), ("given_names", MAX_GIVEN)):
        if values[name] is not None:
            out[name], why = latin_name(values[name], limit)  # type: ignore[arg-type]
            if why:
                problems.append((name, why))
    out["chinese_name"] = None
    if values["chinese_name"] is not None:
        out["chinese_name"], why = chinese_name(values["chinese_name"])  # type: ignore[arg-type]
        out["chinese_name"] = out["chinese_name"] or None
        if why:
            problems.append(("chinese_name", why))
    if values["sex"] is not None:
        out["sex"] = values["sex"].strip().upper()  # type: ignore[union-attr]
        if out["sex"] not in ("M", "F"):
            problems.append(("sex", "must be M or F"))
    if values["birth_date"] is not None:
        try:
            birth = date.fromisoformat(values["birth_date"].strip())  # type: ignore[union-attr]
            if len(values["birth_date"].strip()) != 10:  # type: ignore[union-attr]
                raise ValueError
        except ValueError:
            problems.append(("birth_date", "must be a date written YYYY-MM-DD"))
        else:
            if birth > local_date(now):
                problems.append(("birth_date", "is in the future"))
            elif birth < MIN_BIRTH:
                problems.append(("birth_date", f"is before {MIN_BIRTH.isoformat()}"))
            out["birth_date"] = birth
    if values["nationality"] is not None:
        code = values["nationality"].strip().upper()  # type: ignore[union-attr]
        out["nationality"] = code
        if not countries.is_alpha3(code):
            problems.append(("nationality", "must be an ISO 3166-1 alpha-3 country code"))
        elif code == "CHN":
            problems.append(("nationality", "CHN: a permanent-residence permit is for foreign nationals"))
    if values["province"] is not None:
        out["province"] = values["province"].strip()  # type: ignore[union-attr]
        if not countries.is_province(out["province"]):  # type: ignore[arg-type]
            problems.append(("province", "must be a GB/T 2260 province code of 2 digits, e.g. 11 for Beijing"))
    if values["category"] is not None:
        out["category"] = values["category"].strip().lower()  # type: ignore[union-attr]
        if out["category"] not in CATEGORIES:
            problems.append(("category", f"must be one of {', '.join(CATEGORIES)}"))
    for name, check in (("passport_number", passport_number), ("passport_country", passport_country)):
        if values[name] is not None:
            out[name], why = check(values[name])  # type: ignore[arg-type]
            if why:
                problems.append((name, why))
    if values["photo"] is not None:
        path = Path(values["photo"])  # type: ignore[arg-type]
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            out["photo"], out["photo_type"] = read_photo(path)
        except ValueError as exc:
            problems.append(("photo", f"{path.name} {exc}"))
    if values["ref"] is not None:
        out["ref"] = values["ref"].strip()  # type: ignore[union-attr]
        ref = out["ref"]
        if not ref or len(ref) > MAX_REF or not ref.isascii() or not ref.isprintable():  # type: ignore[union-attr]
            problems.append(("ref", f"must be 1 to {MAX_REF} printable ASCII characters"))
    if problems:
        raise ValidationError(problems)
    return Application(**out)  # type: ignore[arg-type]
