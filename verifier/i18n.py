"""The message catalog (zh-CN and en) shared by the Python verifier and the clerk's page, and the choice of
language: `--lang` or the POSIX locale for the command line, Accept-Language for the API, the browser's
languages (with a switch) for the page.

The catalog is one JSON file per locale in verifier/messages/, keyed by message id; the page fetches the
same files. Placeholders are `{name}`, filled by `text()` here and by the page's `t()` in JavaScript.
Chinese comes first: where a caller states no language we understand, the desk's language is zh-CN;
only a terminal in the C/POSIX locale (which may not show Chinese) defaults to English.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

LOCALES = ("zh-CN", "en")
DEFAULT = "zh-CN"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class CatalogError(KeyError):
    """A message id that is not in the catalog (a programming error, caught by the catalog's tests)."""


@lru_cache(maxsize=len(LOCALES))
def catalog(locale: str) -> Mapping[str, str]:
    """Every message of `locale` (one of LOCALES), read-only."""
    if locale not in LOCALES:
        raise CatalogError(f"no message catalog for {locale!r}; the locales are {', '.join(LOCALES)}")
    raw = resources.files("verifier").joinpath("messages", f"{locale}.json").read_text(encoding="utf-8")
    return MappingProxyType(json.loads(raw))


@lru_cache(maxsize=4096)
def _parts(key: str, locale: str) -> tuple[tuple[str, str | None, str], ...]:
    """The template of `key` cut once into (text before, placeholder name or None, placeholder as written)."""
    try:
        template = catalog(locale)[key]
    except KeyError:
        raise CatalogError(f"message {key!r} is not in the {locale} catalog") from None
    parts, position = [], 0
    for found in _PLACEHOLDER.finditer(template):
        parts.append((template[position:found.start()], found.group(1), found.group(0)))
        position = found.end()
    parts.append((template[position:], None, ""))
    return tuple(parts)


def text(key: str, locale: str, **params: object) -> str:
    """The message `key` in `locale`, its `{name}` placeholders filled from `params` (a placeholder without a
    parameter is left as written). Templates are cut once and cached: a batch renders thousands of lines."""
    parts = _parts(key, locale)
    if len(parts) == 1:
        return parts[0][0]
    out: list[str] = []
    for before, name, written in parts:
        out.append(before)
        if name is not None:
            out.append(str(params[name]) if name in params else written)
    return "".join(out)


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def match(tag: str | None) -> str | None:
    """A language tag or POSIX locale name -> one of LOCALES, or None. zh, zh-CN, zh_CN.UTF-8, zh-Hans(-CN),
    zh-SG give zh-CN; en and any en-XX give en. Traditional-script Chinese (zh-TW, zh-HK, zh-Hant) is not
    matched to simplified Chinese."""
    if not tag:
        return None
    tag = tag.split(".")[0].split("@")[0].replace("_", "-").strip().lower()
    parts = tag.split("-")
    if parts[0] == "zh":
        rest = set(parts[1:])
        if rest & {"hant", "tw", "hk", "mo"} and "hans" not in rest:
            return None
        return "zh-CN"
    if parts[0] == "en":
        return "en"
    return None


def from_environment(env: Mapping[str, str]) -> str:
    """The command line's language from the POSIX locale variables (LC_ALL, then LC_MESSAGES, then LANG;
    LANGUAGE's list when the locale is not C). C, POSIX or nothing set: English. Anything else we have
    no catalog for: zh-CN."""
    locale = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    if locale.split(".")[0] in ("", "C", "POSIX"):
        return "en"
    for tag in [*env.get("LANGUAGE", "").split(":"), locale]:
        found = match(tag)
        if found:
            return found
    return DEFAULT


def from_accept_language(header: str | None) -> str:
    """The best of LOCALES for an HTTP Accept-Language header (RFC 9110 §12.5.4, q-values honoured);
    DEFAULT when the header is absent or names nothing we have."""
    choices: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        found = match(tag.strip())
        if found and q > 0:
            choices.append((-q, position, found))
    return min(choices)[2] if choices else DEFAULT
