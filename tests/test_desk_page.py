"""The published desk page, `OUTDIR/check/`, in a real headless Chromium (Debian's, driven by Playwright):
every conformance vector checked by the page's own JavaScript, a registry's page opened once and then
used with the network cut, a revocation seen after a sync, and the attacks on its sync named after them.

Screenshots (1366 px and 390 px wide) go to $DESK_SCREENSHOTS when it is set."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from desk_site import ARGS, CHROMIUM, static_server, wide
from office_adapters import cli_run, enrol

from keys.algorithms import P256_ORDER
from registry import store
from registry.desk import desk_files, write_desk
from registry.issuance import payload_text
from verifier import base45

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "docs" / "test-vectors"
MANIFEST = json.loads((KIT / "vectors.json").read_text())
SAMPLE = str(ROOT / "samples" / "smith-john.json")

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason="Chromium is not installed here (scripts/setup installs it)")

SYNC = "async ([at]) => PermitDesk.sync(at === null ? undefined : at)"
CHECK = "async ([text, at]) => PermitDesk.check(text, at === null ? undefined : at)"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def _keep(page, name: str) -> None:
    target = os.environ.get("DESK_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=True)


def _open(browser, url: str, width: int = 1366, locale: str = "zh-CN"):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url + "check/")
    page.wait_for_function("window.PermitDesk !== undefined")
    page.evaluate("PermitDesk.ready")
    return context, page


def _scan(page, text: str, kind: str) -> None:
    page.focus("#payload")
    page.keyboard.insert_text(text)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#result.{kind}", timeout=10_000)


# -- (a) the conformance kit ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kit_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit (a TUF repository: metadata/, targets/) with the check/ page beside it."""
    site = tmp_path_factory.mktemp("kit") / "site"
    shutil.copytree(KIT, site)
    write_desk(site)
    return site


def test_every_conformance_vector_gives_the_kits_verdict_reason_and_fields_in_the_page(browser, kit_site: Path) -> None:
    with static_server(kit_site) as url:
        context, page = _open(browser, url, locale="en-US")
        wrong = []
        for vector in MANIFEST["permit_vectors"]:
            synced, result = page.evaluate("""async ([v]) => {
                await PermitDesk.reset();
                const synced = v.load.at_epoch ? await PermitDesk.sync(v.load.at_epoch) : null;
                return [synced, await PermitDesk.check(v.payload, v.at_epoch)]; }""", [vector])
            if vector["load"]:
                assert synced["ok"], (vector["name"], synced)
                assert synced["held"]["trust_list_version"] == 2 and synced["held"]["status_lists"] == 1
            expected = vector["expected"]
            got = {"verdict": result["verdict"], "reason": result["reason"], "permit": result["permit"]}
            if got != expected:
                wrong.append((vector["name"], got, expected, result["detail"]))
        context.close()
    assert not wrong, wrong
    assert len(MANIFEST["permit_vectors"]) == 41


def test_trust_list_and_status_list_vectors_in_the_page(browser, kit_site: Path) -> None:
    """Loading a trust list over one held, and a status list, as the kit says (root.pem pins the signer)."""
    with static_server(kit_site) as url:
        context, page = _open(browser, url, locale="en-US")
        outcomes = page.evaluate("""async ([trustVectors, statusVectors]) => {
            const bytes = async (name) => new Uint8Array(await (await fetch("../" + name)).arrayBuffer());
            const pem = async (name) => {
              const text = new TextDecoder().decode(await bytes(name)).replace(/-----[A-Z ]+-----|\\s/g, "");
              return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); };
            const out = {};
            const outcome = async (run) => {
              try { await run(); return "OK"; } catch (e) { return e.reason || String(e); } };
            for (const v of trustVectors) {
              const root = [await pem(v.root)];
              const current = v.current
                ? await PermitVerify.trustList(await bytes(v.current), root, 0, null) : null;
              out[v.name] = await outcome(
                async () => PermitVerify.trustList(await bytes(v.trust_list), root, v.at_epoch, current));
            }
            for (const v of statusVectors) {
              const root = [await pem(v.root)];
              const trust = await PermitVerify.trustList(await bytes(v.trust_list), root, v.at_epoch, null);
              out[v.name] = await outcome(async () => PermitVerify.statusList(await bytes(v.status_list), trust, v.id));
            }
            return out; }""", [MANIFEST["trust_list_vectors"], MANIFEST["status_list_vectors"]])
        context.close()
    expected = {v["name"]: v["expected"] for v in MANIFEST["trust_list_vectors"] + MANIFEST["status_list_vectors"]}
    assert outcomes == expected


