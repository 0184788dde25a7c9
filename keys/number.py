"""Permanent-residence permit numbers (2023 card): 18 characters.

`9` + province (GB/T 2260, 2 digits) + nationality (ISO 3166-1 numeric, 3 digits) + birth date
YYYYMMDD + sequence (3 digits, odd for male, even for female) + check character (ISO 7064 MOD 11-2,
`0`-`9` or `X`, as in the citizen ID number).

The check character may be given as lower-case `x`; nothing else is normalised. In particular
surrounding whitespace is rejected, not stripped: callers that read numbers typed by people strip
them first, on purpose.

On the wire the first 17 digits travel as an unsigned integer (`body_to_int`); the verifier
rebuilds the number and recomputes the check character (`from_int`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul

from keys import countries

__all__ = [
    "BODY_LENGTH",
    "LENGTH",
    "InvalidNumberError",
    "PermitNumber",
    "body_to_int",
    "check_character",
    "compose",
    "from_int",
    "is_valid",
    "parse",
]

LENGTH = 18
BODY_LENGTH = 17
BODY_MAX = 10**BODY_LENGTH  # exclusive bound of the wire integer
PREFIX = "9"

_DIGITS = frozenset("0123456789")
_WEIGHTS = tuple(pow(2, BODY_LENGTH - i, 11) for i in range(BODY_LENGTH))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_ASCII_ZERO_SUM = ord("0") * sum(_WEIGHTS)  # lets the check sum run over ASCII codes directly
_CHECK = "10X98765432"  # indexed by (weighted sum mod 11): (12 - s) mod 11, 10 written X


class InvalidNumberError(ValueError):
    """Not a valid permit number. `code` says which rule failed.

    Codes: LENGTH, CHARACTERS, PREFIX, PROVINCE, NATIONALITY, BIRTH_DATE, SEQUENCE, CHECK.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class PermitNumber:
    province: str  # GB/T 2260 province-level code, 2 digits
    nationality_numeric: int  # ISO 3166-1 numeric
    nationality_alpha3: str  # ISO 3166-1 alpha-3
    birth_date: date
    sequence: int  # 1..999
    sex: str  # "M" (odd sequence) or "F" (even sequence)
    check: str  # "0"-"9" or "X"

    @property
    def number(self) -> str:
        """The full 18-character number (check character upper case)."""
        return (
            f"{PREFIX}{self.province}{self.nationality_numeric:03d}{_date_digits(self.birth_date)}"
            f"{self.sequence:03d}{self.check}"
        )

    def __str__(self) -> str:
        return self.number


def _is_digits(text: str) -> bool:
    # Not str.isdigit(): that also accepts "١", "９", "²" and friends.
    return all(c in _DIGITS for c in text)


