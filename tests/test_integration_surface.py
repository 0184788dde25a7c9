"""What integrators meet first: the one-call library (the README's section runs here), the exit codes of
both command lines, batch answers that name their line, --version and --help, and a code base without
import cycles whose offline check loads no server code. Runs in a verifier-only venv too."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "docs" / "test-vectors"
VECTORS = json.loads((KIT / "vectors.json").read_text())["permit_vectors"]
AT = VECTORS[0]["at"]
VALID = next(v["payload"] for v in VECTORS if v["expected"]["reason"] == "VALID")
UNKNOWN_KEY = next(v["payload"] for v in VECTORS if v["expected"]["reason"] == "UNKNOWN_KEY")
REGISTRY_ONLY = ["sqlite_utils", "qrcode", "reportlab", "pycountry"]


def verifier(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verifier.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache synced from the conformance kit (a real TUF repository)."""
    directory = tmp_path_factory.mktemp("bank")
    proc = verifier("--cache", str(directory), "sync", str(KIT), "--root", str(KIT / "metadata" / "root.json"),
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["trust_list_version"] >= 1
    return directory


def test_readme_integration_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = (ROOT / "README.md").read_text().split("### Integrating from code")[1].split("\n### ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) >= 2
    shutil.copytree(KIT, tmp_path / "public")
    shutil.copy(KIT / VECTORS[0]["qr"], tmp_path / "permit.png")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "bank" / "current").is_symlink()


def test_library_takes_str_or_path_and_raises_one_family(tmp_path: Path, cache: Path) -> None:
    from verifier import Verifier, VerifierError

    for where in (str(cache), cache):
        assert Verifier(where).check(VALID, at=AT).valid
    assert Verifier(cache).check("garbage").reason == "MALFORMED"  # a bad permit is a Result
    with pytest.raises(VerifierError) as missing:
        Verifier(cache).check(tmp_path / "no-such.png")
    assert missing.value.cause == "storage"
    with pytest.raises(VerifierError) as unpinned:
        Verifier(tmp_path / "new").sync(KIT)
    assert unpinned.value.reason == "ROOT_NOT_PINNED"


def test_library_reports_a_corrupt_cache_as_an_operational_fault(tmp_path: Path, cache: Path) -> None:
    from verifier import Verifier, VerifierError

    broken = _broken_copy(cache, tmp_path)
    with pytest.raises(VerifierError) as info:
        Verifier(broken).check(VALID)
    assert info.value.cause == "storage"


def _broken_copy(cache: Path, tmp_path: Path) -> Path:
    broken = tmp_path / "broken"
    shutil.copytree(cache, broken, symlinks=True)
    (broken / "current" / "trust-list.cwt").write_bytes(b"\x00corrupt")
    return broken


def test_every_check_exit_code(tmp_path: Path, cache: Path) -> None:
    c = ["--cache", str(cache)]
    assert verifier(*c, "check", VALID, "--at", AT).returncode == 0
    assert verifier(*c, "check", "PR1:GGW", "--at", AT).returncode == 1
    assert verifier(*c, "check", UNKNOWN_KEY, "--at", AT).returncode == 2
    assert verifier("--cache", str(tmp_path / "empty"), "check", VALID).returncode == 2  # NO_TRUST_LIST
    assert verifier(*c, "check", VALID, "--at", "yesterday").returncode == 3
    assert verifier(*c, "check").returncode == 3
    broken = verifier("--cache", str(_broken_copy(cache, tmp_path)), "check", VALID)
    assert broken.returncode == 4 and "Traceback" not in broken.stderr and "sync again" in broken.stderr


def test_mistyped_image_path_is_a_usage_error_not_an_invalid_permit(cache: Path) -> None:
    typo = verifier("--cache", str(cache), "check", "permit.pgn", "--json")
    assert typo.returncode == 3 and typo.stdout == "" and "--text" in typo.stderr
    as_text = verifier("--cache", str(cache), "check", "--text", "permit.pgn", "--json")
    assert as_text.returncode == 1 and json.loads(as_text.stdout)["reason"] == "MALFORMED"


def test_batch_names_each_line_and_a_malformed_line_makes_it_invalid(cache: Path) -> None:
    lines = f"{VALID}\n\n{UNKNOWN_KEY}\nPR1:GGW\n"
    proc = verifier("--cache", str(cache), "check", "-", "--json", "--at", AT, stdin=lines)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["line"], o["reason"]) for o in out] == [(1, "VALID"), (3, "UNKNOWN_KEY"), (4, "MALFORMED")]
    assert proc.returncode == 1  # invalid beats indeterminate
    text = verifier("--cache", str(cache), "check", "-", "--at", AT, stdin=f"{VALID}\n{UNKNOWN_KEY}\n")
    assert text.returncode == 2 and text.stdout.startswith("1: ") and "\n2: " in text.stdout
    assert verifier("--cache", str(cache), "check", "-", "--at", AT, stdin=VALID + "\n").returncode == 0


