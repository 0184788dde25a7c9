"""Status lists: signing and checking, freshness, and the verifier's sync (directory and HTTP)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DAY, NOW, STATUS_URI, Issuer, make_permit, trusted
from hypothesis import given
from hypothesis import strategies as st
from tufsource import TufSource

from keys import algorithms
from keys.errors import PermitError, Reason, StatusError, SyncError
from keys.statuslist import StatusList, pack_entries, status_token, verify_status_list
from keys.trustlist import KeyState, KeyUse, verify_trust_list
from verifier.cache import Cache
from verifier.check import Verdict, check
from verifier.status import CachedStatus

URI1 = STATUS_URI.replace("{id}", "1")


def _token(issuer: Issuer, entries: list[tuple[int, int]], iat: int = NOW - 600, ttl: int = 3600,
           exp: int = NOW + 2 * DAY, uri: str = URI1, key=None) -> bytes:
    return status_token(uri, pack_entries(131072, entries), iat, ttl, exp, key or issuer.status_key)


@given(st.dictionaries(st.integers(0, 131071), st.integers(0, 3), max_size=50))
def test_packing_matches_the_decoder(entries: dict[int, int]) -> None:
    status = StatusList(2, bytes(pack_entries(131072, list(entries.items()))))
    assert status.size == 131072
    for idx, value in entries.items():
        assert status.get(idx) == value
    untouched = next(i for i in range(131072) if i not in entries)
    assert status.get(untouched) == 0


def test_signed_list_is_checked_against_the_trust_list(issuer: Issuer) -> None:
    trust = issuer.trust()
    signed = verify_status_list(_token(issuer, [(5, 1)]), trust, 1)
    assert signed.entries.get(5) == 1 and signed.ttl == 3600
    with pytest.raises(StatusError, match="not 'https"):
        verify_status_list(_token(issuer, [], uri=STATUS_URI.replace("{id}", "2")), trust, 1)
    with pytest.raises(StatusError, match="no status key"):
        verify_status_list(_token(issuer, [], key=issuer.permit_key), trust, 1)  # a permit key is not a status key
    with pytest.raises(StatusError):
        verify_status_list(b"\xd2\x84" + b"\x00" * 20, trust, 1)


@pytest.mark.parametrize(("value", "reason", "verdict"), [
    (0, Reason.VALID, Verdict.VALID), (1, Reason.REVOKED, Verdict.INVALID),
    (2, Reason.SUSPENDED, Verdict.INVALID), (3, Reason.SUPERSEDED, Verdict.INVALID)])
def test_status_values(issuer: Issuer, value: int, reason: Reason, verdict: Verdict) -> None:
    trust = issuer.trust()
    lookup = CachedStatus({1: verify_status_list(_token(issuer, [(4321, value)]), trust, 1)})
    result = check(issuer.sign(), trust, NOW, lookup)
    assert (result.reason, result.verdict, result.status_age) == (reason, verdict, 600)


def test_freshness(issuer: Issuer) -> None:
    trust = issuer.trust()
    held = {1: verify_status_list(_token(issuer, [(99, 1)], iat=NOW - 7200, ttl=3600), trust, 1)}
    text = issuer.sign()
    assert check(text, trust, NOW, CachedStatus(held)).reason is Reason.STATUS_STALE
    assert check(text, trust, NOW, CachedStatus(held, max_age=86400)).reason is Reason.VALID
    revoked = issuer.sign(make_permit(status_index=99))
    assert check(revoked, trust, NOW, CachedStatus(held)).reason is Reason.REVOKED  # stale never turns no to yes
    assert check(text, trust, NOW + 2 * DAY, CachedStatus(held, 10**9)).reason is Reason.STATUS_UNKNOWN  # expired
    assert check(issuer.sign(make_permit(status_list=2)), trust, NOW, CachedStatus(held)).reason is (
        Reason.STATUS_UNKNOWN)
    assert check(text, trust, NOW, CachedStatus({})).verdict is Verdict.INDETERMINATE


def _synced_cache(tmp_path: Path, source: TufSource) -> Cache:
    cache = Cache(tmp_path / "cache")
    cache.sync(str(source.out), NOW, source.root_json)
    return cache


def test_sync_from_a_directory_then_revocation(issuer: Issuer, tmp_path: Path) -> None:
    source = TufSource(issuer, tmp_path / "pub")
    source.publish()
    cache = _synced_cache(tmp_path, source)
    text = issuer.sign()
    assert check(text, cache.trust_list(), NOW, cache.status_lookup()).reason is Reason.VALID
    source.publish(NOW + 60, trust_version=2, entries=[(4321, 1)])
    cache.sync(str(source.out), NOW + 60)
    assert check(text, cache.trust_list(), NOW + 60, cache.status_lookup()).reason is Reason.REVOKED


def test_sync_refuses_expired_lists_and_keeps_the_cache(issuer: Issuer, tmp_path: Path) -> None:
    source = TufSource(issuer, tmp_path / "pub")
    source.publish()
    cache = _synced_cache(tmp_path, source)
    before = cache.generation()
    source.publish(NOW + 10, exp=NOW - 1, iat=NOW - 100)
    with pytest.raises(StatusError) as info:
        cache.sync(str(source.out), NOW + 10)
    assert info.value.reason is Reason.STATUS_LIST_EXPIRED
    assert cache.generation() == before


def test_retired_status_key_signing_after_its_window_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    """A status key retired at NOW - DAY still has its signature accepted on lists dated inside its window,
    and refused on a list dated after it, even though the signature itself is good."""
    old_key = algorithms.generate_private_key(algorithms.ES256)
    retired = trusted(old_key, KeyUse.STATUS, KeyState.RETIRED, not_after=NOW - DAY)
    keys = [*issuer.keys, retired]
    trust = verify_trust_list(issuer.trust_bytes(keys=keys), issuer.root.public_key(), NOW)  # type: ignore[arg-type]
    inside = verify_status_list(_token(issuer, [], iat=NOW - 2 * DAY, key=old_key), trust, 1)
    assert inside.issued_at == NOW - 2 * DAY
    with pytest.raises(StatusError, match="outside the window"):
        verify_status_list(_token(issuer, [], iat=NOW - 60, key=old_key), trust, 1)


def test_interrupted_sync_keeps_the_previous_cache(issuer: Issuer, tmp_path: Path) -> None:
    source = TufSource(issuer, tmp_path / "pub")
    source.publish()
    cache = _synced_cache(tmp_path, source)
    before, held = cache.generation(), cache.trust_list_bytes()
    source.publish(NOW + 60, trust_version=2, entries=[(4321, 1)])
    status_file = source.target_path("status/1.cwt")
    status_file.write_bytes(status_file.read_bytes()[:100])  # cut mid-file
    with pytest.raises(PermitError):
        cache.sync(str(source.out), NOW + 60)
    assert cache.generation() == before and cache.trust_list_bytes() == held
    assert check(issuer.sign(), cache.trust_list(), NOW, cache.status_lookup()).reason is Reason.VALID
    assert not list((tmp_path / "cache").glob(".*.tmp"))


@pytest.fixture
def http_source(issuer: Issuer, tmp_path: Path) -> Iterator[tuple[str, TufSource]]:
    source = TufSource(issuer, tmp_path / "www")
    source.publish()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(source.out))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", source
    server.shutdown()
    server.server_close()


def test_sync_over_http(issuer: Issuer, tmp_path: Path, http_source: tuple[str, TufSource]) -> None:
    url, source = http_source
    cache = Cache(tmp_path / "cache")
    report = cache.sync(url, NOW, source.root_json)
    assert (report.trust_version, report.status_lists, report.root_version) == (1, 1, 1)
    assert check(issuer.sign(), cache.trust_list(), NOW, cache.status_lookup()).reason is Reason.VALID
    source.publish(NOW + 60, trust_version=2, entries=[(4321, 1)])
    shutil.rmtree(source.out / "targets" / "status")
    with pytest.raises(SyncError) as info:
        cache.sync(url, NOW + 60)
    assert info.value.reason is Reason.SYNC_UNAVAILABLE
