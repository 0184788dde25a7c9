"""The permit wire format, both sides: Permit -> CWT claims -> COSE_Sign1 -> prefixed base45 text (the
office's encode_permit) and back (parse_text, decode_claims: every verifier's hot path), side by side so
that a format change touches this one file. See docs/format.md for the byte-level specification.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import attrgetter
from typing import Any

from keys import base45, cbor, number
from keys.algorithms import PrivateKey
from keys.cose import Sign1, decode_sign1, sign1
from keys.errors import FormatError, Reason
from keys.times import iso

PREFIX = "PR1:"
_OTHER_VERSION = re.compile(r"PR[0-9]{1,3}:")
MAX_TEXT = 3391  # the most a QR code holds at the mandated ECC level M (version 40, alphanumeric)
MAX_COSE = 3000
# What a handheld scanner may add around the text (docs/format.md §2). Never part of a payload: base45's
# last character is at most "W" (value 32), so a payload cannot end in a space.
SCANNER_WHITESPACE = " \t\r\n\f\v"

# CWT claims (RFC 8392) at the top level.
CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT = 1, 4, 5, 6
CLAIM_PERMIT = -65537  # private use (< -65536); its value is the permit map below
# Keys of the permit map.
P_NUMBER, P_CARD, P_SURNAME, P_GIVEN, P_CHINESE, P_SEX, P_BIRTH, P_NATIONALITY, P_CATEGORY, P_STATUS = range(1, 11)

# The keys of each map in the one order they may have (RFC 8949 §4.2.1 bytewise order of encodings).
_CLAIM_ORDER = [CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_PERMIT]
_PERMIT_ORDER = list(range(P_NUMBER, P_STATUS + 1))
_PERMIT_ORDER_NO_CHINESE = [k for k in _PERMIT_ORDER if k != P_CHINESE]

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

    def to_json(self, fields: frozenset[str] | None = None) -> dict[str, Any]:
        """JSON-ready fields, limited to `fields` (None: all), always in this order: dates as ISO 8601 dates,
        instants as UTC timestamps. Each field is rendered only if asked for (a sector sees a few)."""
        return {name: render(self) for name, render in _JSON_FIELDS.items() if fields is None or name in fields}


_JSON_FIELDS: dict[str, Callable[[Permit], Any]] = {
    "number": attrgetter("number"),
    "card": attrgetter("card"),
    "surname": attrgetter("surname"),
    "given_names": attrgetter("given_names"),
    "chinese_name": attrgetter("chinese_name"),
    "sex": attrgetter("sex"),
    "birth_date": lambda permit: permit.birth_date.isoformat(),
    "nationality": attrgetter("nationality"),
    "category": attrgetter("category"),
    "authority": attrgetter("authority"),
    "issue_date": lambda permit: permit.issue_date.isoformat(),
    "expiry_date": lambda permit: permit.expiry_date.isoformat(),
    "valid_from": lambda permit: iso(permit.valid_from),
    "valid_until": lambda permit: iso(permit.valid_until),
    "signed_at": lambda permit: iso(permit.signed_at),
    "status_list": attrgetter("status_list"),
    "status_index": attrgetter("status_index"),
}


def looks_like_payload(text: str) -> bool:
    """Whether text reads as a permit payload of some version (PR1:..., PR2:...): what `verifier check`
    takes for scanner text rather than a file name."""
    return bool(_OTHER_VERSION.match(text.strip().upper()))


def parse_text(text: str) -> Sign1:
    """Untrusted scanner or QR text -> COSE_Sign1. Raises FormatError (reason MALFORMED or UNSUPPORTED_VERSION)."""
    if not isinstance(text, str):
        raise FormatError("payload must be text")
    if len(text) > MAX_TEXT:  # judged without the line end a scanner or a file adds (CR LF), stripped below
        stripped = text.strip(SCANNER_WHITESPACE) if len(text) <= MAX_TEXT + 2 else text
        if len(stripped) > MAX_TEXT:
            raise FormatError(f"payload is {len(stripped)} characters, more than a QR code holds ({MAX_TEXT})")
    text = text.strip(SCANNER_WHITESPACE)
    if not text.startswith(PREFIX):
        if _OTHER_VERSION.match(text):
            raise FormatError(f"payload format {text[:text.index(':')]} is not supported by this verifier",
                              Reason.UNSUPPORTED_VERSION)
        raise FormatError(f"payload does not start with {PREFIX}")
    try:
        raw = base45.decode(text[len(PREFIX):])
    except base45.Base45Error as exc:
        raise FormatError(f"payload is not valid base45: {exc}") from None
    envelope = decode_sign1(raw, MAX_COSE)
    if envelope.typ is not None:
        raise FormatError(f"a permit's protected header carries no typ, not {envelope.typ!r}")
    return envelope


def _bad(what: str) -> FormatError:
    return FormatError(f"permit claims: {what}")


def _key_error(what: str, keys: list, order: list) -> FormatError:
    if len(set(keys)) == len(keys) and sorted(keys, key=repr) == sorted(order, key=repr):
        return _bad(f"{what}: map keys not in deterministic order")
    return _bad(f"{what} must hold exactly the keys {order} (Chinese name optional), not {keys}")


def _is_text(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_NAME and value.isprintable()


def _int_keys(mapping: dict) -> bool:
    """Every key is an integer item: in Python the keys true and false equal 1 and 0, so a list comparison
    alone would let `true` stand for claim 1."""
    return all(type(k) is int for k in mapping)


def _is_uint(value: object, limit: int) -> bool:
    return type(value) is int and 0 <= value < limit


def decode_claims(payload: bytes) -> Permit:
    """CWT claims bytes (already signature-checked) -> Permit. Raises FormatError.

    Written flat on purpose: this runs on every check, so each rule is one inline test."""
    claims = cbor.loads_checked_by_caller(payload, "permit claims")
    if type(claims) is not dict:
        raise _bad("not a map")
    if list(claims) != _CLAIM_ORDER or not _int_keys(claims):  # exactly these claims, in bytewise key order
        raise _key_error("claims", list(claims), _CLAIM_ORDER)
    m = claims[CLAIM_PERMIT]
    if type(m) is not dict:
        raise _bad(f"no permit map (claim {CLAIM_PERMIT})")
    keys = list(m)
    if (keys != _PERMIT_ORDER and keys != _PERMIT_ORDER_NO_CHINESE) or not _int_keys(m):
        raise _key_error("permit map", keys, _PERMIT_ORDER)
    authority, iat = claims.get(CLAIM_ISS), claims.get(CLAIM_IAT)
    nbf, exp = claims.get(CLAIM_NBF), claims.get(CLAIM_EXP)
    if not _is_text(authority):
        raise _bad("issuing authority (iss) must be text")
    if not (_is_uint(nbf, MAX_TIME) and _is_uint(exp, MAX_TIME) and _is_uint(iat, MAX_TIME)):
        raise _bad("nbf, exp and iat must be NumericDates between 1970 and 2200")
    if exp <= nbf:  # type: ignore[operator]
        raise _bad("exp must be after nbf")
    body, card, surname, given = m.get(P_NUMBER), m.get(P_CARD), m.get(P_SURNAME), m.get(P_GIVEN)
    chinese, sex, birth, nationality = m.get(P_CHINESE), m.get(P_SEX), m.get(P_BIRTH), m.get(P_NATIONALITY)
    category, status = m.get(P_CATEGORY), m.get(P_STATUS)
    if not _is_uint(body, number.BODY_MAX):
        raise _bad("permit number must be an integer of at most 17 digits")
    if not _is_uint(card, 1 << 32):
        raise _bad("card serial must be a non-negative integer")
    if not (_is_text(surname) and _is_text(given) and (chinese is None or _is_text(chinese))):
        raise _bad(f"names must be printable text of 1 to {MAX_NAME} characters")
    if (sex != 1 and sex != 2) or type(sex) is not int:
        raise _bad("sex must be 1 (male) or 2 (female)")
    if type(birth) is not int or not -60000 < birth < 60000:
        raise _bad("birth date must be a day number")
    if type(nationality) is not str or len(nationality) != 3 or not (
        nationality.isascii() and nationality.isalpha() and nationality.isupper()
    ):
        raise _bad("nationality must be an ISO 3166-1 alpha-3 code (three capital letters A-Z)")
    if type(category) is not int or not 1 <= category <= len(CATEGORIES):
        raise _bad("unknown grant category")
    if type(status) not in (list, tuple) or len(status) != 2 or not (
        _is_uint(status[0], 1 << 32) and _is_uint(status[1], 1 << 32)
    ):
        raise _bad("status reference must be [list, index] of non-negative integers")
    return Permit(
        number.from_int(body),  # type: ignore[arg-type]
        card,  # type: ignore[arg-type]
        surname,  # type: ignore[arg-type]
        given,  # type: ignore[arg-type]
        chinese,  # type: ignore[arg-type]
        SEX_CODES[sex],
        date_of_day(birth),
        nationality,
        CATEGORIES[category - 1],
        authority,  # type: ignore[arg-type]
        nbf,  # type: ignore[arg-type]
        exp,  # type: ignore[arg-type]
        iat,  # type: ignore[arg-type]
        status[0],
        status[1],
    )


# ---- the encode side (the office): every payload is decoded back here before it leaves ----------------

def claims_of(permit: Permit) -> bytes:
    """The CWT claims of a permit, in deterministic (RFC 8949 core) CBOR."""
    data: dict[int, object] = {
        P_NUMBER: number.body_to_int(permit.number),
        P_CARD: permit.card,
        P_SURNAME: permit.surname,
        P_GIVEN: permit.given_names,
        P_SEX: SEX_IDS[permit.sex],
        P_BIRTH: day_number(permit.birth_date),
        P_NATIONALITY: permit.nationality,
        P_CATEGORY: CATEGORY_IDS[permit.category],
        P_STATUS: [permit.status_list, permit.status_index],
    }
    if permit.chinese_name:
        data[P_CHINESE] = permit.chinese_name
    claims = {
        CLAIM_ISS: permit.authority,
        CLAIM_EXP: permit.valid_until,
        CLAIM_NBF: permit.valid_from,
        CLAIM_IAT: permit.signed_at,
        CLAIM_PERMIT: data,
    }
    return cbor.dumps(claims)


def encode_permit(permit: Permit, key: PrivateKey, kid: bytes) -> str:
    """Sign a permit and return its QR text (prefix + base45). Self-checked: the verifier's decoder
    must read back exactly this permit, and the signature must verify with the signing key."""
    text = PREFIX + base45.encode(sign1(claims_of(permit), key, kid))
    envelope = parse_text(text)
    envelope.verify(key.public_key())
    if decode_claims(envelope.payload) != permit:
        raise FormatError("self-check failed: the signed permit does not decode to the data given")
    return text
