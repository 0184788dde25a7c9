"""A real registry admin API (gunicorn, two workers) on 127.0.0.1 for tests: `registry serve` as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import REGISTRY_PASSPHRASE
from test_registry_api import SERVE, _free_port, _http


@contextmanager
def serve_registry(home: Path, log_path: Path, *options: str) -> Iterator[str]:
    """Serve HOME; yields the base URL; on exit, SIGTERM and a clean exit (status 0) are required."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, "--home", str(home), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2", *options], stdout=log,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "PERMIT_REGISTRY_PASSPHRASE": REGISTRY_PASSPHRASE})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _http("GET", f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=20) == 0, log_path.read_text()[-2000:]
        finally:
            if proc.poll() is None:
                proc.kill()
