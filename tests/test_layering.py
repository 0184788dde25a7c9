"""The direction of imports: registry -> verifier -> keys. A bank installs the verifier alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"keys": {"verifier", "registry"}, "verifier": {"registry"}}
REGISTRY_ONLY = {"sqlite_utils", "qrcode", "reportlab"}
SERVER_ONLY = {"flask", "gunicorn"}


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found.update((str(path.relative_to(ROOT)), n.split(".")[0]) for n in names)
    return found


@pytest.mark.parametrize("package", ["keys", "verifier"])
def test_no_upward_imports(package: str) -> None:
    bad = {(f, m) for f, m in _imports(package) if m in FORBIDDEN[package] | REGISTRY_ONLY}
    assert bad == set()


def test_verifier_core_needs_no_server_packages() -> None:
    bad = {(f, m) for f, m in _imports("verifier") if m in SERVER_ONLY and "server" not in f and "web" not in f}
    assert bad == set()


def test_verifier_runs_with_registry_packages_blocked() -> None:
    """Import the verifier in a fresh interpreter where the registry and its dependencies cannot load."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {sorted(REGISTRY_ONLY | SERVER_ONLY | {'registry'})!r}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import verifier.check, verifier.cli, verifier.cache, verifier.scan, keys.keystore\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_a_batch_check_starts_without_what_only_other_commands_need(tmp_path: Path) -> None:
    """`verifier check -` pays its start-up once per batch: it must not load the log commands and their HTTP
    client, the holdings report, sync bookkeeping or server code, nor multiprocessing for one job."""
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print(' '.join(sorted(sys.modules))))\n"
        f"sys.argv = ['verifier', '--cache', {str(tmp_path)!r}, 'check', '-', '--jobs', '1']\n"
        "runpy.run_module('verifier.cli', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input="", capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    loaded = set(proc.stdout.split())
    assert proc.returncode == 0 and "verifier.check" in loaded, proc.stderr
    heavy = {"verifier.log_cli", "verifier.logsync", "verifier.logclient", "verifier.holdings", "verifier.syncfailures",
             "verifier.server", "verifier.workers", "multiprocessing", "urllib.request", "http.client", "flask"}
    assert loaded & heavy == set()
