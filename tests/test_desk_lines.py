"""The command line's verdict lines (verifier.desk.human), word for word: a batch renders one per input line
from pieces looked up once, and the text must stay what the catalog says, in both languages."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import make_permit

from keys.errors import FormatError, PermitError, Reason
from verifier import desk
from verifier.check import MESSAGES, Result, Verdict, failure

VALID = Result(Verdict.VALID, Reason.VALID, MESSAGES[Reason.VALID], "", make_permit())
REVOKED = failure(PermitError("status list says REVOKED", Reason.REVOKED), make_permit())


def test_valid_line_names_the_holder_in_each_language() -> None:
    assert desk.human(VALID, "en") == (
        "VALID (VALID): The permit is genuine and in force.\n"
        "  911840199001010018 card 1: SMITH, JOHN PAUL (USA, M, born 1990-01-01); valid 2026-01-15 to 2036-01-14")
    assert desk.human(VALID, "zh-CN") == (
        "有效（VALID）：证件真实有效。\n"
        "  911840199001010018 第 1 张卡：SMITH, JOHN PAUL（USA，男，出生日期 1990-01-01）; "
        "有效期 2026-01-15 至 2036-01-14")


def test_misread_asks_for_a_rescan_after_its_detail() -> None:
    misread = failure(FormatError("payload does not start with PR1:"))
    assert desk.human(misread, "en") == ("INVALID (MALFORMED): This is not a readable permit code. "
                                         "[payload does not start with PR1:]\n  Cannot read the code: scan again.")


def test_revoked_line_shows_no_holder_data() -> None:
    assert desk.human(REVOKED, "en") == ("INVALID (REVOKED): The permit has been revoked or ended. "
                                         "[status list says REVOKED]")
    assert desk.human(REVOKED, "zh-CN") == "无效（REVOKED）：证件已被注销或终止。 [status list says REVOKED]"


def test_holder_text_with_braces_and_percent_signs_is_printed_as_given() -> None:
    """Holder fields are filled into a %-template: a name holding %s, %(sex)s or {surname} stays literal."""
    odd = dataclasses.replace(VALID, permit=make_permit(surname="%(sex)s {surname} 100%", given_names="%s"))
    assert "card 1: %(sex)s {surname} 100%, %s (USA, M," in desk.human(odd, "en")


def test_a_permit_valid_for_other_days_gets_its_own_dates() -> None:
    """The validity text is kept per validity window: a second permit never borrows the first one's dates."""
    first = desk.human(VALID, "en")
    other = dataclasses.replace(VALID, permit=make_permit(valid_from=VALID.permit.valid_from + 86_400,
                                                          valid_until=VALID.permit.valid_until - 86_400))
    assert first.endswith("valid 2026-01-15 to 2036-01-14")
    assert desk.human(other, "en").endswith("valid 2026-01-16 to 2036-01-13")
    assert desk.human(VALID, "zh-CN").endswith("有效期 2026-01-15 至 2036-01-14")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_its_words_and_rescan_follows_the_action(reason: Reason, locale: str) -> None:
    for verdict in Verdict:
        result = Result(verdict, reason, "plain words", "a detail", None)
        text = desk.human(result, locale)
        assert f"{reason.value}" in text and "[a detail]" in text
        assert (desk.action_for(result) == "rescan") == ("\n  " in text)

