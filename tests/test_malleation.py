"""One permit, one valid text: every way of changing the bytes of a genuine permit (or of a trust or
status list) without the issuer's key is refused, each with the rule it breaks in the detail. The
variants are the ones an attacker or a lax encoder would try (scripts/malleate.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import NOW, Issuer, make_permit

from keys.errors import Reason, StatusError, TrustError
from keys.statuslist import pack_entries, status_token, verify_status_list
from keys.trustlist import verify_trust_list
from verifier.check import check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import malleate  # scripts/ is not a package: found through the path set above

RULES = {
    "high-s": "high-S",
    "trailing-bytes": "bytes after the end",
    "second-cose-appended": "bytes after the end",
    "unprotected-header": "unprotected header must be the empty map",
    "indefinite-length": "indefinite-length",
    "non-minimal-head": "non-minimal head",
    "missing-tag": "must be tagged 18",
    "self-describe-tag": "tag 55799 not allowed",
    "duplicate-claim-key": "duplicate map key",
    "unsorted-claims": "not in deterministic order",
    "trailing-bytes-in-payload": "bytes after the end",
    "indefinite-length-claims": "indefinite-length",
    "typ-header": "carries no typ",
    "boolean-claim-key": "must hold exactly the keys",
    "boolean-header-key": "is not an integer or a text string",
}


@pytest.fixture(scope="module")
def genuine(issuer: Issuer) -> str:
    text = issuer.sign(make_permit())
    assert check(text, issuer.trust(), NOW).reason is Reason.VALID
    return text


@pytest.mark.parametrize("name", list(malleate.UNSIGNED))
def test_attacker_reencoding_a_genuine_permit_is_refused(issuer: Issuer, genuine: str, name: str) -> None:
    variant, reason = malleate.UNSIGNED[name]
    forged = variant(genuine)
    assert forged != genuine
    result = check(forged, issuer.trust(), NOW)
    assert (result.reason.value, result.permit) == (reason, None)
    assert RULES[name] in result.detail


SIGNED = {**malleate.SIGNED, **malleate.SIGNED_KEY_TYPES}


@pytest.mark.parametrize("name", list(SIGNED))
def test_key_holder_signing_non_deterministic_claims_is_refused(issuer: Issuer, genuine: str, name: str) -> None:
    """Only the key holder can make these, but two verifiers must still not disagree on them (a lax
    decoder would show the second of two surnames, or read the key `true` as claim 1)."""
    variant, reason = SIGNED[name]
    result = check(variant(genuine, issuer.permit_key), issuer.trust(), NOW)
    assert (result.reason.value, result.permit) == (reason, None)
    assert RULES[name] in result.detail
    # refused after the signature held (claims), or before it was tried (a typ in the header)
    assert ("signature" in result.checked) == (name not in ("typ-header", "boolean-header-key"))


def test_mirror_appending_bytes_to_the_trust_list_is_refused(issuer: Issuer) -> None:
    with pytest.raises(TrustError) as caught:
        verify_trust_list(issuer.trust_bytes() + b"\x00", issuer.root.public_key(), NOW)
    assert caught.value.reason is Reason.TRUST_LIST_INVALID and "bytes after the end" in caught.value.message


def test_mirror_serving_a_high_s_trust_list_is_refused(issuer: Issuer) -> None:
    raw = issuer.trust_bytes()
    text = malleate.high_s(malleate.text_of(raw))
    with pytest.raises(TrustError) as caught:
        verify_trust_list(malleate.cose_of(text), issuer.root.public_key(), NOW)
    assert caught.value.reason is Reason.TRUST_LIST_BAD_SIGNATURE


@pytest.mark.parametrize("variant", ["trailing", "untagged", "high-s"])
def test_mirror_reencoding_a_status_list_is_refused(issuer: Issuer, variant: str) -> None:
    trust = issuer.trust()
    raw = status_token(trust.status_uri_for(1), pack_entries(1024, [(5, 1)]), NOW, 3600, NOW + 86400,
                       issuer.status_key)
    assert verify_status_list(raw, trust, 1).entries.get(5) == 1
    forged = {"trailing": raw + b"\x00", "untagged": raw[1:],
              "high-s": malleate.cose_of(malleate.high_s(malleate.text_of(raw)))}[variant]
    with pytest.raises(StatusError) as caught:
        verify_status_list(forged, trust, 1)
    assert caught.value.reason is Reason.STATUS_UNKNOWN

