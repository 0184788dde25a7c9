"""The published desk page, `OUTDIR/check/`, in a real headless Chromium (Debian's, driven by Playwright):
every conformance vector checked by the page's own JavaScript, a registry's page opened once and then used
with the network cut, a revocation seen after a sync, and the page's speed. Attacks: test_desk_attacks.py.

Screenshots (1366 px and 390 px wide) go to $DESK_SCREENSHOTS when it is set."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_site import (
    CHROMIUM,
    SYNC,
    chromium,
    issue,
    keep,
    open_page,
    publish_to,
    revoke,
    scan,
    static_server,
    wide,
)

from registry.desk import desk_files, write_desk

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "docs" / "test-vectors"
MANIFEST = json.loads((KIT / "vectors.json").read_text())

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason="Chromium is not installed here (scripts/setup installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


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
        context, page = open_page(browser, url, locale="en-US")
        wrong, checked = [], 0
        for vector in MANIFEST["permit_vectors"]:
            checked += 1
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
    assert checked == len(MANIFEST["permit_vectors"]) > 40


def test_trust_list_and_status_list_vectors_in_the_page(browser, kit_site: Path) -> None:
    """Loading a trust list over one held, and a status list, as the kit says (root.pem pins the signer)."""
    with static_server(kit_site) as url:
        context, page = open_page(browser, url, locale="en-US")
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

def test_publish_writes_the_desk_page_with_the_shared_catalog(registry_home: Path, tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
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
    tokens, number, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    with static_server(pub) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        context, page = open_page(browser, url, 1366)  # a zh-CN browser
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
    scan(page, text, "valid")
    assert page.inner_text("#verdict") == "有效"
    assert page.inner_text("#message") == "证件真实有效。"
    assert "照片" in page.inner_text("#action")
    assert "核验时间" in page.inner_text("#checked-at") and "注销状态列表" in page.inner_text("#age")
    fields = page.inner_text("#fields")
    assert "SMITH" in fields and number in fields and "人才" in fields and "美国 (USA)" in fields
    assert page.input_value("#payload") == ""
    keep(page, "desk-1366-offline-valid.png")

    scan(page, " " + text.lower(), "valid")  # Caps Lock on and a stray space: still read
    scan(page, text[:120], "rescan")  # a truncated scan
    assert page.inner_text("#verdict") == "无法读取：请重新扫描"
    assert page.evaluate("getComputedStyle(document.querySelector('#result')).borderTopColor") != "rgb(198, 40, 40)"
    assert page.inner_text("#fields") == ""
    keep(page, "desk-1366-offline-rescan.png")

    revoke(registry_home, tokens, number)
    publish_to(registry_home, pub)
    context.set_offline(False)
    with static_server(pub, port=port):
        state = page.evaluate(SYNC, [None])
        assert state["ok"], state
    scan(page, text, "invalid")
    assert page.inner_text("#verdict") == "无效"
    assert page.inner_text("#message") == "证件已被注销或终止。"
    assert page.inner_text("#fields") == ""  # no holder data on an invalid result
    assert "SMITH" not in page.inner_text("#result") and "2036" not in page.inner_text("#result")
    keep(page, "desk-1366-revoked.png")
    page.click("button[data-lang=en]")
    page.wait_for_selector("html[lang=en]", state="attached")
    assert page.inner_text("#verdict") == "NOT VALID"
    context.close()


@pytest.mark.parametrize("width", [360, 390])
def test_phone_widths_never_scroll_sideways(browser, registry_home: Path, tmp_path: Path, width: int) -> None:
    _, _, text = issue(registry_home)
    pub = tmp_path / "pub"
    publish_to(registry_home, pub)
    with static_server(pub) as url:
        context, page = open_page(browser, url, width)
        assert wide(page), "the empty page scrolls sideways"
        scan(page, text, "valid")
        assert wide(page), "the result scrolls sideways"
        box = page.evaluate("(() => { const r = document.querySelector('#fields').getBoundingClientRect();"
                            " return [r.left, r.right]; })()")
        assert box[0] >= 0 and box[1] <= width
        keep(page, f"desk-{width}-valid.png")
        page.click("#sync")  # a click anywhere gives the focus back to the scanner's box
        page.wait_for_function("document.activeElement.id === 'payload'")
        scan(page, "PR1:NOT A PERMIT", "rescan")
        assert wide(page)
        keep(page, f"desk-{width}-rescan.png")
        context.close()



def test_checks_per_second_in_headless_chromium(browser, kit_site: Path) -> None:
    """One valid permit checked in a loop in the page (signature, claims, status): the figure is printed."""
    vector = MANIFEST["permit_vectors"][0]
    with static_server(kit_site) as url:
        context, page = open_page(browser, url, locale="en-US")
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


def test_page_matches_the_python_verifier_on_odd_inputs(browser, kit_site: Path, tmp_path: Path) -> None:
    """Inputs beyond the kit, through `verifier check`'s code and the page, synced from the same kit at the
    same clock: the same verdict and reason for each (white space as Python strips it, case, prefixes,
    lengths, single bytes changed anywhere in the COSE bytes)."""
    from keys import base45 as b45
    from verifier.cache import Cache
    from verifier.check import check

    valid = MANIFEST["permit_vectors"][0]
    at = valid["at_epoch"]
    body = b45.decode(valid["payload"][4:])
    inputs = [valid["payload"] + "\x1d", "\u3000" + valid["payload"], valid["payload"] + "\ufeff",
              valid["payload"].lower(), "PR1:", "PR1", "PR12:ABC", "pr1:" + valid["payload"][4:], "",
              valid["payload"] + "0", valid["payload"] + " " * 3000, "PR1:" + "0" * 3390]
    for i in range(0, len(body), 7):  # one byte changed in each place: header, claims, signature
        changed = bytearray(body)
        changed[i] ^= 0x40
        inputs.append("PR1:" + b45.encode(bytes(changed)))
    cache = Cache(tmp_path / "cache")
    cache.sync(str(kit_site), at, (kit_site / "metadata" / "root.json").read_bytes())
    python = [check(text, cache.trust_list(), at, cache.status_lookup()).reason.value for text in inputs]
    with static_server(kit_site) as url:
        context, page = open_page(browser, url, locale="en-US")
        page.evaluate(SYNC, [at])
        browser_reasons = page.evaluate("""async ([inputs, at]) => {
            const out = [];
            for (const text of inputs) out.push((await PermitDesk.check(text, at)).reason);
            return out; }""", [inputs, at])
        context.close()
    assert browser_reasons == python
    assert {"VALID", "MALFORMED", "UNSUPPORTED_VERSION", "BAD_SIGNATURE"} <= set(python)
