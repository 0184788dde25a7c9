"""The offline check: one verdict and one reason for every way a payload can be good or bad."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import DAY, NOW, YEAR, Issuer, make_permit, trusted

from keys import algorithms, base45
from keys.algorithms import ES256
from keys.errors import Reason, TrustError
from keys.permit import PREFIX, Permit, encode_permit
from keys.trustlist import KeyState
from verifier.check import StatusAnswer, Verdict, check


def test_valid_permit_round_trips(issuer: Issuer) -> None:
    permit = make_permit()
    result = check(issuer.sign(permit), issuer.trust(), NOW)
    assert (result.verdict, result.reason) == (Verdict.VALID, Reason.VALID)
    assert result.permit == permit
    assert result.checked == ("format", "signature", "key", "validity")
    assert result.kid == issuer.permit_entry.kid


def test_eddsa_permit_is_valid(ed_issuer: Issuer) -> None:
    result = check(ed_issuer.sign(), ed_issuer.trust(), NOW)
    assert result.reason is Reason.VALID


def test_permit_without_chinese_name(issuer: Issuer) -> None:
    result = check(issuer.sign(chinese_name=None), issuer.trust(), NOW)
    assert result.reason is Reason.VALID and result.permit is not None
    assert result.permit.chinese_name is None


def test_scanner_line_ending_is_tolerated(issuer: Issuer) -> None:
    assert check(issuer.sign() + "\r\n", issuer.trust(), NOW).reason is Reason.VALID


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.MALFORMED),
        ("HC1:NCFOXN%TS3DH", Reason.MALFORMED),
        ("PR1:GGW", Reason.MALFORMED),
        ("PR1:" + base45.encode(b"\x01\x02\x03"), Reason.MALFORMED),
        ("PR2:ABCDEF", Reason.UNSUPPORTED_VERSION),
        ("PR1:" + "A" * 5000, Reason.MALFORMED),
        ("PR1:\u202eABC", Reason.MALFORMED),
    ],
)
def test_malformed_input(issuer: Issuer, text: str, reason: Reason) -> None:
    result = check(text, issuer.trust(), NOW)
    assert result.reason is reason
    assert result.permit is None
    assert result.detail


def test_truncated_payload_is_malformed(issuer: Issuer) -> None:
    text = issuer.sign()
    for cut in (len(text) - 3, len(text) // 2, len(PREFIX) + 3):
        assert check(text[:cut], issuer.trust(), NOW).reason is Reason.MALFORMED


def test_tampered_signature_byte(issuer: Issuer) -> None:
    raw = bytearray(base45.decode(issuer.sign()[len(PREFIX):]))
    raw[-1] ^= 0x01
    result = check(PREFIX + base45.encode(bytes(raw)), issuer.trust(), NOW)
    assert (result.verdict, result.reason) == (Verdict.INVALID, Reason.BAD_SIGNATURE)
    assert result.permit is None


def test_signed_by_unlisted_key(issuer: Issuer) -> None:
    stranger = algorithms.generate_private_key(ES256)
    result = check(issuer.sign(key=stranger), issuer.trust(), NOW)
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, Reason.UNKNOWN_KEY)


def test_forger_reusing_a_listed_kid(issuer: Issuer) -> None:
    forger = algorithms.generate_private_key(ES256)
    # Signed with the forger's key under the genuine kid: the kid is only a hint.
    text = encode_permit(make_permit(), forger, issuer.permit_entry.kid)
    assert check(text, issuer.trust(), NOW).reason is Reason.BAD_SIGNATURE


def test_trust_list_listing_a_key_under_another_keys_kid_is_refused(issuer: Issuer) -> None:
    """A kid is SHA-256(SPKI)[:8] of its own key: an entry that borrows another key's kid (so that a
    verifier would try it for that key's permits) makes the whole list invalid."""
    other = algorithms.generate_private_key(ES256)
    keys = [trusted(other, kid=issuer.permit_entry.kid), issuer.permit_entry]
    with pytest.raises(TrustError) as caught:
        issuer.trust(keys=keys)
    assert caught.value.reason is Reason.TRUST_LIST_INVALID and "own id" in caught.value.message


