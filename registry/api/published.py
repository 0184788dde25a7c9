"""The published TUF repository (metadata/*.json, targets/...) served from PUBLISH_DIR, for verifiers that
sync from the registry itself rather than from a CDN.

ETag: the SHA-256 of the file (strong), so If-None-Match answers 304 Not Modified. Cache-Control:
`timestamp.json` and `root.json` change in place and are `no-cache` (revalidated every time: a cached
timestamp would age every verifier's status); versioned metadata (`<n>.<role>.json`) and hash-prefixed
targets never change and are `immutable`. Only regular files inside PUBLISH_DIR are served: no `..`, no
hidden names (publish's temporary files start with a dot), no symlinks leading out, no directory listings.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Blueprint, Response, request

from keys.layout import METADATA_DIR, TARGETS_DIR
from registry.api.problems import not_found
from registry.api.state import app_state

bp = Blueprint("published", __name__, url_prefix="/published")

MEDIA_TYPES = {".cwt": "application/cwt", ".json": "application/json", ".pem": "application/x-pem-file"}
STATUS_MEDIA_TYPE = "application/statuslist+cwt"
IMMUTABLE_MAX_AGE = 365 * 86400
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
    if name.startswith(f"{TARGETS_DIR}/") or (name.startswith(f"{METADATA_DIR}/") and name.split("/")[-1][0].isdigit()):
        cache_control = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"  # named by version or by hash
    else:
        cache_control = "public, no-cache"
    mimetype = STATUS_MEDIA_TYPE if name.startswith(f"{TARGETS_DIR}/status/") and name.endswith(".cwt") else (
        MEDIA_TYPES.get(path.suffix, "application/octet-stream"))
    response = Response(data, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, signed data: browser verifiers may fetch it
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
