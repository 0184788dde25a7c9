"""ISO 3166-1 country table and GB/T 2260 province-level codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import countries
from keys.countries import UnknownCodeError

PROVINCES = {
    "11": "Beijing",
    "12": "Tianjin",
    "13": "Hebei",
    "14": "Shanxi",
    "15": "Inner Mongolia",
    "21": "Liaoning",
    "22": "Jilin",
    "23": "Heilongjiang",
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
    "35": "Fujian",
    "36": "Jiangxi",
    "37": "Shandong",
    "41": "Henan",
    "42": "Hubei",
    "43": "Hunan",
    "44": "Guangdong",
    "45": "Guangxi",
    "46": "Hainan",
    "50": "Chongqing",
    "51": "Sichuan",
    "52": "Guizhou",
    "53": "Yunnan",
    "54": "Tibet",
    "61": "Shaanxi",
    "62": "Gansu",
    "63": "Qinghai",
    "64": "Ningxia",
    "65": "Xinjiang",
}


def test_table_size() -> None:
    assert len(countries.ALPHA3_TO_NUMERIC) == 249
    assert len(set(countries.ALPHA3_TO_NUMERIC.values())) == 249


@pytest.mark.parametrize(
    ("alpha3", "numeric", "name"),
    [
        ("CHN", 156, "China"),
        ("USA", 840, "United States"),
        ("DEU", 276, "Germany"),
        ("GBR", 826, "United Kingdom"),
        ("FRA", 250, "France"),
        ("JPN", 392, "Japan"),
        ("KOR", 410, "Korea, Republic of"),
        ("RUS", 643, "Russian Federation"),
        ("AFG", 4, "Afghanistan"),
        ("ALB", 8, "Albania"),
        ("ATA", 10, "Antarctica"),
        ("TWN", 158, "Taiwan, Province of China"),
        ("HKG", 344, "Hong Kong"),
        ("MAC", 446, "Macao"),
        ("SSD", 728, "South Sudan"),
        ("BES", 535, "Bonaire, Sint Eustatius and Saba"),
        ("ALA", 248, "Åland Islands"),
        ("CIV", 384, "Côte d'Ivoire"),
        ("ZWE", 716, "Zimbabwe"),
    ],
)
def test_known_countries(alpha3: str, numeric: int, name: str) -> None:
    assert countries.is_alpha3(alpha3)
    assert countries.alpha3_to_numeric(alpha3) == numeric
    assert countries.numeric_to_alpha3(numeric) == alpha3
    assert countries.country_name(alpha3) == name


def test_round_trip_all() -> None:
    for alpha3, numeric in countries.ALPHA3_TO_NUMERIC.items():
        assert len(alpha3) == 3 and alpha3.isascii() and alpha3.isupper()
        assert 0 < numeric < 1000
        assert countries.numeric_to_alpha3(numeric) == alpha3
        assert countries.country_name(alpha3)


@pytest.mark.parametrize("code", ["XXX", "chn", "Chn", "CN", "CHNA", "", " CHN", "ANT", "SCG", "YUG", "XKX", "EUE"])
def test_unknown_alpha3(code: str) -> None:
    assert not countries.is_alpha3(code)
    with pytest.raises(UnknownCodeError, match=repr(code)):
        countries.alpha3_to_numeric(code)
    with pytest.raises(UnknownCodeError, match="alpha-3"):
        countries.country_name(code)


@pytest.mark.parametrize("n", [0, 1, 999, -1, 1000, 530, 891])  # 530 Netherlands Antilles, 891 Serbia and Montenegro
def test_unknown_numeric(n: int) -> None:
    with pytest.raises(UnknownCodeError, match=f"{n:03d} is not an ISO 3166-1 numeric"):
        countries.numeric_to_alpha3(n)


@pytest.mark.parametrize("value", ["156", True, 156.0, None])
def test_numeric_requires_int(value: object) -> None:
    with pytest.raises(UnknownCodeError):
        countries.numeric_to_alpha3(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 156, ["CHN"]])
def test_alpha3_of_wrong_type(value: object) -> None:
    assert not countries.is_alpha3(value)  # type: ignore[arg-type]
    with pytest.raises(UnknownCodeError):
        countries.alpha3_to_numeric(value)  # type: ignore[arg-type]


def test_unknown_code_error_is_value_error() -> None:
    assert issubclass(UnknownCodeError, ValueError)
    assert not issubclass(UnknownCodeError, KeyError)


@given(st.integers().filter(lambda n: n not in set(countries.ALPHA3_TO_NUMERIC.values())))
def test_unassigned_numeric_always_raises(n: int) -> None:
    with pytest.raises(UnknownCodeError):
        countries.numeric_to_alpha3(n)


def test_provinces() -> None:
    assert dict(countries.PROVINCES) == PROVINCES
    for code, name in PROVINCES.items():
        assert countries.is_province(code)
        assert countries.province_name(code) == name


@pytest.mark.parametrize("code", ["10", "16", "71", "81", "82", "99", "00", "1", "011", "", 11, None])
def test_unknown_province(code: object) -> None:
    # 71 Taiwan, 81 Hong Kong, 82 Macao are GB/T 2260 codes too, but not among the 31 mainland ones listed here.
    assert not countries.is_province(code)  # type: ignore[arg-type]
    with pytest.raises(UnknownCodeError, match=f"{code!r} is not a GB/T 2260"):
        countries.province_name(code)  # type: ignore[arg-type]


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        countries.PROVINCES["99"] = "Nowhere"  # type: ignore[index]
    with pytest.raises(TypeError):
        countries.ALPHA3_TO_NUMERIC["XXX"] = 999  # type: ignore[index]


def test_chinese_country_names_come_from_pycountrys_catalog() -> None:
    pytest.importorskip("pycountry")
    assert [countries.country_name_zh(c) for c in ("DEU", "USA", "NGA", "GBR")] == ["德国", "美国", "尼日利亚", "英国"]
    named = [code for code in countries.ALPHA3_TO_NUMERIC if countries.country_name_zh(code)]
    assert len(named) > 240  # nearly every code has a Chinese name
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in countries.country_name_zh(code)) for code in named)
    with pytest.raises(UnknownCodeError):
        countries.country_name_zh("XXX")
