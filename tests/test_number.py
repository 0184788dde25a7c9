"""Permit numbers: ISO 7064 MOD 11-2 check character, parsing, wire form."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import countries, number
from keys.number import InvalidNumberError, PermitNumber


def mod11_2_recursive(digits: str) -> str:
    """ISO 7064 MOD 11-2, recursive (pure system) form: independent of the weight table in number.py."""
    p = 0
    for c in digits:
        p = (p + int(c)) * 2 % 11
    c = (1 - p) % 11  # the check value makes (p + c) mod 11 == 1
    return "X" if c == 10 else str(c)


# --- check character -------------------------------------------------------------------------------


def test_citizen_id_example() -> None:
    # The well-known example from GB 11643-1999: 11010519491231002X.
    assert number.check_character("11010519491231002") == "X"
    assert mod11_2_recursive("11010519491231002") == "X"


def test_worked_example() -> None:
    # 9 1 1 8 4 0 1 9 9 0 0 1 0 1 0 0 1 with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 63+9+10+40+32+0+2+9+54+0+0+9+0+5+0+0+2 = 235; 235 mod 11 = 4; (12 - 4) mod 11 = 8.
    assert number.check_character("91184019900101001") == "8"
    assert number.compose("11", 840, date(1990, 1, 1), 1) == "911840199001010018"


@pytest.mark.parametrize(
    "body",
    ["00000000000000000", "99999999999999999", "93127619850630002", "12345678901234567", "91561560229029999"],
)
def test_check_character_matches_recursive_form(body: str) -> None:
    assert number.check_character(body) == mod11_2_recursive(body)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_matches_recursive_form_property(body: str) -> None:
    assert number.check_character(body) == mod11_2_recursive(body)


def test_every_check_value_occurs() -> None:
    seen = {number.check_character(f"9110000000000{n:04d}") for n in range(200)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("1234567890123456", "LENGTH"),
        ("123456789012345678", "LENGTH"),
        ("1234567890123456a", "CHARACTERS"),
        ("1234567890123456９", "CHARACTERS"),
    ],
)
def test_check_character_rejects_bad_body(body: str, code: str) -> None:
    with pytest.raises(InvalidNumberError) as info:
        number.check_character(body)
    assert info.value.code == code


# --- compose / parse -------------------------------------------------------------------------------


def test_parse_returns_parts() -> None:
    p = number.parse("931276198506300021")
    assert p == PermitNumber(
        province="31",
        nationality_numeric=276,
        nationality_alpha3="DEU",
        birth_date=date(1985, 6, 30),
        sequence=2,
        sex="F",
        check="1",
    )
    assert p.number == str(p) == "931276198506300021"
    with pytest.raises(AttributeError):
        p.sequence = 3  # type: ignore[misc]


def test_sex_from_sequence_parity() -> None:
    assert number.parse(number.compose("44", 4, date(2000, 2, 29), 999)).sex == "M"
    assert number.parse(number.compose("44", 4, date(2000, 2, 29), 998)).sex == "F"


def test_nationality_with_leading_zeros() -> None:
    n = number.compose("11", 4, date(1970, 1, 1), 1)  # Afghanistan: 004
    assert n[3:6] == "004"
    assert number.parse(n).nationality_alpha3 == "AFG"


def _number_ending_in_x() -> str:
    return next(
        n for n in (number.compose("11", 156, date(1949, 12, 31), s) for s in range(1, 1000)) if n.endswith("X")
    )


def test_lowercase_x_accepted_as_check_character_only() -> None:
    n = _number_ending_in_x()
    p = number.parse(n.lower())
    assert p.check == "X"
    assert p.number == n
    assert number.is_valid(n.lower())


def test_year_before_1000_is_zero_padded() -> None:
    n = number.compose("11", 156, date(999, 1, 2), 1)
    assert n[6:14] == "09990102"
    assert number.parse(n).birth_date == date(999, 1, 2)


def _error(text: object) -> InvalidNumberError:
    with pytest.raises(InvalidNumberError) as info:
        number.parse(text)  # type: ignore[arg-type]
    assert not number.is_valid(text)  # type: ignore[arg-type]
    return info.value


VALID = "911840199001010018"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("", "LENGTH", "18 characters, not 0"),
        (VALID[:17], "LENGTH", "not 17"),
        (VALID + "0", "LENGTH", "not 19"),
        (" " + VALID, "CHARACTERS", "whitespace"),
        (VALID + "\n", "CHARACTERS", "whitespace"),
        ("9118401990010100 8", "CHARACTERS", "character 17 is ' '"),
        ("91184A199001010018", "CHARACTERS", "character 6 is 'A'"),
        ("9118401990010x0018", "CHARACTERS", "character 14 is 'x'"),
        ("9118401990010X0018", "CHARACTERS", "character 14 is 'X'"),
        ("91184019900101001Y", "CHARACTERS", "check character (18) is 'Y'"),
        ("٩11840199001010018", "CHARACTERS", "character 1"),  # Arabic-Indic nine
        ("９11840199001010018", "CHARACTERS", "character 1"),  # fullwidth nine
        ("811840199001010018", "PREFIX", "starts with 9, this one with 8"),
        ("110105194912310021", "PREFIX", "with 1"),
        ("9" + "99" + "840199001010011", "PROVINCE", "99 (characters 2-3)"),
        ("9" + "10" + "840199001010011", "PROVINCE", "10 (characters 2-3)"),
        ("911999199001010011", "NATIONALITY", "999 (characters 4-6)"),
        ("911000199001010011", "NATIONALITY", "000 (characters 4-6)"),
        ("911840199002300011", "BIRTH_DATE", "19900230 (characters 7-14)"),
        ("911840190002290011", "BIRTH_DATE", "19000229"),
        ("911840199013010011", "BIRTH_DATE", "19901301"),
        ("911840000001010011", "BIRTH_DATE", "00000101"),
        ("911840199001010000", "SEQUENCE", "000"),
        ("911840199001010017", "CHECK", "wrong check character 7: the first 17 digits give 8"),
        ("91184019900101001X", "CHECK", "give 8"),
    ],
)
def test_parse_errors(text: str, code: str, words: str) -> None:
    error = _error(text)
    assert error.code == code
    assert words in str(error)
    assert isinstance(error, ValueError)


def test_parse_rejects_non_string() -> None:
    assert _error(911840199001010018).code == "CHARACTERS"
    assert _error(None).code == "CHARACTERS"


def test_leap_day_accepted() -> None:
    assert number.parse(number.compose("65", 643, date(2000, 2, 29), 17)).birth_date == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("99", 840, date(1990, 1, 1), 1), "PROVINCE"),
        (("1", 840, date(1990, 1, 1), 1), "PROVINCE"),
        ((11, 840, date(1990, 1, 1), 1), "PROVINCE"),
        (("11", 999, date(1990, 1, 1), 1), "NATIONALITY"),
        (("11", "840", date(1990, 1, 1), 1), "NATIONALITY"),
        (("11", True, date(1990, 1, 1), 1), "NATIONALITY"),
        (("11", 840, "19900101", 1), "BIRTH_DATE"),
        (("11", 840, date(1990, 1, 1), 0), "SEQUENCE"),
        (("11", 840, date(1990, 1, 1), 1000), "SEQUENCE"),
        (("11", 840, date(1990, 1, 1), True), "SEQUENCE"),
    ],
)
def test_compose_rejects_impossible_parts(args: tuple[object, ...], code: str) -> None:
    with pytest.raises(InvalidNumberError) as info:
        number.compose(*args)  # type: ignore[arg-type]
    assert info.value.code == code


# --- wire form -------------------------------------------------------------------------------------


def test_wire_round_trip() -> None:
    assert number.body_to_int(VALID) == 91184019900101001
    assert number.from_int(91184019900101001) == VALID


def test_body_to_int_validates() -> None:
    with pytest.raises(InvalidNumberError) as info:
        number.body_to_int("911840199001010017")
    assert info.value.code == "CHECK"


def test_body_to_int_accepts_lowercase_x() -> None:
    n = _number_ending_in_x()
    assert number.from_int(number.body_to_int(n.lower())) == n


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (-1, "CHARACTERS"),
        (-91184019900101001, "CHARACTERS"),
        (10**17, "LENGTH"),
        (911840199001010018, "LENGTH"),
        (True, "CHARACTERS"),
        ("91184019900101001", "CHARACTERS"),
    ],
)
def test_from_int_rejects(value: object, code: str) -> None:
    with pytest.raises(InvalidNumberError) as info:
        number.from_int(value)  # type: ignore[arg-type]
    assert info.value.code == code


def test_from_int_rejects_huge_integer_cleanly() -> None:
    # Beyond Python's int-to-str digit limit: still an InvalidNumberError, not a bare ValueError.
    with pytest.raises(InvalidNumberError) as info:
        number.from_int(10**5000)
    assert info.value.code == "LENGTH"


def test_from_int_zero_pads_and_does_not_revalidate() -> None:
    """The wire decoder only restores the check character; `parse` judges the parts."""
    assert number.from_int(12345) == "00000000000012345" + number.check_character("00000000000012345")
    with pytest.raises(InvalidNumberError) as info:
        number.parse(number.from_int(12345))
    assert info.value.code == "PREFIX"


@given(st.integers(0, 10**17 - 1))
def test_from_int_check_character_matches_check_character(body: int) -> None:
    text = f"{body:017d}"
    assert number.from_int(body) == text + number.check_character(text)


# --- properties ------------------------------------------------------------------------------------

provinces = st.sampled_from(sorted(countries.PROVINCES))
nationalities = st.sampled_from(sorted(countries.ALPHA3_TO_NUMERIC.values()))
births = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
sequences = st.integers(min_value=1, max_value=999)
valid_numbers = st.builds(number.compose, provinces, nationalities, births, sequences)


@given(provinces, nationalities, births, sequences)
def test_compose_parse_round_trip(province: str, nationality: int, birth: date, sequence: int) -> None:
    n = number.compose(province, nationality, birth, sequence)
    assert len(n) == 18
    assert n[17] == mod11_2_recursive(n[:17])
    p = number.parse(n)
    assert (p.province, p.nationality_numeric, p.birth_date, p.sequence) == (province, nationality, birth, sequence)
    assert p.nationality_alpha3 == countries.numeric_to_alpha3(nationality)
    assert p.sex == ("M" if sequence % 2 else "F")
    assert p.number == n
    assert number.is_valid(n)
    assert number.from_int(number.body_to_int(n)) == n


@given(valid_numbers, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_detected(n: str, position: int, replacement: str) -> None:
    if replacement == n[position]:
        replacement = "0" if replacement != "0" else "1"
    changed = n[:position] + replacement + n[position + 1 :]
    assert not number.is_valid(changed)
    assert not number.is_valid(changed.lower())


@given(valid_numbers)
def test_every_single_digit_change_is_detected_exhaustively(n: str) -> None:
    for position in range(18):
        for replacement in "0123456789X" if position == 17 else "0123456789":
            if replacement != n[position]:
                changed = n[:position] + replacement + n[position + 1 :]
                assert not number.is_valid(changed), changed


@given(valid_numbers, st.integers(min_value=0, max_value=16))
def test_adjacent_transposition_is_detected(n: str, position: int) -> None:
    swapped = n[:position] + n[position + 1] + n[position] + n[position + 2 :]
    if swapped != n:
        assert not number.is_valid(swapped)
