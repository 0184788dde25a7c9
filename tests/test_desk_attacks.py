"""Attacks on the desk page's sync and checks, each named after it, in a real headless Chromium: a mirror
rolling back or frozen, a tampered target, metadata or a root signed by the wrong keys, a high-S permit;
and the root rotations the page must follow."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_site import (
    CHECK,
    CHROMIUM,
    SYNC,
    chromium,
    issue,
    open_page,
    publish_to,
    revoke,
    scan,
    static_server,
    synced_page,
)
from office_adapters import cli_run

from keys import base45
from keys.algorithms import P256_ORDER

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason="Chromium is not installed here (scripts/setup installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


def test_mirror_serving_an_older_timestamp_and_snapshot_is_refused(browser, registry_home: Path,
                                                                     tmp_path: Path) -> None:
    tokens, number, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    old = tmp_path / "old-metadata"
    shutil.copytree(pub / "metadata", old)
    revoke(registry_home, tokens, number)
    publish_to(registry_home, pub)  # new targets, snapshot and timestamp
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
        assert page.evaluate(CHECK, [text, None])["reason"] == "REVOKED"
        held = page.evaluate("PermitStore.read().then((r) => r.info)")
        # the mirror goes back to the publication before the revocation
        for name in ("timestamp.json", *[p.name for p in old.glob("*.snapshot.json")]):
            shutil.copy(old / name, pub / "metadata" / name)
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_ROLLBACK", state
        assert page.evaluate("PermitStore.read().then((r) => r.info)") == held  # nothing replaced
        assert page.evaluate(CHECK, [text, None])["reason"] == "REVOKED"  # still revoked
        assert "SYNC_ROLLBACK" in page.inner_text("#sync-state")
        context.close()


def test_frozen_mirror_is_refused(browser, registry_home: Path, tmp_path: Path) -> None:
    """A mirror that stops moving: once its timestamp has expired, a sync is refused and valid entries of
    the lists held turn STATUS_STALE."""
    _, _, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    later = int(time.time()) + 25 * 3600  # the timestamp lives 24 hours, the status list 48
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
        state = page.evaluate(SYNC, [later])
        assert not state["ok"] and state["reason"] == "SYNC_FROZEN", state
        assert page.evaluate(CHECK, [text, later])["reason"] == "STATUS_STALE"
        context.close()


def test_tampered_trust_list_target_is_refused(browser, registry_home: Path, tmp_path: Path) -> None:
    _, _, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    (target,) = (pub / "targets").glob("*.trust-list.cwt")
    data = bytearray(target.read_bytes())
    data[-1] ^= 0x01  # one bit of the signature: the same length, another hash
    target.write_bytes(bytes(data))
    with static_server(pub) as url:
        context, page = open_page(browser, url, locale="en-US")
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_MIX_AND_MATCH", state
        assert page.evaluate(CHECK, [text, None])["reason"] == "NO_TRUST_LIST"  # nothing was stored
        context.close()


def test_metadata_signed_by_another_key_is_refused(browser, registry_home: Path, tmp_path: Path) -> None:
    """A mirror that re-signs the timestamp with a key root.json does not name for it."""
    issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    timestamp = json.loads((pub / "metadata" / "timestamp.json").read_text())
    timestamp["signed"]["expires"] = "2099-01-01T00:00:00Z"  # the signature no longer covers what it says
    (pub / "metadata" / "timestamp.json").write_text(json.dumps(timestamp))
    with static_server(pub) as url:
        context, page = open_page(browser, url, locale="en-US")
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_BAD_SIGNATURE", state
        context.close()


def test_high_s_permit_is_refused_by_the_page(browser, registry_home: Path, tmp_path: Path) -> None:
    _, _, text = issue(registry_home)
    raw = bytearray(base45.decode(text[4:]))
    s = int.from_bytes(raw[-32:], "big")
    raw[-32:] = (P256_ORDER - s).to_bytes(32, "big")  # (r, n - s) verifies too in plain ECDSA
    high_s = "PR1:" + base45.encode(bytes(raw))
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
        assert page.evaluate(CHECK, [text, None])["reason"] == "VALID"
        result = page.evaluate(CHECK, [high_s, None])
        assert (result["verdict"], result["reason"]) == ("invalid", "BAD_SIGNATURE")
        scan(page, high_s, "invalid")
        assert page.inner_text("#fields") == ""
        context.close()


def test_page_follows_root_rotations_by_sync_alone(browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-of-3 root replaced by new officers (root version 2), then the online key rotated (version 3):
    the page follows the chain, each version signed by the old and the new threshold, and still checks."""
    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", "correct horse battery")
    old, new = ["officer one, first key", "officer two, first key", "officer three, first key"], \
        ["officer one, second key", "officer two, second key", "officer three, second key"]
    for i, secret in enumerate(old, 1):
        monkeypatch.setenv(f"PERMIT_REGISTRY_ROOT_PASSPHRASE_{i}", secret)
    home, pub = tmp_path / "office", tmp_path / "pub"
    assert cli_run(home, None, "init", "--root-keys", "3", "--root-threshold", "2").exit_code == 0
    _, _, text = issue(home)
    publish_to(home, pub)
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
        assert page.evaluate("PermitStore.read().then((r) => r.info.root_version)") == 1
        monkeypatch.delenv("PERMIT_REGISTRY_ROOT_PASSPHRASE_2")
        for i, secret in enumerate(new, 1):
            monkeypatch.setenv(f"PERMIT_REGISTRY_NEW_ROOT_PASSPHRASE_{i}", secret)
        assert cli_run(home, None, "keys", "rotate", "--use", "root").exit_code == 0
        for i, secret in enumerate(new, 1):
            monkeypatch.setenv(f"PERMIT_REGISTRY_ROOT_PASSPHRASE_{i}", secret)
        assert cli_run(home, None, "keys", "rotate", "--use", "timestamp").exit_code == 0
        publish_to(home, pub)
        state = page.evaluate(SYNC, [None])
        assert state["ok"] and state["held"]["root_version"] == 3, state
        assert page.evaluate(CHECK, [text, None])["reason"] == "VALID"  # the new online key signs the trust list
        context.close()


