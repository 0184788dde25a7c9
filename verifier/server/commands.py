"""CLI commands of the online service, added to `verifier` by verifier/cli.py."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
