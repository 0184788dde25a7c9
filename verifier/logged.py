"""`verifier check --require-logged`: an off-record permit is refused.

A permit passes only if its card (the SHA-256 of the exact COSE bytes of its QR) is in the office's
transparency log as this verifier holds it (verifier/logsync.py). A card signed after the newest act the
held log reaches, less one publishing interval, cannot be judged yet and keeps its verdict; once the log
covers its signing time plus the interval, a card the log does not have is NOT_LOGGED (invalid): it was
signed with the office's key but never recorded.
"""

from __future__ import annotations

import hashlib

from keys import base45
from keys.errors import LogError, Reason
from keys.permit import PREFIX
from verifier.check import Result, Verdict, failure
from verifier.logsync import LoggedCards

DEFAULT_INTERVAL = 3600  # seconds between publishes the office promises (its status lists' ttl)


def card_sha256(text: str) -> bytes:
    """SHA-256 of the COSE bytes a scanned payload carries (the text has already been checked)."""
    return hashlib.sha256(base45.decode(text.strip()[len(PREFIX):])).digest()


def require_logged(result: Result, text: str, logged: LoggedCards | None, interval: int = DEFAULT_INTERVAL) -> Result:
    """The result, or NOT_LOGGED when the held log covers the card's signing time and lacks the card."""
    if result.verdict is not Verdict.VALID or result.permit is None:
        return result
    covered_until = logged.covered_until if logged is not None else 0
    if covered_until < result.permit.signed_at + interval:
        return result
    if logged is not None and card_sha256(text) in logged.cards:
        return Result(result.verdict, result.reason, result.message, result.detail, result.permit, result.kid,
                      (*result.checked, "logged"), result.status_age)
    error = LogError(f"card {result.permit.card} of this permit is not in the office's transparency log, which "
                     f"covers acts up to {covered_until} ({logged.size if logged else 0} acts): it was signed "
                     "off the record", Reason.NOT_LOGGED)
    return failure(error, result.permit, result.kid, result.checked, result.status_age)
