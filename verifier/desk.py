"""What a window desk is shown for a result: the words in the clerk's language, what to do next (`action`),
and nothing of the holder beyond what acting on the result needs.

- `action` is `compare` (valid: compare the data with the photo and the person), `rescan` (MALFORMED: the
  scan or the typed text is not a readable permit; a misread is not a forgery), `refuse` (any other
  invalid result), `update` (a newer format than this verifier knows) or `sync` (the verifier's data is
  missing or stale). `verdict` and `reason` keep their values: they are the interface.
- An invalid or undecided result carries no holder data: a revoked permit's dates or names do not help
  the clerk refuse it, and a "valid until" beside NOT VALID misleads.
- Scanner text is normalised before decoding (`normalise_scan`): a handheld scanner that types with Caps
  Lock on sends lower case, an IME may send full-width characters, and scanners add CR/LF or tabs.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from keys.errors import Reason
from keys.times import iso
from verifier import i18n
from verifier.check import Result, Verdict

ACTIONS = ("compare", "rescan", "refuse", "update", "sync")
_SYNC = frozenset({Reason.UNKNOWN_KEY, Reason.NO_TRUST_LIST, Reason.TRUST_LIST_STALE, Reason.STATUS_STALE,
                   Reason.STATUS_UNKNOWN})


def action_for(result: Result) -> str:
    return action_of(result.verdict, result.reason)


def action_of(verdict: Verdict, reason: Reason) -> str:
    """What the clerk does next for a verdict and its reason (one of ACTIONS)."""
    if verdict is Verdict.VALID:
        return "compare"
    if reason is Reason.MALFORMED:
        return "rescan"
    if reason is Reason.UNSUPPORTED_VERSION:
        return "update"
    if reason in _SYNC:
        return "sync"
    return "refuse"


_ASCII_CONTROLS = dict.fromkeys([*range(32), 127])


def normalise_scan(text: str) -> str:
    """Scanner or typed text as the encoder wrote it: full-width forms folded (NFKC), control characters
    (CR, LF, tab) removed, outer spaces stripped, letters upper-cased (base45 has no lower case, so this
    undoes Caps Lock and never changes a genuine payload). Inner spaces are kept: space is a base45 digit."""
    if not isinstance(text, str):
        return text
    if text.isascii():  # what scanners send: NFKC changes no ASCII, and the controls are C0 and DEL
        clean = text if text.isprintable() else text.translate(_ASCII_CONTROLS)  # most scans have none
        return clean.strip().upper()
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(c for c in folded if unicodedata.category(c)[0] != "C")
    return kept.strip().upper()


def message(result: Result, locale: str) -> str:
    return reason_message(result.reason, locale)


def reason_message(reason: Reason, locale: str) -> str:
    return i18n.text(f"reason.{reason.value}", locale)


def result_json(result: Result, locale: str, fields: frozenset[str] | None = None,
                checked_at: float | None = None, withhold_invalid: bool = True) -> dict[str, Any]:
    """The result as the API and `verifier check --json` give it: `message` in `locale`, `action`,
    `checked_at` (UTC), and the permit's fields (limited to `fields`), withheld unless the permit is valid
    (the command line's `--json`, a conformance interface, passes withhold_invalid=False)."""
    body = result.to_json(fields, disclose=result.verdict is Verdict.VALID or not withhold_invalid)
    body["message"] = message(result, locale)
    body["action"] = action_for(result)
    if checked_at is not None:
        body["checked_at"] = _iso_second(checked_at)
    return body


@lru_cache(maxsize=1)
def _iso_second(at: float) -> str:
    """iso(at), remembered for the last second asked: a server answers many checks in the same second."""
    return iso(at)


def human(result: Result, locale: str) -> str:
    """The command line's verdict line(s) in `locale` (the technical detail, in English, in brackets).
    A batch renders one per input line, so what depends only on the verdict, the reason and the locale, or
    on the permit's validity window, is looked up once (`_verdict_words`, `_validity`)."""
    line, rescan = _verdict_words(result.verdict, result.reason, locale)
    detail = result.detail
    if detail and detail != result.message:
        line += f" [{detail}]"
    line += rescan
    p = result.permit
    if p is not None and result.verdict is Verdict.VALID:
        sex = i18n.text(f"sex.{p.sex}", locale) if locale != "en" else p.sex
        holder = i18n.text("cli.holder", locale, number=p.number, card=p.card, surname=p.surname,
                           given_names=p.given_names, nationality=p.nationality, sex=sex,
                           birth_date=p.birth_date.isoformat())
        line += "\n  " + holder + "; " + _validity(p.issue_date, p.expiry_date, locale)
    return line


@lru_cache(maxsize=256)
def _verdict_words(verdict: Verdict, reason: Reason, locale: str) -> tuple[str, str]:
    """(the line "VERDICT (REASON): message" in `locale`, the rescan hint on a line of its own or "")."""
    words = i18n.text(f"cli.verdict.{verdict.value}", locale)
    line = i18n.text("cli.line", locale, verdict=words, reason=reason.value, message=reason_message(reason, locale))
    rescan = action_of(verdict, reason) == "rescan"
    return line, ("\n  " + i18n.text("cli.rescan", locale)) if rescan else ""


@lru_cache(maxsize=4096)
def _validity(issue_date: date, expiry_date: date, locale: str) -> str:
    """"valid <issue date> to <expiry date>" in `locale` (a batch of cards issued on the same days: once each)."""
    return i18n.text("cli.validity", locale, issue_date=issue_date.isoformat(), expiry_date=expiry_date.isoformat())
