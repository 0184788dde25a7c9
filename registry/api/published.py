"""The published files (root.pem, trust-list.cwt, index.json, status/<id>.cwt) served from PUBLISH_DIR, for
verifiers that sync from the registry itself rather than from a CDN.

ETag: the SHA-256 of the file (strong), so If-None-Match answers 304 Not Modified. Cache-Control: public,
max-age = the status ttl (Config.status_ttl) for index.json and the status lists, PUBLISHED_LONG_MAX_AGE for
trust-list.cwt and root.pem. Only regular files inside PUBLISH_DIR are served: no `..`, no hidden names
(publish's temporary files start with a dot), no symlinks leading out, no directory listings.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from registry.api.problems import not_found
from registry.api.state import app_state
from registry.publish import INDEX_FILE, ROOT_FILE, TRUST_FILE

bp = Blueprint("published", __name__, url_prefix="/published")

MEDIA_TYPES = {".cwt": "application/cwt", ".json": "application/json", ".pem": "application/x-pem-file"}
STATUS_MEDIA_TYPE = "application/statuslist+cwt"
# path -> (inode, size, mtime_ns, etag): publish replaces files by rename, so a new file has a new inode.
_etags: dict[str, tuple[int, int, int, str]] = {}


def _resolve(name: str) -> Path | None:
    parts = name.split("/")
    if not name or "\\" in name or "\0" in name or any(not p or p.startswith(".") for p in parts):
        return None
    root = app_state().publish_dir.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def _read(path: Path) -> tuple[bytes, str]:
    """The file's bytes and its ETag (recomputed only when the file was replaced). The stat and the read are
    of the same open file, so a publish replacing it meanwhile cannot pair old bytes with a new ETag."""
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        data = f.read()
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _etags.get(str(path))
    if cached is not None and cached[:3] == stamp:
        return data, cached[3]
    etag = hashlib.sha256(data).hexdigest()
    _etags[str(path)] = (*stamp, etag)
    return data, etag


@bp.get("/<path:name>")
def published(name: str) -> Response:
    path = _resolve(name)
    if path is None:
        raise not_found("No such published file.")
    data, etag = _read(path)
    if name in (TRUST_FILE, ROOT_FILE):
        max_age = int(current_app.config["PUBLISHED_LONG_MAX_AGE"])
    else:
        max_age = app_state().home.config().status_ttl
    mimetype = STATUS_MEDIA_TYPE if name.startswith("status/") and name.endswith(".cwt") else (
        MEDIA_TYPES.get(path.suffix, "application/octet-stream"))
    if name == INDEX_FILE:
        mimetype = "application/json"
    response = Response(data, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, signed data: browser verifiers may fetch it
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