def _date_digits(d: date) -> str:
    # Not strftime("%Y"): it does not zero-pad years before 1000 on every platform.
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def check_character(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") of the first 17 digits."""
    if not isinstance(body17, str) or len(body17) != BODY_LENGTH:
        raise InvalidNumberError(f"the check character is computed over exactly {BODY_LENGTH} digits", "LENGTH")
    if not _is_digits(body17):
        raise InvalidNumberError("the check character is computed over digits 0-9 only", "CHARACTERS")
    return _CHECK[sum(w * (ord(c) - 48) for w, c in zip(_WEIGHTS, body17, strict=True)) % 11]


def compose(province: str, nationality_numeric: int, birth: date, sequence: int) -> str:
    """The full 18-character number from its parts; raises InvalidNumberError for impossible parts."""
    if not countries.is_province(province):
        raise InvalidNumberError(f"{province!r} is not a GB/T 2260 province-level code", "PROVINCE")
    try:
        countries.numeric_to_alpha3(nationality_numeric)
    except countries.UnknownCodeError as exc:
        raise InvalidNumberError(str(exc), "NATIONALITY") from None
    if not isinstance(birth, date):
        raise InvalidNumberError(f"birth date must be a datetime.date, not {type(birth).__name__}", "BIRTH_DATE")
    if type(sequence) is not int or not 1 <= sequence <= 999:
        raise InvalidNumberError(f"sequence {sequence!r} must be an integer from 1 to 999", "SEQUENCE")
    body = f"{PREFIX}{province}{nationality_numeric:03d}{_date_digits(birth)}{sequence:03d}"
    return body + check_character(body)


def parse(number: str) -> PermitNumber:
    """Validate a number completely and return its parts; raises InvalidNumberError saying why."""
    if not isinstance(number, str):
        raise InvalidNumberError(f"a permit number is a string, not {type(number).__name__}", "CHARACTERS")
    if number != number.strip():
        raise InvalidNumberError("leading or trailing whitespace is rejected, not stripped", "CHARACTERS")
    if len(number) != LENGTH:
        raise InvalidNumberError(f"a permit number has {LENGTH} characters, not {len(number)}", "LENGTH")
    body, check = number[:BODY_LENGTH], number[BODY_LENGTH]
    for position, c in enumerate(body, start=1):
        if c not in _DIGITS:
            raise InvalidNumberError(
                f"character {position} is {c!r}; the first {BODY_LENGTH} characters must be digits 0-9", "CHARACTERS"
            )
    if check == "x":
        check = "X"
    if check not in _DIGITS and check != "X":
        raise InvalidNumberError(f"check character (18) is {check!r}; it must be a digit 0-9 or X", "CHARACTERS")
    if body[0] != PREFIX:
        raise InvalidNumberError(f"a permit number starts with {PREFIX}, this one with {body[0]}", "PREFIX")
    province = body[1:3]
    if not countries.is_province(province):
        raise InvalidNumberError(f"{province} (characters 2-3) is not a GB/T 2260 province-level code", "PROVINCE")
    nationality = int(body[3:6])
    try:
        alpha3 = countries.numeric_to_alpha3(nationality)
    except countries.UnknownCodeError:
        raise InvalidNumberError(
            f"{body[3:6]} (characters 4-6) is not an ISO 3166-1 numeric country code", "NATIONALITY"
        ) from None
    try:
        birth = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidNumberError(
            f"{body[6:14]} (characters 7-14) is not a calendar date YYYYMMDD", "BIRTH_DATE"
        ) from None
    sequence = int(body[14:17])
    if sequence == 0:
        raise InvalidNumberError("sequence 000 (characters 15-17) is not allowed; sequences start at 001", "SEQUENCE")
    expected = check_character(body)
    if check != expected:
        raise InvalidNumberError(f"wrong check character {check}: the first 17 digits give {expected}", "CHECK")
    return PermitNumber(
        province=province,
        nationality_numeric=nationality,
        nationality_alpha3=alpha3,
        birth_date=birth,
        sequence=sequence,
        sex="M" if sequence % 2 else "F",
        check=check,
    )


def is_valid(number: str) -> bool:
    """Yes/no: is this a well-formed permit number? (Says nothing about whether it was issued.)"""
    try:
        parse(number)
    except InvalidNumberError:
        return False
    return True


def body_to_int(number: str) -> int:
    """The wire form: the first 17 digits as an integer. The number is validated first."""
    parse(number)
    return int(number[:BODY_LENGTH])


def from_int(body: int) -> str:
    """The full 18-character number from its wire form, check character recomputed.

    The integer is zero-padded to 17 digits; negative integers and integers of more than 17 digits are
    rejected. This is the verifier's hot path: it does not re-validate the parts (province, date), which
    the issuer validated before signing; `parse` does that for numbers typed in by a person.
    """
    if type(body) is not int:
        raise InvalidNumberError(f"the wire form is an unsigned integer, not {type(body).__name__}", "CHARACTERS")
    if body < 0:
        raise InvalidNumberError(f"the wire form is an unsigned integer, not {body}", "CHARACTERS")
    if body >= BODY_MAX:
        # No str(body) here: a hostile bignum would exceed the int-to-str digit limit.
        raise InvalidNumberError(f"the wire form has at most {BODY_LENGTH} digits; this integer has more", "LENGTH")
    text = f"{body:0{BODY_LENGTH}d}"
    return text + _CHECK[(sum(map(mul, _WEIGHTS, text.encode())) - _ASCII_ZERO_SUM) % 11]
