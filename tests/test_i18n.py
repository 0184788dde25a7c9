"""The message catalog: every message in both locales, every message id the code and the page use in the
catalog, no user-facing literal in the page, and the language chosen from --lang, the locale, and
Accept-Language."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from keys.errors import Reason
from verifier import i18n
from verifier.check import MESSAGES
from verifier.cli import cli

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "verifier" / "server" / "static"
EN, ZH = i18n.catalog("en"), i18n.catalog("zh-CN")
# Language names are written in their own language on the switch: the same in both catalogs.
SAME_IN_BOTH = {"lang.zh-CN", "lang.en"}
_ID = re.compile(r"""["']((?:reason|action|verdict|cli|field|sex|category|authority|card|page|problem|lang)"""
                 r"""\.[A-Za-z0-9_.-]+)["']""")
_PREFIX = re.compile(r"""["'`]((?:reason|action|verdict|cli|field|sex|category|page|problem)\.)["'`]?\s*\+""")


def test_every_message_is_in_both_locales_with_the_same_placeholders() -> None:
    assert set(EN) == set(ZH), f"only in en: {set(EN) - set(ZH)}; only in zh-CN: {set(ZH) - set(EN)}"
    for key in EN:
        assert EN[key].strip() and ZH[key].strip(), key
        assert i18n.placeholders(EN[key]) == i18n.placeholders(ZH[key]), key


def test_untranslated_english_in_the_chinese_catalog_fails() -> None:
    for key in EN:
        if key not in SAME_IN_BOTH:
            assert ZH[key] != EN[key], f"{key} is not translated"


def test_every_reason_code_has_a_message_in_both_locales() -> None:
    for reason in Reason:
        assert f"reason.{reason.value}" in EN and f"reason.{reason.value}" in ZH
        assert MESSAGES[reason] == EN[f"reason.{reason.value}"]  # the library's English comes from the catalog


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("verifier").rglob("*.py"), *ROOT.joinpath("registry").rglob("*.py")]
    return [*files, STATIC / "clerk.js", STATIC / "clerk.html"]


def test_every_message_id_used_in_code_is_in_the_catalog() -> None:
    used = {(path.name, m) for path in _sources() for m in _ID.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 30
    missing = sorted((name, key) for name, key in used if key not in EN)
    assert not missing, missing
    # ids built from a prefix at run time (reason., verdict., ...) exist for every value they are built from
    for prefix, values in [("reason.", [r.value for r in Reason]), ("verdict.", ["valid", "invalid", "indeterminate",
                           "rescan"]), ("action.", ["compare", "rescan", "refuse", "update", "sync"]),
                           ("cli.verdict.", ["valid", "invalid", "indeterminate"]), ("sex.", ["M", "F"]),
                           ("category.", ["talent", "investment", "employment", "family", "contribution", "other"])]:
        for value in values:
            assert prefix + value in EN, prefix + value


def test_every_field_label_the_page_shows_is_in_the_catalog() -> None:
    js = (STATIC / "clerk.js").read_text(encoding="utf-8")
    fields = re.search(r"const FIELDS = \[(.*?)\];", js, re.S).group(1)
    for name in re.findall(r'"([a-z_]+)"', fields):
        assert f"field.{name}" in EN, name


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.literals: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "alt", "value") and value and re.search(r"[^\W\d_]",
                                                                                                     value):
                self.literals.append(f"<{tag} {name}={value!r}>")
        if tag not in ("meta", "link", "input", "br", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1] in ("script", "style")):
            self.literals.append(data.strip())


def test_clerk_page_html_has_no_user_facing_literal() -> None:
    parser = _Text()
    parser.feed((STATIC / "clerk.html").read_text(encoding="utf-8"))
    assert parser.literals == []


def test_clerk_page_script_has_no_user_facing_literal() -> None:
    js = (STATIC / "clerk.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", js).replace('"use strict";', "")  # comments are for developers
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|`((?:[^`\\]|\\.)*)`', code)
    assert len(literals) > 20
    words = ["".join(parts) for parts in literals
             if re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}|[\u4e00-\u9fff]", "".join(parts))]
    assert words == []


def test_matching_language_tags_and_locales() -> None:
    assert [i18n.match(t) for t in ("zh", "zh-CN", "zh_CN.UTF-8", "zh-Hans-CN", "zh-SG", "en-GB", "en_US.utf8")] == [
        "zh-CN", "zh-CN", "zh-CN", "zh-CN", "zh-CN", "en", "en"]
    assert [i18n.match(t) for t in ("zh-TW", "zh-Hant", "zh-HK", "fr-FR", "", None)] == [None] * 6


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "en"), ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "POSIX"}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "zh-CN"), ({"LANG": "de_DE.UTF-8", "LANGUAGE": "fr:en"}, "en"),
])
def test_command_line_language_follows_the_locale(env: dict, expected: str) -> None:
    assert i18n.from_environment(env) == expected


@pytest.mark.parametrize(("header", "expected"), [
    (None, "zh-CN"), ("", "zh-CN"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("fr, en;q=0.5, zh;q=0.7", "zh-CN"), ("en;q=0, zh-TW", "zh-CN"), ("de", "zh-CN"), ("en;q=bogus, zh;q=0.1", "zh-CN"),
    ("*", "zh-CN"),
])
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.from_accept_language(header) == expected


def test_unknown_message_id_is_an_error_not_a_silent_english_fallback() -> None:
    with pytest.raises(i18n.CatalogError):
        i18n.text("reason.NOT_A_CODE", "zh-CN")
    with pytest.raises(i18n.CatalogError):
        i18n.catalog("fr")


def test_verifier_check_lang_gives_each_language(tmp_path: Path) -> None:
    runner = CliRunner()
    zh = runner.invoke(cli, ["--cache", str(tmp_path), "check", "PR1:NOT-A-PERMIT", "--lang", "zh-CN"])
    en = runner.invoke(cli, ["--cache", str(tmp_path), "check", "PR1:NOT-A-PERMIT", "--lang", "en"])
    assert zh.output.startswith("无效（MALFORMED）：无法读取证件二维码。") and "请重新扫描" in zh.output
    assert en.output.startswith("INVALID (MALFORMED): This is not a readable permit code.")
    assert zh.exit_code == en.exit_code == 1  # the language never changes the exit code
    by_locale = runner.invoke(cli, ["--cache", str(tmp_path), "check", "PR1:NOT-A-PERMIT", "--json"],
                              env={"LC_ALL": "zh_CN.UTF-8"})
    out = json.loads(by_locale.output)
    assert (out["reason"], out["message"], out["action"]) == ("MALFORMED", ZH["reason.MALFORMED"], "rescan")
    refused = runner.invoke(cli, ["--cache", str(tmp_path), "check", "x", "--lang", "fr"])
    assert refused.exit_code == 2 and "fr" in refused.output
