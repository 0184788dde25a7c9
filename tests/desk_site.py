"""Helpers for the desk page's browser tests: a static server on 127.0.0.1, Debian's Chromium, and an office
that issues, revokes and publishes through its command line."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from office_adapters import cli_run, enrol

from registry import store
from registry.issuance import payload_text

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "samples" / "smith-john.json")
SYNC = "async ([at]) => PermitDesk.sync(at === null ? undefined : at)"
CHECK = "async ([text, at]) => PermitDesk.check(text, at === null ? undefined : at)"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript", ".webmanifest": "application/manifest+json", ".json": "application/json"}

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_server(directory: Path, port: int = 0) -> Iterator[str]:
    """Any static web server will do: Python's, on 127.0.0.1 and a free port (or `port`, to come back on
    the same origin after it was stopped). Yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def wide(page: object) -> bool:
    """Whether the page fits its viewport without sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # type: ignore[attr-defined]


def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (each test module makes it its `browser` fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def keep(page, name: str) -> None:
    target = os.environ.get("DESK_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=True)


def open_page(browser, url: str, width: int = 1366, locale: str = "zh-CN"):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url + "check/")
    page.wait_for_function("window.PermitDesk !== undefined")
    page.evaluate("PermitDesk.ready")
    return context, page


def scan(page, text: str, kind: str) -> None:
    page.focus("#payload")
    page.keyboard.insert_text(text)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#result.{kind}", timeout=10_000)


def issue(home: Path) -> tuple[dict[str, str], str, str]:
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


def revoke(home: Path, tokens: dict[str, str], number: str) -> None:
    proposal = cli_run(home, tokens["officer"], "revoke", number, "--reason", "fraud")
    assert proposal.exit_code == 0, proposal.output
    assert cli_run(home, tokens["officer2"], "approve", proposal.stdout.strip()).exit_code == 0


def publish_to(home: Path, pub: Path) -> None:
    result = cli_run(home, None, "publish", "-o", str(pub))
    assert result.exit_code == 0, result.output


def synced_page(browser, url: str):
    context, page = open_page(browser, url, locale="en-US")
    assert page.evaluate("PermitDesk.sync()")["ok"]
    return context, page