def test_batch_on_a_broken_cache_exits_4(tmp_path: Path, cache: Path) -> None:
    proc = verifier("--cache", str(_broken_copy(cache, tmp_path)), "check", "-", stdin=VALID + "\n")
    assert proc.returncode == 4 and proc.stdout == ""


def test_version_of_both_commands() -> None:
    assert re.fullmatch(r"verifier \S+\n", verifier("--version").stdout)
    pytest.importorskip("sqlite_utils")
    proc = subprocess.run([sys.executable, "-m", "registry.console", "--version"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("registry ")


def _subcommands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import click

    found = []
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _subcommands(command, (*prefix, name))
    return found


def test_every_subcommand_help_works_without_home_or_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from verifier.cli import cli as verifier_cli

    monkeypatch.delenv("PERMIT_REGISTRY_HOME", raising=False)
    groups = [verifier_cli]
    if shutil.which("registry") and _has_registry_packages():
        from registry.cli import cli as registry_cli

        groups.append(registry_cli)
    for group in groups:
        for path in _subcommands(group):
            result = CliRunner().invoke(group, [*path, "--help"])
            assert result.exit_code == 0 and "Usage:" in result.output, (path, result.output)


def _has_registry_packages() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in REGISTRY_ONLY)


def test_registry_command_without_the_extra_names_it() -> None:
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {REGISTRY_ONLY!r}:\n"
            "            raise ModuleNotFoundError('blocked', name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "sys.argv = ['registry', '--home', 'x', 'list']\n"
            "from registry.console import main\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 4 and "permit-registry[registry]" in proc.stderr and "Traceback" not in proc.stderr


def test_old_service_db_migrates_and_lists_its_orgs(tmp_path: Path) -> None:
    """A service.db from before the `rate` column (and before migrations) crashed `orgs list`."""
    conn = sqlite3.connect(tmp_path / "service.db")
    conn.executescript("""CREATE TABLE orgs (name TEXT PRIMARY KEY, sector TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER);
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, org TEXT NOT NULL,
        kind TEXT NOT NULL, number_hash TEXT, verdict TEXT NOT NULL, reason TEXT NOT NULL);
        INSERT INTO orgs VALUES ('Old Bank', 'bank', 'ab', 1700000000, NULL);""")
    conn.commit()
    conn.close()
    tmp_path.chmod(0o700)
    proc = verifier("--cache", str(tmp_path), "orgs", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    org = json.loads(proc.stdout)
    assert org["name"] == "Old Bank" and org["created_at"] == "2023-11-14T22:13:20Z" and org["rate"] == 200
    assert sqlite3.connect(tmp_path / "service.db").execute("PRAGMA user_version").fetchone()[0] >= 2


def test_offline_check_imports_no_server_code(cache: Path) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "verifier.cli", "--cache", str(cache),
                           "check", VALID, "--at", AT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "verifier.check" in imported
    assert not {m for m in imported if m.startswith(("verifier.server", "flask", "werkzeug", "gunicorn", "registry"))}


def _executed_at_import(tree: ast.AST):
    """The nodes that run when a module is imported: everything but function bodies and TYPE_CHECKING."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        yield from _executed_at_import(node)


def _project_imports() -> dict[str, set[str]]:
    """Module -> project modules it imports when it is imported (a function's deferred import is no cycle)."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for package in ("keys", "verifier", "registry") for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in _executed_at_import(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def test_no_import_cycle() -> None:
    graph = _project_imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_verifier_only_test_list_names_real_test_files() -> None:
    listed = [line for line in (ROOT / "tests" / "verifier-only.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    assert "tests/test_integration_surface.py" in listed
    assert all((ROOT / name).is_file() and Path(name).name.startswith("test_") for name in listed)


def test_verification_service_routes_live_in_blueprints(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    from verifier.server.app import create_app

    app = create_app(tmp_path, {"TESTING": True})
    try:
        routes = {(rule.rule, rule.endpoint) for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    finally:
        app.extensions["verifier"].audit.close()
    assert {bp for _, endpoint in routes for bp in [endpoint.partition(".")[0]]} == {"api", "pages", "metrics"}
    assert {rule for rule, _ in routes} == {
        "/v1/verify", "/v1/verify-image", "/v1/identity-check", "/v1/trust-list", "/v1/status-lists/<int:list_id>",
        "/health", "/openapi.json", "/", "/static/<path:name>", "/messages/<locale>.json", "/metrics"}


def test_registry_without_a_home_is_a_usage_error() -> None:
    if not _has_registry_packages():
        pytest.skip("the registry's packages are not installed")
    env = {k: v for k, v in os.environ.items() if k != "PERMIT_REGISTRY_HOME"}
    proc = subprocess.run([sys.executable, "-m", "registry.console", "list"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env)
    assert proc.returncode == 3 and "--home" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_without_the_server_extra_names_it(tmp_path: Path) -> None:
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('flask', 'gunicorn', 'werkzeug'):\n"
            "            raise ModuleNotFoundError('blocked', name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            f"sys.argv = ['verifier', '--cache', {str(tmp_path)!r}, 'serve']\n"
            "from verifier.cli import main\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 4 and "permit-registry[server]" in proc.stderr and "Traceback" not in proc.stderr