def test_compromised_key(issuer: Issuer) -> None:
    keys = [replace(issuer.permit_entry, state=KeyState.COMPROMISED, not_after=NOW - DAY)]
    result = check(issuer.sign(), issuer.trust(keys=keys), NOW)
    assert (result.verdict, result.reason) == (Verdict.INVALID, Reason.KEY_COMPROMISED)


def test_retired_key_still_verifies_what_it_signed_in_its_window(issuer: Issuer) -> None:
    keys = [replace(issuer.permit_entry, state=KeyState.RETIRED, not_after=NOW - 10 * DAY)]
    assert check(issuer.sign(), issuer.trust(keys=keys), NOW).reason is Reason.VALID
    late = issuer.sign(signed_at=NOW - 5 * DAY)
    assert check(late, issuer.trust(keys=keys), NOW).reason is Reason.KEY_NOT_VALID


def test_signed_before_key_window(issuer: Issuer) -> None:
    keys = [replace(issuer.permit_entry, not_before=NOW - DAY)]
    assert check(issuer.sign(), issuer.trust(keys=keys), NOW).reason is Reason.KEY_NOT_VALID


def test_status_key_cannot_sign_permits(issuer: Issuer) -> None:
    text = issuer.sign(key=issuer.status_key)
    assert check(text, issuer.trust(), NOW).reason is Reason.UNKNOWN_KEY


def test_not_yet_valid_and_expired(issuer: Issuer) -> None:
    permit = make_permit()
    text, trust = issuer.sign(permit), issuer.trust(expires_at=permit.valid_until + YEAR)
    assert check(text, trust, permit.valid_from - 1).reason is Reason.NOT_YET_VALID
    assert check(text, trust, permit.valid_from).reason is Reason.VALID
    assert check(text, trust, permit.valid_until - 1).reason is Reason.VALID
    result = check(text, trust, permit.valid_until)
    assert (result.verdict, result.reason) == (Verdict.INVALID, Reason.EXPIRED)


def test_expired_trust_list_is_indeterminate(issuer: Issuer) -> None:
    trust = issuer.trust()
    result = check(issuer.sign(), trust, trust.expires_at)
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, Reason.TRUST_LIST_STALE)


def test_no_trust_list(issuer: Issuer) -> None:
    result = check(issuer.sign(), None, NOW)
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, Reason.NO_TRUST_LIST)


class _Status:
    def __init__(self, reason: Reason) -> None:
        self.reason = reason

    def status_of(self, permit: Permit, trust: object, at: int) -> StatusAnswer:
        return StatusAnswer(self.reason, age=60)


@pytest.mark.parametrize(
    ("reason", "verdict"),
    [
        (Reason.VALID, Verdict.VALID),
        (Reason.REVOKED, Verdict.INVALID),
        (Reason.SUSPENDED, Verdict.INVALID),
        (Reason.SUPERSEDED, Verdict.INVALID),
        (Reason.STATUS_UNKNOWN, Verdict.INDETERMINATE),
    ],
)
def test_status_answer_decides_last(issuer: Issuer, reason: Reason, verdict: Verdict) -> None:
    result = check(issuer.sign(), issuer.trust(), NOW, status=_Status(reason))
    assert (result.verdict, result.reason, result.status_age) == (verdict, reason, 60)
    assert result.checked[-1] == "status"


def test_result_json_limits_fields(issuer: Issuer) -> None:
    result = check(issuer.sign(), issuer.trust(), NOW)
    data = result.to_json(fields=frozenset({"number", "surname"}))
    assert data["verdict"] == "valid" and set(data["permit"]) == {"number", "surname"}
    full = result.to_json()["permit"]
    assert full["issue_date"] == "2026-01-15" and full["expiry_date"] == "2036-01-14"
    assert full["number"].startswith("911840199001010")


def test_key_window_end_is_the_last_signing_second(issuer: Issuer) -> None:
    keys = [replace(issuer.permit_entry, state=KeyState.RETIRED, not_after=NOW - DAY)]
    trust = issuer.trust(keys=keys)
    assert check(issuer.sign(signed_at=NOW - DAY), trust, NOW).reason is Reason.VALID
    assert check(issuer.sign(signed_at=NOW - DAY + 1), trust, NOW).reason is Reason.KEY_NOT_VALID
