"""The README's quick start, run as written: every command of its shell blocks in one bash session (so
its variables carry over), each output checked against what the README's comment says it prints.

Nothing is filled in. A line whose comment starts with a verdict (`VALID (VALID)`, `INVALID (REVOKED)`)
must print it and exit with that verdict's code; every other line must exit 0. `approve` must print the
permit number the README then uses, which is also the example number of docs/format.md §4.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FORMAT = (ROOT / "docs" / "format.md").read_text()
EXIT = {"VALID": 0, "INVALID": 1, "INDETERMINATE": 2}
VERDICT = re.compile(r"#\s+((?:VALID|INVALID|INDETERMINATE) \([A-Z_]+\))")


def _quickstart_commands() -> list[tuple[str, str]]:
    """(command, its comment) for every command line of the quick start's shell blocks."""
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command, _, comment = line.partition("  #")
            commands.append((command.strip(), comment.strip()))
    return commands


def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    commands = _quickstart_commands()
    assert len(commands) >= 15
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    script = ["set -u"]
    for n, (command, _) in enumerate(commands):
        script += [f"echo '::begin {n}'", command, f"echo \"::end {n} $?\""]
    env = {**os.environ, "HOME": str(tmp_path), "LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    for name in ("PERMIT_REGISTRY_HOME", "PERMIT_VERIFIER_CACHE", "PERMIT_REGISTRY_TOKEN"):
        env.pop(name, None)
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    outputs = {n: (out, int(rc)) for n, out, rc in re.findall(r"::begin (\d+)\n(.*?)::end \1 (\d+)\n", proc.stdout,
                                                               re.DOTALL)}
    for n, (command, comment) in enumerate(commands):
        assert str(n) in outputs, f"README command did not run: {command}\n{proc.stderr[-3000:]}"
        output, rc = outputs[str(n)]
        expected = VERDICT.match("# " + comment) if comment else None
        assert rc == (EXIT[expected.group(1).split()[0]] if expected else 0), (command, output, proc.stderr[-3000:])
        if expected:
            assert any(line.startswith(expected.group(1)) for line in output.splitlines()), (command, output)
        if command.startswith("registry --home office approve \"$id\""):
            number = output.strip()
            assert all(number in c for c, _ in commands if " qr " in c or " revoke " in c), number
            assert f"`{number}`" in FORMAT.split("### 4.1", 1)[1], "format.md §4.1's example is not the README's"
        if "--json" in command and command.startswith("verifier --cache bank check"):
            assert output.strip(), command
            for line in output.splitlines():
                assert json.loads(line)["reason"] == "VALID"
