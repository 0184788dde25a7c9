"""The systemd units in deploy/systemd/ pass `systemd-analyze verify` (with ExecStart pointed at this
checkout's virtualenv, since /opt/permit-registry/venv does not exist here), run commands and options that
exist, and a unit with a typo is caught the same way (so the check can fail)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/permit-registry/venv/bin/"
ANALYZE = shutil.which("systemd-analyze")

needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)")


def _verify(directory: Path, names: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, "verify", *names], cwd=directory, capture_output=True, text=True, timeout=120)


def _copy_units(tmp_path: Path) -> list[str]:
    bindir = str(Path(sys.executable).parent) + "/"
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, bindir))
    return sorted(p.name for p in tmp_path.iterdir())


def test_the_units_are_the_service_the_sync_and_the_publish_timer() -> None:
    names = {p.name for p in UNITS.iterdir()}
    assert {"permit-verifier.service", "permit-verifier-sync.service", "permit-verifier-sync.timer",
            "permit-registry-publish.service", "permit-registry-publish.timer", "permit-registry-api.service"} <= names


@needs_systemd
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    result = _verify(tmp_path, _copy_units(tmp_path))
    if result.returncode != 0 and "Failed to" in result.stderr and "bus" in result.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run in this sandbox: {result.stderr.strip()[:200]}")
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


@needs_systemd
def test_a_unit_with_a_typo_is_refused(tmp_path: Path) -> None:
    names = _copy_units(tmp_path)
    service = tmp_path / "permit-verifier.service"
    service.write_text(service.read_text().replace("ExecStart=", "ExecStrat=").replace("Restart=on-failure",
                                                                                        "Restart=sometimes"))
    result = _verify(tmp_path, names)
    assert "Unknown key" in result.stderr and "sometimes" in result.stderr


@pytest.mark.parametrize("unit", sorted(p.name for p in UNITS.glob("*.service")))
def test_every_exec_start_is_a_real_command_line(unit: str) -> None:
    """The commands and options each ExecStart names exist (`--help` of that very command line accepts them)."""
    text = (UNITS / unit).read_text()
    line = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE).group(1)
    argv = line.split()
    program = Path(argv[0]).name
    assert argv[0].startswith(INSTALLED) and program in {"verifier", "registry"}
    words = [w for w in argv[1:] if not w.startswith("${")]
    commands = [w for w in words if not w.startswith("-")]
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    subcommand = commands[0]
    help_text = subprocess.run([str(Path(sys.executable).parent / program), subcommand, "--help"],
                               capture_output=True, text=True, timeout=60,
                               env={"PATH": "/usr/bin:/bin", "PERMIT_REGISTRY_HOME": "/nonexistent"})
    assert help_text.returncode == 0, help_text.stderr
    for option in options:
        assert option in help_text.stdout, f"{unit}: {option} is not an option of `{program} {subcommand}`"
