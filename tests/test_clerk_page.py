"""The clerk's page in a real headless Chromium (Debian's package, driven by Playwright): a handheld
scanner types the payload and Enter into the focused box, and the page shows the verdict in the browser's
language (Chinese first), never a red NOT VALID for a misread, and fits a 360 px phone.

Set CLERK_SCREENSHOTS=DIR to keep the screenshots (1366 px and 390 px wide)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Issuer, make_permit
from test_server import _cache, _free_port

from verifier.server import orgs

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
REVOKED_INDEX = 77

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason="Chromium is not installed here (scripts/setup installs it)")


@pytest.fixture
def desk(issuer: Issuer, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real gunicorn verifier on 127.0.0.1 whose status list revokes index 77; a bank's key."""
    now = int(time.time())
    cache = _cache(issuer, tmp_path, revoked=[REVOKED_INDEX], now=now)
    key = orgs.add_org(orgs.connect(cache.dir), "Desk bank", "bank", now)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache.dir), "serve", "--port",
                             str(port), "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    yield url, key
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, url: str, key: str, width: int, locale: str = "zh-CN"):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#verdict:not(:empty)")  # the catalog has loaded
    page.fill("#api-key", key)
    page.click("#key-form button")
    return page


def _scan(page, text: str, kind: str) -> None:
    page.keyboard.type(text, delay=0)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#result.{kind}", timeout=10_000)


def _keep(path: Path) -> None:
    if os.environ.get("CLERK_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["CLERK_SCREENSHOTS"]) / path.name)


def test_zh_cn_browser_gets_chinese_verdicts_and_a_misread_is_not_red(desk, browser, issuer: Issuer,
                                                                      tmp_path: Path) -> None:
    url, key = desk
    page = _open(browser, url, key, 1366)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("h1") == "外国人永久居留身份证核验"
    assert page.evaluate("document.activeElement.id") == "payload"  # focus returns to the scanner box

    _scan(page, issuer.sign(), "valid")
    assert page.inner_text("#verdict") == "有效"
    assert page.inner_text("#message") == "证件真实有效。"
    assert "照片" in page.inner_text("#action")  # compare with the photo and the person
    assert "核验时间" in page.inner_text("#checked-at") and "注销状态列表" in page.inner_text("#age")
    assert "信任列表" in page.inner_text("#trust")
    fields = page.inner_text("#fields")
    assert "SMITH" in fields and "史密斯" in fields and "人才" in fields
    assert page.input_value("#payload") == ""  # ready for the next scan
    page.screenshot(path=str(tmp_path / "clerk-1366-valid.png"), full_page=True)
    _keep(tmp_path / "clerk-1366-valid.png")

    _scan(page, issuer.sign()[:120], "rescan")  # a truncated scan
    assert page.inner_text("#verdict") == "无法读取：请重新扫描"
    colour = page.evaluate("getComputedStyle(document.querySelector('#result')).borderTopColor")
    assert colour != "rgb(198, 40, 40)"  # never the red of NOT VALID
    page.screenshot(path=str(tmp_path / "clerk-1366-rescan.png"), full_page=True)
    _keep(tmp_path / "clerk-1366-rescan.png")

    _scan(page, "hello, this is not a permit", "rescan")

    _scan(page, issuer.sign(make_permit(status_index=REVOKED_INDEX)), "invalid")
    assert page.inner_text("#verdict") == "无效"
    assert page.inner_text("#fields") == ""  # no holder data, no "valid until", on a revoked permit
    assert "SMITH" not in page.inner_text("#result") and "2036" not in page.inner_text("#result")
    page.screenshot(path=str(tmp_path / "clerk-1366-revoked.png"), full_page=True)
    _keep(tmp_path / "clerk-1366-revoked.png")

    page.click("button[data-lang=en]")  # the switch, kept for the next visit
    page.wait_for_selector("html[lang=en]", state="attached")
    assert page.inner_text("#verdict") == "NOT VALID"
    page.reload()
    page.wait_for_selector("h1:text-is('Permanent-residence permit check')")


def test_caps_lock_and_scanner_line_endings_still_read(desk, browser, issuer: Issuer) -> None:
    url, key = desk
    page = _open(browser, url, key, 1100, locale="en-US")
    _scan(page, issuer.sign().lower(), "valid")  # Caps Lock on: the scanner types lower case
    assert page.inner_text("#verdict") == "VALID"
    first = page.inner_text("#checked-at")
    assert first.startswith("Checked at ")
    page.wait_for_timeout(1100)
    # the same permit again, as a scanner that ends lines with CR LF and a tab sends it
    page.evaluate("""([text]) => { document.querySelector('#payload').value = text;
                     document.querySelector('#scan-form').requestSubmit(); }""", [" " + issuer.sign() + "\r\n\t"])
    for _ in range(100):  # a new time on the screen: a re-scan never leaves an identical screen
        if page.inner_text("#checked-at") != first:
            break
        page.wait_for_timeout(50)
    assert page.inner_text("#checked-at") != first
    assert page.inner_text("#verdict") == "VALID"


@pytest.mark.parametrize("width", [360, 390])
def test_phone_widths_never_scroll_sideways(desk, browser, issuer: Issuer, tmp_path: Path, width: int) -> None:
    url, key = desk
    page = _open(browser, url, key, width)
    wide = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(wide), "the empty page scrolls sideways"
    long_name = make_permit(surname="WOLFESCHLEGELSTEINHAUSENBERGERDORFF", given_names="HUBERT BLAINE CHARLES")
    _scan(page, issuer.sign(long_name), "valid")
    assert page.evaluate(wide), "the result scrolls sideways"
    box = page.evaluate("(() => { const r = document.querySelector('#fields').getBoundingClientRect();"
                        " return [r.left, r.right]; })()")
    assert box[0] >= 0 and box[1] <= width  # the permit number and names stay on screen
    page.screenshot(path=str(tmp_path / f"clerk-{width}-valid.png"), full_page=True)
    _keep(tmp_path / f"clerk-{width}-valid.png")
    _scan(page, "PR1:NOT A PERMIT", "rescan")
    assert page.evaluate(wide)
    page.screenshot(path=str(tmp_path / f"clerk-{width}-rescan.png"), full_page=True)
    _keep(tmp_path / f"clerk-{width}-rescan.png")
