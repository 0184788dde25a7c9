"""`verifier log ...`: what this verifier can check of the office's transparency log by itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from keys.errors import LogError, Reason
from keys.trustlist import TrustList
from verifier import logsync
from verifier.cache import Cache
from verifier.check import Result, StatusLookup, check
from verifier.logged import require_logged
from verifier.logmonitor import monitor


def held_dir(cache: Cache) -> Path | None:
    generation = cache.generation()
    return cache.dir / generation if generation else None


@click.group("log")
def log_group() -> None:
    """The office's transparency log, as this verifier holds it."""


@log_group.command("monitor")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def monitor_cmd(cache: Cache, source: str, as_json: bool) -> None:
    """Re-derive every status list held from the log at SOURCE (a publication directory or URL) and report
    each status bit without a logged act behind it; exit 1 if there is any. The log key is the one pinned
    by `verifier sync`, and SOURCE's checkpoint must be consistent with the one held."""
    directory = held_dir(cache)
    key = (directory / logsync.KEY) if directory else None
    if key is None or not key.exists():
        raise LogError("this verifier holds no log key yet: run `verifier sync` first", Reason.LOG_BAD_SIGNATURE)
    trust = cache.trust_list()
    lists = cache.status_lists(trust) if trust is not None else {}
    held = (directory / logsync.CHECKPOINT).read_bytes() if (directory / logsync.CHECKPOINT).exists() else None
    size, findings = monitor(source, key.read_text().strip(), held, lists)
    if as_json:
        click.echo(json.dumps({"leaves": size, "status_lists": len(lists), "ok": not findings,
                               "findings": [f.__dict__ for f in findings]}))
    else:
        for finding in findings:
            click.echo(finding.text())
        click.echo(f"{'OK' if not findings else 'UNLOGGED STATUS'}: {size} leaves, {len(lists)} status lists, "
                   f"{len(findings)} entries without a logged act")
    if findings:
        raise SystemExit(1)


def logged_check(cache: Cache, interval: int) -> Callable[..., Result]:
    """`check` followed by the log's word on the card (verifier/logged.py)."""
    logged = logsync.load(held_dir(cache))

    def run(text: str, trust: TrustList | None, at: int, status: StatusLookup | None = None) -> Result:
        return require_logged(check(text, trust, at, status), text, logged, interval)

    return run


COMMANDS: list[click.Command] = [log_group]
