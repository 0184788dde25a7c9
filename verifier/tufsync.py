"""Reading a published TUF repository: where the bytes come from, and what python-tuf's refusals mean.

I/O only: a fetcher for http(s) URLs (python-tuf's urllib3 fetcher) and one for a local directory (a USB
stick) that refuses anything outside SOURCE: absolute paths, `..`, and symlinks that lead out. The
trust rules (rollback, freeze, mix-and-match, endless data, signatures, root rotation) are python-tuf's
ngclient; `explain` turns each of its refusals into a SyncError with our reason code.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.ngclient import FetcherInterface, UpdaterConfig
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from keys.errors import Cause, Reason, SyncError

LOCAL_BASE = "local:/"
FETCH_TIMEOUT = 15
CHUNK = 1024 * 1024
CONFIG = UpdaterConfig(
    max_root_rotations=64,
    root_max_length=256 * 1024,
    timestamp_max_length=16 * 1024,
    snapshot_max_length=64 * 1024,
    targets_max_length=2 * 1024 * 1024,  # ~10,000 targets; a list "listed 30,000 times" never gets this far
)


class DirectoryFetcher(FetcherInterface):
    """Serves `local:/<relative path>` from one directory and nothing outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def resolve(self, url: str) -> Path:
        if not url.startswith(LOCAL_BASE):
            raise SyncError(f"refusing {url[:200]!r}: not a file of the source directory", Reason.SYNC_PATH_REFUSED)
        name = urllib.parse.unquote(url[len(LOCAL_BASE):])
        parts = name.split("/")
        if (not name or name.startswith("/") or "\\" in name or "\0" in name or ":" in parts[0]
                or any(p in ("", ".", "..") for p in parts)):
            raise SyncError(f"refusing the path {name[:200]!r}: it leaves the source directory",
                            Reason.SYNC_PATH_REFUSED)
        path = self.root.joinpath(*parts)
        real = path.resolve()
        if not real.is_relative_to(self.root):
            raise SyncError(f"refusing {name[:200]!r}: a link leads outside the source directory",
                            Reason.SYNC_PATH_REFUSED)
        return real

    def _fetch(self, url: str) -> Iterator[bytes]:
        path = self.resolve(url)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise tuf_errors.DownloadHTTPError(f"{url} not found", 404) from None
        except IsADirectoryError:
            raise tuf_errors.DownloadHTTPError(f"{url} is a directory", 404) from None

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return chunks()


def source(source_text: str) -> tuple[FetcherInterface, str]:
    """The fetcher and base URL for SOURCE: an http(s) URL, or a directory (a `file://` URL names one)."""
    parsed = urllib.parse.urlparse(source_text)
    if parsed.scheme in ("http", "https"):
        base = source_text if source_text.endswith("/") else source_text + "/"
        return Urllib3Fetcher(socket_timeout=FETCH_TIMEOUT, app_user_agent="permit-verifier"), base
    if parsed.scheme not in ("", "file"):
        raise SyncError(f"unsupported source {source_text[:200]!r}: give a directory or an http(s) URL", Reason.USAGE,
                        cause=Cause.USAGE)
    directory = Path(parsed.path if parsed.scheme == "file" else source_text)
    try:
        is_dir = directory.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise SyncError(f"{str(directory)[:200]} is not a directory or an http(s) URL", Reason.USAGE, cause=Cause.USAGE)
    return DirectoryFetcher(directory), LOCAL_BASE


def explain(exc: Exception, where: str) -> SyncError:
    """python-tuf's refusal as a SyncError with our reason and words (the cache is kept as it was)."""
    if isinstance(exc, SyncError):
        return exc
    cause = exc.__cause__ if isinstance(exc, tuf_errors.DownloadError) else None
    if isinstance(cause, SyncError):
        return cause
    text = str(exc)[:300]
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return SyncError(f"{where} offers metadata older than what this verifier already holds, or metadata "
                         f"that does not match the signed snapshot (a rollback): {text}", Reason.SYNC_ROLLBACK)
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        return SyncError(f"{where} serves expired metadata: the source has stopped being updated (a frozen "
                         f"mirror) or this machine's clock is wrong: {text}", Reason.SYNC_FROZEN)
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        return SyncError(f"a file at {where} is not the one the signed metadata lists (files mixed from "
                         f"different publications, or tampered with): {text}", Reason.SYNC_MIX_AND_MATCH)
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return SyncError(f"metadata at {where} is not signed by the keys this verifier trusts: {text}",
                         Reason.SYNC_BAD_SIGNATURE)
    if isinstance(exc, tuf_errors.DownloadLengthMismatchError):
        return SyncError(f"{where} sent more data than the signed metadata allows (endless data): {text}",
                         Reason.SYNC_TOO_LARGE)
    if isinstance(exc, tuf_errors.DownloadHTTPError):
        return SyncError(f"{where} does not have a file the signed metadata needs "
                         f"(HTTP {exc.status_code}): {text}", Reason.SYNC_UNAVAILABLE)
    if isinstance(exc, tuf_errors.DownloadError):
        return SyncError(f"cannot download from {where}: {text}", Reason.SYNC_UNAVAILABLE)
    if isinstance(exc, tuf_errors.RepositoryError):
        return SyncError(f"{where} serves invalid metadata: {text}", Reason.SYNC_INVALID)
    if isinstance(exc, OSError):
        return SyncError(f"cannot write the verifier's metadata: {os.strerror(exc.errno or 0)}", Reason.USAGE,
                         cause=Cause.STORAGE)
    return SyncError(f"{where} serves invalid metadata: {type(exc).__name__}: {text}", Reason.SYNC_INVALID)
