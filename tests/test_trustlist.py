"""The trust list: only the pinned root's, never older than the one held, never expired."""

from __future__ import annotations

import pytest
from helpers import DAY, NOW, Issuer

from keys import algorithms
from keys.algorithms import ES256
from keys.cose import sign1
from keys.errors import Reason, TrustError
from keys.trustlist import TYP, KeyUse, verify_trust_list


def _refused(data: bytes, issuer: Issuer, at: int = NOW, current=None) -> Reason:
    with pytest.raises(TrustError) as info:
        verify_trust_list(data, issuer.root.public_key(), at, current)
    return info.value.reason


def test_accepts_the_roots_list(issuer: Issuer) -> None:
    trust = issuer.trust(version=3)
    assert trust.version == 3 and trust.issuer == "NIA"
    assert [k.kid for k in trust.candidates(issuer.permit_entry.kid, KeyUse.PERMIT)] == [issuer.permit_entry.kid]
    assert trust.candidates(issuer.permit_entry.kid, KeyUse.STATUS) == ()
    assert trust.status_uri_for(7) == "https://permits.example/status/7.cwt"


def test_refuses_a_list_signed_by_another_root(issuer: Issuer) -> None:
    other = algorithms.generate_private_key(ES256)
    assert _refused(issuer.trust_bytes(root=other), issuer) is Reason.TRUST_LIST_BAD_SIGNATURE


def test_refuses_tampered_list(issuer: Issuer) -> None:
    data = bytearray(issuer.trust_bytes())
    data[len(data) // 2] ^= 0x40
    assert _refused(bytes(data), issuer) in {Reason.TRUST_LIST_BAD_SIGNATURE, Reason.TRUST_LIST_INVALID}


def test_refuses_rollback(issuer: Issuer) -> None:
    current = issuer.trust(version=5)
    assert _refused(issuer.trust_bytes(version=4), issuer, current=current) is Reason.TRUST_LIST_ROLLBACK
    other_v5 = issuer.trust_bytes(version=5, issued_at=NOW - 2 * DAY)
    assert _refused(other_v5, issuer, current=current) is Reason.TRUST_LIST_ROLLBACK
    same = verify_trust_list(current.raw, issuer.root.public_key(), NOW, current)
    assert same.version == 5
    newer = verify_trust_list(issuer.trust_bytes(version=6), issuer.root.public_key(), NOW, current)
    assert newer.version == 6


def test_refuses_expired_list(issuer: Issuer) -> None:
    data = issuer.trust_bytes(issued_at=NOW - 10 * DAY, expires_at=NOW - 1)
    assert _refused(data, issuer) is Reason.TRUST_LIST_EXPIRED


def test_refuses_other_documents_signed_by_the_root(issuer: Issuer) -> None:
    kid = algorithms.key_id(issuer.root.public_key())
    assert _refused(sign1(b"\xa0", issuer.root, kid, typ="application/other"), issuer) is Reason.TRUST_LIST_INVALID
    assert _refused(sign1(b"\xa0", issuer.root, kid, typ=TYP), issuer) is Reason.TRUST_LIST_INVALID
    assert _refused(b"\x00" * 10, issuer) is Reason.TRUST_LIST_INVALID
