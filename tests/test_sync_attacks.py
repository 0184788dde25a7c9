"""Attacks on `verifier sync` from a hostile mirror, one per finding of the 2026-11-23 review.

Each leaves a revoked permit REVOKED, or the verifier INDETERMINATE with a reason, never VALID; a refused
sync keeps the cache exactly as it was. The repository is built by publish's own code (tests/tufsource.py).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from helpers import DAY, NOW, Issuer, make_permit
from tufsource import TufSource

from keys import algorithms
from keys.errors import PermitError, Reason, SyncError
from verifier.cache import Cache
from verifier.check import Verdict, check
from verifier.tufsync import DirectoryFetcher

HOUR = 3600
INDEX = 4321


@pytest.fixture
def office(issuer: Issuer, tmp_path: Path) -> tuple[TufSource, Cache, Path, str]:
    """Published before a revocation (a copy kept by the attacker), then the revocation published and
    synced: the verifier says REVOKED."""
    source = TufSource(issuer, tmp_path / "pub")
    source.publish(NOW)
    before = source.copy(tmp_path / "before-revocation")
    cache = Cache(tmp_path / "cache")
    cache.sync(str(source.out), NOW, source.root_json)
    text = issuer.sign(make_permit(status_index=INDEX))
    assert _reason(cache, text, NOW) is Reason.VALID
    source.publish(NOW + 600, trust_version=1, entries=[(INDEX, 1)])
    cache.sync(str(source.out), NOW + 600)
    assert _reason(cache, text, NOW + 600) is Reason.REVOKED
    return source, cache, before, text


def _reason(cache: Cache, text: str, at: int, max_age: int | None = None) -> Reason:
    return check(text, cache.trust_list(), at, cache.status_lookup(max_age)).reason


def _refused(cache: Cache, source: str | Path, at: int) -> Reason:
    generation = cache.generation()
    with pytest.raises(PermitError) as info:
        cache.sync(str(source), at)
    assert cache.generation() == generation, "a refused sync must keep the cache as it was"
    return info.value.reason


def test_two_step_rollback_lists_withheld_then_old_copy_is_refused(office, tmp_path: Path) -> None:
    source, cache, before, text = office
    source.publish(NOW + 1200, entries=[(INDEX, 1), (8, 2)])  # the office moves on
    # Step 1: the mirror serves the newest metadata without any status list file ...
    withheld = source.copy(tmp_path / "withheld")
    shutil.rmtree(withheld / "targets" / "status")
    assert _refused(cache, withheld, NOW + 1300) is Reason.SYNC_UNAVAILABLE
    # ... or a targets.json of its own making that lists none (it cannot sign it).
    source.publish(NOW + 1500, entries=[(INDEX, 1), (8, 1)])
    forged = source.copy(tmp_path / "forged")
    [targets_file] = sorted((forged / "metadata").glob("*.targets.json"))[-1:]
    doc = json.loads(targets_file.read_bytes())
    doc["signed"]["targets"] = {k: v for k, v in doc["signed"]["targets"].items() if not k.startswith("status/")}
    targets_file.write_text(json.dumps(doc))
    assert _refused(cache, forged, NOW + 1600) is Reason.SYNC_BAD_SIGNATURE
    # Step 2: the copy from before the revocation.
    assert _refused(cache, before, NOW + 1600) is Reason.SYNC_ROLLBACK
    assert _reason(cache, text, NOW + 1600) is Reason.REVOKED


def test_mirror_withholding_the_lists_of_the_version_held_changes_nothing(office, tmp_path: Path) -> None:
    """The same publication without its status files: the verifier keeps the lists it holds, whose hashes
    the signed metadata still names; the revoked permit stays REVOKED."""
    source, cache, _, text = office
    withheld = source.copy(tmp_path / "withheld")
    shutil.rmtree(withheld / "targets" / "status")
    cache.sync(str(withheld), NOW + 700)
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_one_step_rollback_to_a_copy_from_before_the_revocation_is_refused(office) -> None:
    _, cache, before, text = office
    assert _refused(cache, before, NOW + 700) is Reason.SYNC_ROLLBACK
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_rollback_to_old_copy_over_http_is_refused(office) -> None:
    _, cache, before, text = office
    with _serve(before) as url:
        assert _refused(cache, url, NOW + 700) is Reason.SYNC_ROLLBACK
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_frozen_mirror_turns_indeterminate_and_its_sync_is_refused_after_expiry(office, issuer: Issuer,
                                                                                tmp_path: Path) -> None:
    source, cache, _, revoked = office
    frozen = source.copy(tmp_path / "frozen")  # the mirror stops here; the office goes on publishing
    valid = issuer.sign(make_permit(status_index=7))
    cache.sync(str(frozen), NOW + 2 * HOUR)  # nothing new, and nothing refused yet
    bank = _reason(cache, valid, NOW + 2 * HOUR, max_age=HOUR)
    assert bank is Reason.STATUS_STALE  # the bank's 1 h allowance runs from the frozen timestamp
    later = NOW + 600 + DAY + 60  # the frozen timestamp (1 day) has expired
    assert _refused(cache, frozen, later) is Reason.SYNC_FROZEN
    result = check(valid, cache.trust_list(), later, cache.status_lookup(10 * DAY))
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, Reason.STATUS_STALE)
    assert "frozen" in result.detail
    assert _reason(cache, revoked, later) is Reason.REVOKED


def test_mix_and_match_of_old_and_new_lists_is_refused(office, issuer: Issuer, tmp_path: Path) -> None:
    source, cache, before, text = office
    source.publish(NOW + 1200, trust_version=2, entries=[(INDEX, 1), (8, 2)])
    # The newest metadata, with the status list of the old copy put under the new list's name.
    mixed = source.copy(tmp_path / "mixed")
    [old_list] = (before / "targets" / "status").glob("*.1.cwt")
    current = mixed / source.target_path("status/1.cwt").relative_to(source.out)
    current.write_bytes(old_list.read_bytes())
    assert _refused(cache, mixed, NOW + 1300) is Reason.SYNC_MIX_AND_MATCH
    # New timestamp and snapshot, old targets metadata.
    source.publish(NOW + 1800, trust_version=2, entries=[(INDEX, 1), (8, 1)])
    mixed_meta = source.copy(tmp_path / "mixed-meta")
    newest = max((mixed_meta / "metadata").glob("*.targets.json"), key=lambda p: int(p.name.split(".")[0]))
    (before / "metadata" / "1.targets.json").replace(newest)
    assert _refused(cache, mixed_meta, NOW + 1900) is Reason.SYNC_ROLLBACK
    assert _reason(cache, text, NOW + 1900) is Reason.REVOKED


@pytest.mark.parametrize("name", ["../secret", "/etc/passwd", "metadata/../../secret", "file:/etc/passwd",
                                  "targets/..%2F..%2Fsecret", "a\\..\\secret", ""])
def test_path_traversal_from_a_source_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret").write_text("not published")
    fetcher = DirectoryFetcher(tmp_path / "pub")
    with pytest.raises(SyncError) as info:
        fetcher.resolve("local:/" + name)
    assert info.value.reason is Reason.SYNC_PATH_REFUSED


def test_file_url_in_the_fetch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SyncError) as info:
        DirectoryFetcher(tmp_path).resolve("file:///etc/passwd")
    assert info.value.reason is Reason.SYNC_PATH_REFUSED


def test_symlink_leading_out_of_the_source_is_refused(office, tmp_path: Path) -> None:
    source, cache, before, text = office
    linked = source.copy(tmp_path / "linked")
    (linked / "metadata" / "timestamp.json").unlink()
    os.symlink(before / "metadata" / "timestamp.json", linked / "metadata" / "timestamp.json")
    assert _refused(cache, linked, NOW + 700) is Reason.SYNC_PATH_REFUSED
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_redirect_to_a_file_url_is_refused(office) -> None:
    _, cache, _, text = office

    class Redirect(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reason = _refused(cache, f"http://127.0.0.1:{server.server_address[1]}/", NOW + 700)
    finally:
        server.shutdown()
        server.server_close()
    assert reason in (Reason.SYNC_UNAVAILABLE, Reason.SYNC_INVALID)
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_targets_listing_a_list_30000_times_is_refused_fast(office, tmp_path: Path) -> None:
    source, cache, _, text = office
    source.publish(NOW + 1200, entries=[(INDEX, 1), (8, 2)])
    flood = source.copy(tmp_path / "flood")
    newest = max((flood / "metadata").glob("*.targets.json"), key=lambda p: int(p.name.split(".")[0]))
    doc = json.loads(newest.read_bytes())
    entry = doc["signed"]["targets"]["status/1.cwt"]
    doc["signed"]["targets"].update({f"status/{i}.cwt": entry for i in range(2, 30_002)})
    newest.write_text(json.dumps(doc))
    started = time.perf_counter()
    assert _refused(cache, flood, NOW + 1300) is Reason.SYNC_TOO_LARGE
    assert time.perf_counter() - started < 5
    assert _reason(cache, text, NOW + 1300) is Reason.REVOKED


def test_endless_data_in_place_of_a_status_list_is_refused(office, tmp_path: Path) -> None:
    source, cache, _, text = office
    source.publish(NOW + 1200, trust_version=2, entries=[(INDEX, 1), (9, 1)])
    endless = source.copy(tmp_path / "endless")
    with (endless / source.target_path("status/1.cwt").relative_to(source.out)).open("wb") as f:
        f.truncate(1 << 30)  # a 1 GiB (sparse) file: sync must stop at the signed length
    started = time.perf_counter()
    assert _refused(cache, endless, NOW + 1300) is Reason.SYNC_TOO_LARGE
    assert time.perf_counter() - started < 5
    assert _reason(cache, text, NOW + 1300) is Reason.REVOKED


def test_endless_timestamp_is_refused(office, tmp_path: Path) -> None:
    source, cache, _, _ = office
    endless = source.copy(tmp_path / "endless-ts")
    with (endless / "metadata" / "timestamp.json").open("wb") as f:
        f.truncate(1 << 30)
    assert _refused(cache, endless, NOW + 700) is Reason.SYNC_TOO_LARGE


def test_list_signed_by_a_retired_status_key_after_its_window_is_refused_at_sync(issuer: Issuer,
                                                                                 tmp_path: Path) -> None:
    from helpers import trusted

    from keys.trustlist import KeyState, KeyUse

    old = algorithms.generate_private_key(algorithms.ES256)
    issuer_keys = issuer.keys
    issuer.keys = [*issuer_keys, trusted(old, KeyUse.STATUS, KeyState.RETIRED, not_after=NOW - DAY)]
    try:
        source = TufSource(issuer, tmp_path / "pub")
        source.publish(NOW)
        cache = Cache(tmp_path / "cache")
        cache.sync(str(source.out), NOW, source.root_json)
        source.publish(NOW + 60, trust_version=1, iat=NOW + 30, status_key=old)
        reason = _refused(cache, source.out, NOW + 60)
    finally:
        issuer.keys = issuer_keys
    assert reason is Reason.STATUS_UNKNOWN


def test_cache_pinned_to_a_root_pem_is_told_to_pin_root_json(office, issuer: Issuer, tmp_path: Path) -> None:
    source, _, _, _ = office
    legacy = Cache(tmp_path / "legacy")
    legacy.pin_root(algorithms.public_pem(issuer.root.public_key()).encode())
    with pytest.raises(SyncError, match=r"root\.pem key from before") as info:
        legacy.sync(str(source.out), NOW + 700)
    assert info.value.reason is Reason.ROOT_NOT_PINNED
    legacy.sync(str(source.out), NOW + 700, source.root_json)  # the root.pem key is this root's: accepted
    other = Cache(tmp_path / "other")
    other.pin_root(algorithms.public_pem(algorithms.generate_private_key(algorithms.ES256).public_key()).encode())
    with pytest.raises(SyncError) as info:
        other.sync(str(source.out), NOW + 700, source.root_json)
    assert info.value.reason is Reason.ROOT_MISMATCH


def test_root_pem_given_as_root_is_a_clear_error(office, issuer: Issuer, tmp_path: Path) -> None:
    source, _, _, _ = office
    with pytest.raises(SyncError, match=r"pin its metadata/root\.json") as info:
        Cache(tmp_path / "c").sync(str(source.out), NOW, algorithms.public_pem(issuer.root.public_key()).encode())
    assert info.value.reason is Reason.ROOT_NOT_PINNED


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _serve:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> str:
        handler = lambda *a, **kw: _Quiet(*a, directory=str(self.directory), **kw)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()






def test_wrong_root_on_first_pin_leaves_nothing_pinned(office, tmp_path: Path) -> None:
    """A --root from another issuer fails the first sync, and the cache is not left pinned to it."""
    source, _, _, text = office
    stranger = TufSource(Issuer(), tmp_path / "stranger")
    stranger.publish(NOW)
    cache = Cache(tmp_path / "fresh")
    with pytest.raises(SyncError) as info:
        cache.sync(str(source.out), NOW + 700, stranger.root_json)
    assert info.value.reason is Reason.SYNC_BAD_SIGNATURE
    assert cache.tuf_root() is None
    cache.sync(str(source.out), NOW + 700, source.root_json)
    assert _reason(cache, text, NOW + 700) is Reason.REVOKED


def test_two_step_rollback_leaves_the_running_api_saying_revoked(office, tmp_path: Path) -> None:
    from verifier.server import orgs
    from verifier.server.app import create_app

    source, cache, before, text = office
    app = create_app(cache.dir, {"CLOCK": lambda: NOW + 1300, "TESTING": True})
    key = orgs.add_org(orgs.connect(cache.dir), "Bank", "bank", NOW)
    client = app.test_client()

    def verdict() -> str:
        r = client.post("/v1/verify", json={"payload": text}, headers={"Authorization": f"Bearer {key}"})
        return r.get_json()["reason"]

    assert verdict() == "REVOKED"
    source.publish(NOW + 1200, entries=[(INDEX, 1), (8, 2)])
    withheld = source.copy(tmp_path / "withheld")
    shutil.rmtree(withheld / "targets" / "status")
    assert _refused(cache, withheld, NOW + 1300) is Reason.SYNC_UNAVAILABLE
    assert _refused(cache, before, NOW + 1300) is Reason.SYNC_ROLLBACK
    time.sleep(1.1)  # the server re-reads the cache at most once a second
    assert verdict() == "REVOKED"
    app.extensions["verifier"].audit.close()


def test_timestamp_dated_in_the_future_does_not_make_lists_younger(issuer: Issuer, tmp_path: Path) -> None:
    """An office clock two hours ahead (or a timestamp key thief) cannot buy freshness: a list is never
    vouched for later than the sync that received it."""
    source = TufSource(issuer, tmp_path / "pub")
    source.publish(NOW + 2 * HOUR)
    cache = Cache(tmp_path / "cache")
    cache.sync(str(source.out), NOW, source.root_json)
    text = issuer.sign(make_permit(status_index=5))
    result = check(text, cache.trust_list(), NOW + HOUR + 1, cache.status_lookup(HOUR))
    assert (result.reason, result.status_age) == (Reason.STATUS_STALE, HOUR + 1)
