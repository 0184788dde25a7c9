"""The window desk's static page, published beside the TUF repository as `OUTDIR/check/`.

The page (HTML, JavaScript, a web app manifest and a service worker; no packages, no server of ours)
syncs `../metadata/` and `../targets/` with the TUF client workflow in the browser, keeps the last
verified trust material in IndexedDB and checks permits with WebCrypto, offline. `write_desk` copies it
with the message catalog shared with the Python verifier (`verifier/messages/`) and stamps the service
worker with a digest of the files, so a desk picks up a new page on its next load and works offline after.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from string import ascii_uppercase

from keys import countries
from keys.files import write_atomic

CHECK_DIR = "check"
STATIC = Path(__file__).resolve().parent / "static"
LOCALES = ("zh-CN", "en")
PAGE_FILES = ("index.html", "desk.css", "cbor.js", "verify.js", "tuf.js", "store.js", "desk.js", "icon.svg")
_VERSION_MARK = "__DESK_VERSION__"


def _messages_dir() -> Path:
    from verifier import i18n

    return Path(i18n.__file__).resolve().parent / "messages"


def country_names() -> dict[str, dict[str, str]]:
    """Every ISO 3166-1 alpha-3 code with its English name and, where pycountry's zh_CN catalog has one,
    its Chinese name: the card's nationality in the clerk's language, offline."""
    names: dict[str, dict[str, str]] = {}
    for code in (a + b + c for a in ascii_uppercase for b in ascii_uppercase for c in ascii_uppercase):
        if countries.is_alpha3(code):
            names[code] = {"en": countries.country_name(code)}
            chinese = countries.country_name_zh(code)
            if chinese:
                names[code]["zh-CN"] = chinese
    return names


def desk_files() -> dict[str, bytes]:
    """Every file of `check/` (relative path -> bytes), the service worker stamped with their digest."""
    files = {name: (STATIC / name).read_bytes() for name in PAGE_FILES}
    catalogs = {locale: json.loads((_messages_dir() / f"{locale}.json").read_text(encoding="utf-8"))
                for locale in LOCALES}
    for locale, catalog in catalogs.items():
        files[f"messages/{locale}.json"] = json.dumps(catalog, ensure_ascii=False, sort_keys=True, indent=0).encode()
    files["messages/countries.json"] = json.dumps(country_names(), ensure_ascii=False, sort_keys=True).encode()
    zh = catalogs["zh-CN"]
    manifest = {"name": zh["page.title"], "short_name": zh["desk.short_name"], "lang": "zh-CN", "start_url": "./",
                "scope": "./", "display": "standalone", "background_color": "#f4f5f2", "theme_color": "#1f3b4d",
                "icons": [{"src": "icon.svg", "sizes": "any", "type": "image/svg+xml"}]}
    files["manifest.webmanifest"] = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    worker = (STATIC / "sw.js").read_text(encoding="utf-8").replace(_VERSION_MARK, digest.hexdigest()[:16])
    files["sw.js"] = worker.encode()
    return files


def write_desk(outdir: Path) -> Path:
    """Write OUTDIR/check/: built whole in a sibling directory, then swapped in, so a static server never
    serves half a page (an old page stays until the new one is complete). Returns the directory."""
    files = desk_files()
    target = outdir / CHECK_DIR
    staging = outdir / f".{CHECK_DIR}.staging"
    old = outdir / f".{CHECK_DIR}.old"
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    for name, data in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target
