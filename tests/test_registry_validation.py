"""Application checks, validity periods and number allocation (no signing)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image

from keys import number
from keys.permit import day_start, local_date
from registry import validation
from registry.issuance import applicant_key, passport_key, validity
from registry.numbers import ExhaustedError, allocate_number
from registry.store import open_store, write_transaction
from registry.validation import ValidationError, validate_application

NOW = int(datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp())
GOOD = {"surname": "Müller", "given_names": "Anna-Lena", "sex": "F", "birth_date": "1990-02-03",
        "nationality": "DEU", "province": "11", "category": "talent", "passport_number": "C01X00T47",
        "passport_country": "DEU"}


def problems(raw: dict, **kw: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        validate_application(raw, NOW, **kw)  # type: ignore[arg-type]
    return dict(info.value.problems)


def test_good_application_is_normalised() -> None:
    app = validate_application({**GOOD, "surname": "  O'Neil  de  la  Cruz ", "nationality": "deu",
                                "sex": "f", "chinese_name": "穆勒・安娜", "category": "Talent"}, NOW)
    assert app.surname == "O'Neil de la Cruz"
    assert (app.sex, app.nationality, app.category) == ("F", "DEU", "talent")
    assert app.chinese_name == "穆勒·安娜"  # katakana middle dot -> U+00B7
    assert app.birth_date == date(1990, 2, 3)


def test_nfc_normalisation() -> None:
    decomposed = "Mu\u0308ller"
    assert validate_application({**GOOD, "surname": decomposed}, NOW).surname == "Müller"


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"surname": "Ivanov\u202e", "given_names": "Иван", "sex": "X", "birth_date": "1990-2-3",
                      "nationality": "CHN", "province": "99", "category": "tourist", "chinese_name": "abc",
                      "colour": "blue", "passport_number": "12 34", "passport_country": "XXX"})
    assert set(found) == {"surname", "given_names", "sex", "birth_date", "nationality", "province", "category",
                          "chinese_name", "colour", "passport_number", "passport_country"}
    assert "U+202E" in found["surname"]
    assert "Latin" in found["given_names"]


def test_missing_required_fields() -> None:
    assert set(problems({})) == set(validation.REQUIRED)


@pytest.mark.parametrize("name", ["\u200bAnna", "An\tna", "An\u0000na", "Anna\u2066", "安娜", "Ἄννα", "-Anna",
                                  "A" * 61])
def test_refused_surnames(name: str) -> None:
    assert "surname" in problems({**GOOD, "surname": name})


@pytest.mark.parametrize("name", ["·安娜", "安娜·", "安··娜", "安娜A", "安\u3000娜", "安\u200f娜"])
def test_refused_chinese_names(name: str) -> None:
    assert "chinese_name" in problems({**GOOD, "chinese_name": name})


def test_blank_chinese_name_is_none() -> None:
    assert validate_application({**GOOD, "chinese_name": "  "}, NOW).chinese_name is None


def test_birth_date_limits() -> None:
    assert problems({**GOOD, "birth_date": "2026-11-24"})["birth_date"] == "is in the future"
    assert "before" in problems({**GOOD, "birth_date": "1899-12-31"})["birth_date"]
    assert "birth_date" in problems({**GOOD, "birth_date": "1990-02-30"})


def _image(path: Path, fmt: str, size: tuple[int, int] = (40, 50)) -> Path:
    Image.new("RGB", size, (200, 180, 160)).save(path, format=fmt)
    return path


def test_photo_jpeg_and_png_accepted(tmp_path: Path) -> None:
    jpeg = _image(tmp_path / "a.jpg", "JPEG")
    app = validate_application({**GOOD, "photo": "a.jpg"}, NOW, base_dir=tmp_path)
    assert app.photo == jpeg.read_bytes() and app.photo_type == "jpeg"
    _image(tmp_path / "b.png", "PNG")
    assert validate_application({**GOOD, "photo": str(tmp_path / "b.png")}, NOW).photo_type == "png"


def test_photo_refused(tmp_path: Path) -> None:
    _image(tmp_path / "c.gif", "GIF")
    assert "not a JPEG or PNG" in problems({**GOOD, "photo": str(tmp_path / "c.gif")})["photo"]
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"\0" * validation.MAX_PHOTO_BYTES)
    assert "bytes" in problems({**GOOD, "photo": str(big)})["photo"]
    truncated = tmp_path / "t.jpg"
    truncated.write_bytes(_image(tmp_path / "full.jpg", "JPEG", (300, 300)).read_bytes()[:200])
    assert "photo" in problems({**GOOD, "photo": str(truncated)})
    assert "cannot be read" in problems({**GOOD, "photo": str(tmp_path / "missing.jpg")})["photo"]


def test_validity_ten_years_adult_five_years_minor() -> None:
    start, end = validity(date(1990, 2, 3), NOW)
    issued = local_date(NOW)
    assert start == day_start(issued)
    assert end == day_start(issued.replace(year=issued.year + 10))
    # 17 years and 364 days old on the issue date: 5 years.
    minor_birth = issued.replace(year=issued.year - 18).toordinal() + 1
    _, end_minor = validity(date.fromordinal(minor_birth), NOW)
    assert end_minor == day_start(issued.replace(year=issued.year + 5))
    _, end_adult = validity(issued.replace(year=issued.year - 18), NOW)
    assert end_adult == day_start(issued.replace(year=issued.year + 10))


def test_validity_from_29_february() -> None:
    leap_noon = int(datetime(2028, 2, 29, 4, 0, tzinfo=UTC).timestamp())  # 12:00 in the issuer's zone
    assert validity(date(1990, 1, 1), leap_noon)[1] == day_start(date(2038, 3, 1))


def test_passport_is_normalised_and_the_only_person_key() -> None:
    """Two people with the same name, birth date, nationality and sex are two people: only a reference is an
    application key, and who the applicant is is the passport (upper-case, without spaces or hyphens)."""
    a = validate_application({**GOOD, "passport_number": "c01x-00 t47", "passport_country": "deu"}, NOW)
    assert (a.passport_country, a.passport_number) == ("DEU", "C01X00T47")
    twin = validate_application({**GOOD, "passport_number": "C99X00T47"}, NOW)
    assert applicant_key(a) is None and applicant_key(twin) is None
    assert passport_key(a.passport_country, a.passport_number) != passport_key(twin.passport_country,
                                                                                 twin.passport_number)
    assert applicant_key(validate_application({**GOOD, "ref": "A-1"}, NOW)) == "ref:A-1"
    assert set(problems({**GOOD, "passport_number": "AB1"})) == {"passport_number"}  # too short


def test_number_allocation_parity_and_exhaustion(tmp_path: Path) -> None:
    db = open_store(tmp_path / "r.db")
    birth = date(1985, 6, 7)

    def take(sex: str) -> str:
        with write_transaction(db):
            n = allocate_number(db, "31", "FRA", birth, sex)
            db.execute("INSERT INTO permits (number, surname, given_names, sex, birth_date, nationality, province,"
                       " category, state, created_at) VALUES (?, 'A', 'B', ?, '1985-06-07', 'FRA', '31', 'other',"
                       " 'active', 0)", (n, sex))
        return n

    males = [take("M") for _ in range(3)]
    assert [number.parse(n).sequence for n in males] == [1, 3, 5]
    assert all(number.parse(n).sex == "M" for n in males)
    females = [take("F") for _ in range(499)]
    assert {number.parse(n).sex for n in females} == {"F"}
    assert len(set(females)) == 499
    with pytest.raises(ExhaustedError, match="every female sequence number"):
        take("F")
    assert number.parse(take("M")).sequence == 7  # males are unaffected
