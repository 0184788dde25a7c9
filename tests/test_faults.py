"""Faults: a verifier killed mid-sync keeps its previous cache; a publish killed at any moment leaves
only whole, signed files for verifiers to fetch."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from office_adapters import run_registry

from keys.errors import PermitError
from verifier.cache import Cache

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PERMIT_REGISTRY_PASSPHRASE": "correct horse battery staple"}


def registry(*args: str) -> subprocess.CompletedProcess[str]:
    proc = run_registry(list(args), ENV, ROOT)  # as an enrolled officer, with a second one approving
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("office")
    home, pub = base / "home", base / "pub"
    registry("--home", str(home), "init")
    registry("--home", str(home), "issue", "--json", str(ROOT / "samples" / "smith-john.json"))
    registry("--home", str(home), "publish", "-o", str(pub))
    return home, pub


class _StallingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the published files, but sends only half of each target file (trust list, status lists) and
    then hangs."""

    stall = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if "/targets/" not in self.path:
            return super().do_GET()
        data = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.stall.wait(30)


def test_sync_killed_mid_download_keeps_the_previous_cache(published: tuple[Path, Path], tmp_path: Path) -> None:
    home, pub = published
    cache_dir = tmp_path / "cache"
    cache = Cache(cache_dir)
    cache.sync(str(pub), int(time.time()), (pub / "metadata" / "root.json").read_bytes())
    before, trust_before = cache.generation(), cache.trust_list_bytes()

    registry("--home", str(home), "keys", "rotate")  # something new to sync
    registry("--home", str(home), "publish", "-o", str(pub))
    handler = lambda *a, **kw: _StallingHandler(*a, directory=str(pub), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "sync", url],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.0)  # it has the metadata, and hangs inside the new trust list
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        _StallingHandler.stall.set()
        server.shutdown()
        server.server_close()
    assert cache.generation() == before and cache.trust_list_bytes() == trust_before
    assert cache.status_lookup() is not None and cache.status_lists(cache.trust_list())
    cache.sync(str(pub), int(time.time()))  # the next sync completes and cleans up
    assert cache.generation() != before
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5])
def test_publish_killed_at_any_moment_leaves_whole_files(published: tuple[Path, Path], tmp_path: Path,
                                                         delay: float) -> None:
    home, pub = published
    registry("--home", str(home), "keys", "rotate")  # forces a new trust list to be signed
    proc = subprocess.Popen([sys.executable, "-m", "registry.cli", "--home", str(home), "publish", "-o", str(pub)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    cache = Cache(tmp_path / f"cache-{delay}")
    try:
        # every published file is whole and signed
        cache.sync(str(pub), int(time.time()), (pub / "metadata" / "root.json").read_bytes())
    except PermitError as exc:  # only a rollback-free, consistent refusal is acceptable: none is expected
        pytest.fail(f"a killed publish left something a verifier refuses: {exc}")
    registry("--home", str(home), "publish", "-o", str(pub))  # the next publish completes and cleans up
    assert not [p for p in [*pub.rglob("*"), *(home / "published").rglob("*")] if p.name.endswith(".tmp")]
