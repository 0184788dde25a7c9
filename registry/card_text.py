"""The card's field values in Chinese beside the Latin ones, from maintained sources: country names from
pycountry's zh_CN translations of ISO 3166-1, categories, sex and the issuing authority's full name from the
verifier's message catalog (verifier/messages/), which the clerk's page shares."""

from __future__ import annotations

import logging

from keys import countries
from verifier import i18n

log = logging.getLogger(__name__)
_WARNED: set[str] = set()


def _both(key: str) -> tuple[str | None, str | None]:
    if key not in i18n.catalog("en"):
        return None, None
    return i18n.text(key, "zh-CN"), i18n.text(key, "en")


def nationality(code: str) -> tuple[str | None, str | None]:
    """(Chinese name, English name) of an alpha-3 code; None for what is not known."""
    if not countries.is_alpha3(code):
        return None, None
    zh = countries.country_name_zh(code)
    if zh is None and "pycountry" not in _WARNED:
        _WARNED.add("pycountry")
        log.warning("no Chinese country names (pip install pycountry): the card prints nationality in English")
    return zh, countries.country_name(code)


def category(name: str) -> tuple[str | None, str]:
    """(Chinese, ENGLISH) of a grant category; an unknown one as its code in capitals."""
    zh, en = _both(f"category.{name}")
    return zh, (en or name).upper()


def authority(code: str) -> tuple[str | None, str | None]:
    """(Chinese full name, English full name) of an issuing authority's code, e.g. NIA."""
    return _both(f"authority.{code}")


def sex(code: str) -> tuple[str | None, str]:
    zh, _ = _both(f"sex.{code}")
    return zh, code


def title() -> tuple[str, str]:
    return i18n.text("card.title", "zh-CN"), i18n.text("card.title", "en")


def void_mark() -> str:
    return f"{i18n.text('card.void', 'zh-CN')} {i18n.text('card.void', 'en')}"