# -- (b) a registry's published page, end to end ------------------------------------------------------

def _issue(home: Path) -> tuple[dict[str, str], str, str]:
    """Operators, and a permit issued under four eyes: (tokens, number, the QR text)."""
    tokens = enrol(home)
    proposal = cli_run(home, tokens["clerk"], "issue", "--json", SAMPLE)
    assert proposal.exit_code == 0, proposal.output
    approved = cli_run(home, tokens["officer2"], "approve", proposal.stdout.strip())
    assert approved.exit_code == 0, approved.output
    number = approved.stdout.strip()
    db = store.open_store(home / "registry.db")
    row = store.one(db, "SELECT payload FROM cards WHERE number = ?", (number,))
    return tokens, number, payload_text(row["payload"])


def _revoke(home: Path, tokens: dict[str, str], number: str) -> None:
    proposal = cli_run(home, tokens["officer"], "revoke", number, "--reason", "fraud")
    assert proposal.exit_code == 0, proposal.output
    assert cli_run(home, tokens["officer2"], "approve", proposal.stdout.strip()).exit_code == 0


def _publish(home: Path, pub: Path) -> None:
    result = cli_run(home, None, "publish", "-o", str(pub))
    assert result.exit_code == 0, result.output


def test_publish_writes_the_desk_page_with_the_shared_catalog(registry_home: Path, tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    check = pub / "check"
    for name in ("index.html", "desk.js", "verify.js", "tuf.js", "cbor.js", "store.js", "sw.js",
                 "manifest.webmanifest", "desk.css"):
        assert (check / name).is_file(), name
    for locale in ("zh-CN", "en"):
        shipped = json.loads((check / "messages" / f"{locale}.json").read_text(encoding="utf-8"))
        assert shipped == json.loads((ROOT / "verifier" / "messages" / f"{locale}.json").read_text(encoding="utf-8"))
    manifest = json.loads((check / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"] == "外国人永久居留身份证核验" and manifest["start_url"] == "./"
    assert "__DESK_VERSION__" not in (check / "sw.js").read_text()
    assert not list(pub.glob(".check*"))  # nothing half-written left beside it


def test_service_worker_version_changes_with_the_page() -> None:
    """A desk picks up a new page on its next load: the worker's cache name is a digest of the files."""
    files = desk_files()
    version = files["sw.js"].split(b'const VERSION = "')[1][:16]
    assert len(version) == 16 and version != b"__DESK_VERSION__"[:16]
    assert desk_files()["sw.js"] == files["sw.js"]  # the same page: the same worker


def test_every_text_of_the_page_comes_from_the_catalog() -> None:
    from html.parser import HTMLParser

    catalog = json.loads((ROOT / "verifier" / "messages" / "zh-CN.json").read_text(encoding="utf-8"))
    page = desk_files()["index.html"].decode()
    literals: list[str] = []
    keys: list[str] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            for name, value in attrs:
                if name.startswith("data-i18n"):
                    keys.append(value)
                elif name in ("placeholder", "title", "aria-label", "alt"):
                    literals.append(f"{name}={value}")

        def handle_data(self, data: str) -> None:
            if data.strip():
                literals.append(data.strip())

    Reader().feed(page)
    assert literals == []
    assert keys and all(k in catalog for k in keys), [k for k in keys if k not in catalog]
    script = desk_files()["desk.js"].decode()
    import re

    used = set(re.findall(r'"((?:desk|page|verdict|action)\.[a-z_.]+)"', script))
    assert used and used <= catalog.keys(), used - catalog.keys()


def test_page_opened_once_works_offline_and_says_not_valid_after_a_revocation_and_sync(
        browser, registry_home: Path, tmp_path: Path) -> None:
    tokens, number, text = _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    with static_server(pub) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        context, page = _open(browser, url, 1366)  # a zh-CN browser
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.inner_text("h1") == "外国人永久居留身份证核验"
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        assert "信任列表第 1 版" in page.inner_text("#held")
    # the server is gone and the network is cut: the page opens from its service worker, checks from IndexedDB
    context.set_offline(True)
    page.reload()
    page.wait_for_function("window.PermitDesk !== undefined")
    page.evaluate("PermitDesk.ready")
    assert "离线" in page.inner_text("#network")
    assert page.evaluate("document.activeElement.id") == "payload"
    _scan(page, text, "valid")
    assert page.inner_text("#verdict") == "有效"
    assert page.inner_text("#message") == "证件真实有效。"
    assert "照片" in page.inner_text("#action")
    assert "核验时间" in page.inner_text("#checked-at") and "注销状态列表" in page.inner_text("#age")
    fields = page.inner_text("#fields")
    assert "SMITH" in fields and number in fields and "人才" in fields and "美国 (USA)" in fields
    assert page.input_value("#payload") == ""
    _keep(page, "desk-1366-offline-valid.png")

    _scan(page, text[:120], "rescan")  # a truncated scan
    assert page.inner_text("#verdict") == "无法读取：请重新扫描"
    assert page.evaluate("getComputedStyle(document.querySelector('#result')).borderTopColor") != "rgb(198, 40, 40)"
    assert page.inner_text("#fields") == ""
    _keep(page, "desk-1366-offline-rescan.png")

    _revoke(registry_home, tokens, number)
    _publish(registry_home, pub)
    context.set_offline(False)
    with static_server(pub, port=port):
        state = page.evaluate(SYNC, [None])
        assert state["ok"], state
    _scan(page, text, "invalid")
    assert page.inner_text("#verdict") == "无效"
    assert page.inner_text("#message") == "证件已被注销或终止。"
    assert page.inner_text("#fields") == ""  # no holder data on an invalid result
    assert "SMITH" not in page.inner_text("#result") and "2036" not in page.inner_text("#result")
    _keep(page, "desk-1366-revoked.png")
    page.click("button[data-lang=en]")
    page.wait_for_selector("html[lang=en]", state="attached")
    assert page.inner_text("#verdict") == "NOT VALID"
    context.close()


@pytest.mark.parametrize("width", [360, 390])
def test_phone_widths_never_scroll_sideways(browser, registry_home: Path, tmp_path: Path, width: int) -> None:
    _, _, text = _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    with static_server(pub) as url:
        context, page = _open(browser, url, width)
        assert wide(page), "the empty page scrolls sideways"
        _scan(page, text, "valid")
        assert wide(page), "the result scrolls sideways"
        box = page.evaluate("(() => { const r = document.querySelector('#fields').getBoundingClientRect();"
                            " return [r.left, r.right]; })()")
        assert box[0] >= 0 and box[1] <= width
        _keep(page, f"desk-{width}-valid.png")
        _scan(page, "PR1:NOT A PERMIT", "rescan")
        assert wide(page)
        _keep(page, f"desk-{width}-rescan.png")
        context.close()


# -- (c) attacks on the page's sync and checks, named after them -----------------------------------------

def _synced_page(browser, url: str):
    context, page = _open(browser, url, locale="en-US")
    assert page.evaluate("PermitDesk.sync()")["ok"]
    return context, page


def test_mirror_serving_an_older_timestamp_and_snapshot_is_refused(browser, registry_home: Path,
                                                                     tmp_path: Path) -> None:
    tokens, number, text = _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    old = tmp_path / "old-metadata"
    shutil.copytree(pub / "metadata", old)
    _revoke(registry_home, tokens, number)
    _publish(registry_home, pub)  # new targets, snapshot and timestamp
    with static_server(pub) as url:
        context, page = _synced_page(browser, url)
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
    _, _, text = _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    later = int(time.time()) + 25 * 3600  # the timestamp lives 24 hours, the status list 48
    with static_server(pub) as url:
        context, page = _synced_page(browser, url)
        state = page.evaluate(SYNC, [later])
        assert not state["ok"] and state["reason"] == "SYNC_FROZEN", state
        assert page.evaluate(CHECK, [text, later])["reason"] == "STATUS_STALE"
        context.close()


def test_tampered_trust_list_target_is_refused(browser, registry_home: Path, tmp_path: Path) -> None:
    _, _, text = _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    (target,) = (pub / "targets").glob("*.trust-list.cwt")
    data = bytearray(target.read_bytes())
    data[-1] ^= 0x01  # one bit of the signature: the same length, another hash
    target.write_bytes(bytes(data))
    with static_server(pub) as url:
        context, page = _open(browser, url, locale="en-US")
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_MIX_AND_MATCH", state
        assert page.evaluate(CHECK, [text, None])["reason"] == "NO_TRUST_LIST"  # nothing was stored
        context.close()


def test_metadata_signed_by_another_key_is_refused(browser, registry_home: Path, tmp_path: Path) -> None:
    """A mirror that re-signs the timestamp with a key root.json does not name for it."""
    _issue(registry_home)
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    timestamp = json.loads((pub / "metadata" / "timestamp.json").read_text())
    timestamp["signed"]["expires"] = "2099-01-01T00:00:00Z"  # the signature no longer covers what it says
    (pub / "metadata" / "timestamp.json").write_text(json.dumps(timestamp))
    with static_server(pub) as url:
        context, page = _open(browser, url, locale="en-US")
        state = page.evaluate(SYNC, [None])
        assert not state["ok"] and state["reason"] == "SYNC_BAD_SIGNATURE", state
        context.close()


def test_high_s_permit_is_refused_by_the_page(browser, registry_home: Path, tmp_path: Path) -> None:
    _, _, text = _issue(registry_home)
    raw = bytearray(base45.decode(text[4:]))
    s = int.from_bytes(raw[-32:], "big")
    raw[-32:] = (P256_ORDER - s).to_bytes(32, "big")  # (r, n - s) verifies too in plain ECDSA
    high_s = "PR1:" + base45.encode(bytes(raw))
    pub = tmp_path / "pub"
    _publish(registry_home, pub)
    with static_server(pub) as url:
        context, page = _synced_page(browser, url)
        assert page.evaluate(CHECK, [text, None])["reason"] == "VALID"
        result = page.evaluate(CHECK, [high_s, None])
        assert (result["verdict"], result["reason"]) == ("invalid", "BAD_SIGNATURE")
        _scan(page, high_s, "invalid")
        assert page.inner_text("#fields") == ""
        context.close()


def test_checks_per_second_in_headless_chromium(browser, kit_site: Path) -> None:
    """One valid permit checked in a loop in the page (signature, claims, status): the figure is printed."""
    vector = MANIFEST["permit_vectors"][0]
    with static_server(kit_site) as url:
        context, page = _open(browser, url, locale="en-US")
        rate = page.evaluate("""async ([v, n]) => {
            await PermitDesk.reset();
            await PermitDesk.sync(v.load.at_epoch);
            const held = await PermitStore.held();
            for (let i = 0; i < 200; i++) await PermitVerify.check(v.payload, held, v.at_epoch); // warm up
            const start = performance.now();
            for (let i = 0; i < n; i++) {
              const r = await PermitVerify.check(v.payload, held, v.at_epoch);
              if (r.reason !== "VALID") throw new Error(r.reason);
            }
            return n / ((performance.now() - start) / 1000); }""", [vector, 3000])
        context.close()
    print(f"\ndesk page: {rate:,.0f} checks per second (one ES256 permit, headless Chromium)")
    assert rate > 200
