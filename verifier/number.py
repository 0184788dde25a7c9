"""Permanent-residence permit numbers (2023 card): 18 characters.

`9` + province (GB/T 2260, 2 digits) + nationality (ISO 3166-1 numeric, 3 digits) + birth date
YYYYMMDD + sequence (3 digits, odd for male, even for female) + check character (ISO 7064 MOD 11-2,
`0`-`9` or `X`, as in the citizen ID number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"  # index: sum mod 11
LENGTH = 18
BODY_MAX = 10**17


class InvalidNumberError(ValueError):
    """Not a valid permit number. `code` says which rule failed."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class PermitNumber:
    province: str
    nationality_numeric: int
    birth_date: date
    sequence: int
    sex: str
    check: str


def check_character(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(w * (ord(c) - 48) for w, c in zip(_WEIGHTS, body17, strict=True)) % 11]


def compose(province: str, nationality_numeric: int, birth: date, sequence: int) -> str:
    if not (len(province) == 2 and province.isdigit()):
        raise InvalidNumberError(f"province code {province!r} must be 2 digits", "PROVINCE")
    if not 0 < nationality_numeric < 1000:
        raise InvalidNumberError(f"nationality code {nationality_numeric} must be 1 to 999", "NATIONALITY")
    if not 0 < sequence < 1000:
        raise InvalidNumberError(f"sequence {sequence} must be 1 to 999", "SEQUENCE")
    body = f"9{province}{nationality_numeric:03d}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def body_to_int(number: str) -> int:
    """The wire form: the first 17 digits as an integer (the check character is recomputed)."""
    parse(number)
    return int(number[:17])


def from_int(body: int) -> str:
    """The full 18-character number from its wire form."""
    if not 0 <= body < BODY_MAX:
        raise InvalidNumberError(f"{body} is not a 17-digit number body", "LENGTH")
    text = f"{body:017d}"
    return text + check_character(text)


def parse(number: str) -> PermitNumber:
    """Validate a number completely and return its parts; raises InvalidNumberError saying why."""
    from verifier import countries

    if not isinstance(number, str) or len(number) != LENGTH:
        raise InvalidNumberError(f"a permit number has {LENGTH} characters", "LENGTH")
    body, check = number[:17], number[17].upper()
    if not (body.isascii() and body.isdigit() and (check.isdigit() or check == "X")):
        raise InvalidNumberError("a permit number is 17 digits and a digit or X", "CHARACTERS")
    if body[0] != "9":
        raise InvalidNumberError("a permit number starts with 9", "PREFIX")
    if not countries.is_province(body[1:3]):
        raise InvalidNumberError(f"{body[1:3]} is not a province code", "PROVINCE")
    nationality = int(body[3:6])
    try:
        countries.numeric_to_alpha3(nationality)
    except ValueError:
        raise InvalidNumberError(f"{body[3:6]} is not an ISO 3166-1 country code", "NATIONALITY") from None
    try:
        birth = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidNumberError(f"{body[6:14]} is not a date", "BIRTH_DATE") from None
    sequence = int(body[14:17])
    if sequence == 0:
        raise InvalidNumberError("sequence 000 is not allowed", "SEQUENCE")
    expected = check_character(body)
    if check != expected:
        raise InvalidNumberError(f"check character is {check}, expected {expected}", "CHECK")
    return PermitNumber(body[1:3], nationality, birth, sequence, "M" if sequence % 2 else "F", check)


def is_valid(number: str) -> bool:
    try:
        parse(number)
    except InvalidNumberError:
        return False
    return True