def test_root_version_signed_only_by_new_keys_is_refused_by_the_page(browser, registry_home: Path,
                                                                       tmp_path: Path) -> None:
    """A thief with root keys of his own cannot make a root the old keys did not sign."""
    from tuf.api.metadata import Metadata, Root

    from keys import algorithms
    from keys.tufkeys import TufSigner, tuf_key

    _, _, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
        root = Metadata[Root].from_file(str(pub / "metadata" / "1.root.json"))
        thief = algorithms.generate_private_key(algorithms.ES256)
        for keyid in list(root.signed.roles["root"].keyids):
            root.signed.revoke_key(keyid, "root")
        root.signed.add_key(tuf_key(thief.public_key()), "root")
        root.signed.version = 2
        root.signatures.clear()
        root.sign(TufSigner(thief))
        (pub / "metadata" / "2.root.json").write_bytes(root.to_bytes())
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_BAD_SIGNATURE", state
        assert page.evaluate("PermitStore.read().then((r) => r.info.root_version)") == 1
        assert page.evaluate(CHECK, [text, None])["reason"] == "VALID"
        context.close()


def test_unreachable_source_keeps_the_data_held(browser, registry_home: Path, tmp_path: Path) -> None:
    """The published directory's server goes away while the desk is online: the sync says so and the
    desk keeps checking with what it holds."""
    _, _, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    with static_server(pub) as url:
        context, page = synced_page(browser, url)
    state = page.evaluate(SYNC, [None])
    assert not state["ok"] and state["reason"] == "SYNC_UNAVAILABLE", state
    assert page.evaluate(CHECK, [text, None])["reason"] == "VALID"
    assert "SYNC_UNAVAILABLE" in page.inner_text("#sync-state")
    context.close()
