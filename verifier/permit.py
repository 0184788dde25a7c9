"""The permit wire format, decode side: prefixed base45 text -> COSE_Sign1 -> CWT claims -> Permit.

See docs/format.md for the byte-level specification. The registry encodes with the same constants.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from keys.cose import Sign1, decode_sign1, loads
from keys.errors import FormatError, Reason
from verifier import base45, number

PREFIX = "PR1:"
_OTHER_VERSION = re.compile(r"PR[0-9]{1,3}:")
MAX_TEXT = 4296  # the most a QR code (version 40, alphanumeric) can hold
MAX_COSE = 3000

# CWT claims (RFC 8392) at the top level.
CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT = 1, 4, 5, 6
CLAIM_PERMIT = -65537  # private use (< -65536); its value is the permit map below
# Keys of the permit map.
P_NUMBER, P_CARD, P_SURNAME, P_GIVEN, P_CHINESE, P_SEX, P_BIRTH, P_NATIONALITY, P_CATEGORY, P_STATUS = range(1, 11)

SEX_CODES = {1: "M", 2: "F"}  # ISO/IEC 5218
SEX_IDS = {v: k for k, v in SEX_CODES.items()}
CATEGORIES = ("talent", "investment", "employment", "family", "contribution", "other")
CATEGORY_IDS = {name: i for i, name in enumerate(CATEGORIES, start=1)}

# Dates on the card are calendar dates in the issuing state's time zone, fixed by this spec.
ISSUER_TZ = timezone(timedelta(hours=8))
EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = EPOCH.toordinal()
MAX_NAME = 100
MAX_TIME = 7258118400  # 2200-01-01


def day_number(d: date) -> int:
    """A date as the integer the wire carries: days since 1970-01-01."""
    return d.toordinal() - _EPOCH_ORDINAL


def date_of_day(n: int) -> date:
    return date.fromordinal(n + _EPOCH_ORDINAL)


def day_start(d: date) -> int:
    """Epoch seconds at 00:00 of a calendar date in the issuing state's time zone."""
    return int(datetime(d.year, d.month, d.day, tzinfo=ISSUER_TZ).timestamp())


def local_date(ts: int) -> date:
    """The issuing state's calendar date at epoch seconds `ts`."""
    return datetime.fromtimestamp(ts, ISSUER_TZ).date()


@dataclass(frozen=True, slots=True)
class Permit:
    """The holder data a permit carries, as signed."""

    number: str
    card: int
    surname: str
    given_names: str
    chinese_name: str | None
    sex: str
    birth_date: date
    nationality: str
    category: str
    authority: str
    valid_from: int  # nbf: 00:00 of the issue date
    valid_until: int  # exp: 00:00 of the day after the expiry date
    signed_at: int
    status_list: int
    status_index: int

    @property
    def issue_date(self) -> date:
        return local_date(self.valid_from)

    @property
    def expiry_date(self) -> date:
        return local_date(self.valid_until - 1)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["birth_date"] = self.birth_date.isoformat()
        data["issue_date"] = self.issue_date.isoformat()
        data["expiry_date"] = self.expiry_date.isoformat()
        for name in ("valid_from", "valid_until", "signed_at"):
            data[name] = datetime.fromtimestamp(data[name], UTC).isoformat().replace("+00:00", "Z")
        return data


def parse_text(text: str) -> Sign1:
    """Untrusted scanner or QR text -> COSE_Sign1. Raises FormatError (reason MALFORMED or UNSUPPORTED_VERSION)."""
    if not isinstance(text, str):
        raise FormatError("payload must be text")
    if len(text) > MAX_TEXT:
        raise FormatError(f"payload is {len(text)} characters, more than a QR code holds ({MAX_TEXT})")
    text = text.strip()
    if not text.startswith(PREFIX):
        if _OTHER_VERSION.match(text):
            raise FormatError(f"payload format {text[:text.index(':')]} is not supported by this verifier",
                              Reason.UNSUPPORTED_VERSION)
        raise FormatError(f"payload does not start with {PREFIX}")
    try:
        raw = base45.decode(text[len(PREFIX):])
    except base45.Base45Error as exc:
        raise FormatError(f"payload is not valid base45: {exc}") from None
    return decode_sign1(raw, MAX_COSE)


def _text(m: dict, key: int, what: str, optional: bool = False) -> str | None:
    value = m.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME or not value.isprintable():
        raise FormatError(f"{what} must be printable text of 1 to {MAX_NAME} characters")
    return value


def _time(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_TIME:
        raise FormatError(f"{what} must be a NumericDate between 1970 and 2200")
    return value


def _int(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise FormatError(f"{what} must be a non-negative integer")
    return value


def decode_claims(payload: bytes) -> Permit:
    """CWT claims bytes (already signature-checked) -> Permit. Raises FormatError."""
    claims = loads(payload, "permit claims")
    if not isinstance(claims, dict):
        raise FormatError("permit claims must be a map")
    m = claims.get(CLAIM_PERMIT)
    if not isinstance(m, dict):
        raise FormatError(f"permit claims lack the permit map (claim {CLAIM_PERMIT})")
    authority = claims.get(CLAIM_ISS)
    if not isinstance(authority, str) or not 0 < len(authority) <= MAX_NAME:
        raise FormatError("issuing authority (iss) must be text")
    nbf, exp = _time(claims.get(CLAIM_NBF), "nbf"), _time(claims.get(CLAIM_EXP), "exp")
    iat = _time(claims.get(CLAIM_IAT), "iat")
    if exp <= nbf:
        raise FormatError("exp must be after nbf")
    status = m.get(P_STATUS)
    if not isinstance(status, list | tuple) or len(status) != 2:
        raise FormatError("status reference must be [list, index]")
    sex_code = m.get(P_SEX)
    sex = SEX_CODES.get(sex_code) if type(sex_code) is int else None
    category = m.get(P_CATEGORY)
    birth = m.get(P_BIRTH)
    nationality = m.get(P_NATIONALITY)
    if sex is None:
        raise FormatError("sex must be 1 (male) or 2 (female)")
    if type(category) is not int or not 1 <= category <= len(CATEGORIES):
        raise FormatError("unknown grant category")
    if type(birth) is not int or not -60000 < birth < 60000:
        raise FormatError("birth date must be a day number")
    if not isinstance(nationality, str) or len(nationality) != 3 or not nationality.isalpha():
        raise FormatError("nationality must be an ISO 3166-1 alpha-3 code")
    try:
        permit_number = number.from_int(_int(m.get(P_NUMBER), "permit number"))
    except number.InvalidNumberError as exc:
        raise FormatError(f"permit number is impossible: {exc}") from None
    return Permit(
        number=permit_number,
        card=_int(m.get(P_CARD), "card serial"),
        surname=_text(m, P_SURNAME, "surname"),  # type: ignore[arg-type]
        given_names=_text(m, P_GIVEN, "given names"),  # type: ignore[arg-type]
        chinese_name=_text(m, P_CHINESE, "Chinese name", optional=True),
        sex=sex,
        birth_date=date_of_day(birth),
        nationality=nationality,
        category=CATEGORIES[category - 1],
        authority=authority,
        valid_from=nbf,
        valid_until=exp,
        signed_at=iat,
        status_list=_int(status[0], "status list"),
        status_index=_int(status[1], "status index"),
    )
