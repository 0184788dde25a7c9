"""The README documents every command of both tools, and the spec's reason table matches the code."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from keys.errors import Reason
from registry.cli import cli as registry_cli
from verifier.check import verdict_for
from verifier.cli import cli as verifier_cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FORMAT = (ROOT / "docs" / "format.md").read_text()


def _commands(group: click.Group, prefix: str) -> list[str]:
    """Every command of `group`, those it loads only when named (verifier log, serve, ...) included."""
    names = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix} {name}")
    return names


@pytest.mark.parametrize("command", _commands(registry_cli, "registry") + _commands(verifier_cli, "verifier"))
def test_every_command_is_in_the_readme(command: str) -> None:
    *_, name = command.split()
    fenced = re.findall(r"```[a-z]*\n(.*?)```", README, re.DOTALL)
    snippets = fenced + re.findall(r"`([^`\n]+)`", re.sub(r"```[a-z]*\n.*?```", "", README, flags=re.DOTALL))
    assert any(re.search(rf"(^|[\s|]){re.escape(name)}(\s|$|\|)", s) for s in snippets), f"{command} is undocumented"


@pytest.mark.parametrize("reason", [r for r in Reason if r.value in FORMAT.split("## 7.")[1]])
def test_spec_verdict_table_matches_the_code(reason: Reason) -> None:
    table = FORMAT.split("## 7.")[1].split("## 8.")[0]
    rows = [line for line in table.splitlines() if f"`{reason.value}`" in line and line.startswith("|")]
    for row in rows:
        assert row.rstrip(" |").endswith(verdict_for(reason).value), row
