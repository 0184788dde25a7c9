"""The clerk's page in a real headless Chromium (Debian's package, driven by Playwright): a handheld
scanner types the payload and Enter into the focused box, and the page shows the verdict."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import Issuer, make_permit
from test_server import live_server  # noqa: F401 - the real gunicorn fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason="Chromium is not installed here (scripts/setup installs it)")


def test_scanner_typing_shows_the_verdict(live_server, issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, keys, _, _ = live_server
    key = keys["hotel"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        page.goto(url + "/")
        page.fill("#api-key", key)
        page.click("#key-form button")
        assert page.evaluate("document.activeElement.id") == "payload"  # focus returns to the scanner box

        page.keyboard.type(issuer.sign(), delay=0)
        page.keyboard.press("Enter")
        page.wait_for_selector("#result.valid", timeout=10_000)
        assert page.inner_text("#verdict") == "VALID"
        assert "genuine" in page.inner_text("#message")
        assert page.input_value("#payload") == ""  # ready for the next scan
        fields = page.inner_text("#fields")
        assert "SMITH" in fields and "USA" in fields and "Category" not in fields  # the hotel sector's fields
        page.screenshot(path=str(tmp_path / "clerk-valid.png"))

        page.keyboard.type(issuer.sign(make_permit(status_list=5)), delay=0)  # a list this verifier lacks
        page.keyboard.press("Enter")
        page.wait_for_selector("#result.indeterminate", timeout=10_000)
        assert page.inner_text("#verdict") == "CANNOT CONFIRM"

        page.keyboard.type("PR1:NOT A PERMIT", delay=0)
        page.keyboard.press("Enter")
        page.wait_for_selector("#result.invalid", timeout=10_000)
        assert page.inner_text("#verdict") == "NOT VALID"
        page.screenshot(path=str(tmp_path / "clerk-invalid.png"))
        if os.environ.get("CLERK_SCREENSHOTS"):
            for name in ("clerk-valid.png", "clerk-invalid.png"):
                shutil.copy(tmp_path / name, Path(os.environ["CLERK_SCREENSHOTS"]) / name)
        browser.close()
