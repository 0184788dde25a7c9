"""`verifier`: check permits offline from scanner text or image files, and manage the local cache.

Exit codes of `check`: 0 valid, 1 invalid, 2 indeterminate, 3 usage error. In batch mode (INPUT
`-`, one payload per line) the exit code is the worst verdict seen.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import click

from keys.errors import PermitError
from keys.permit import MAX_TEXT
from verifier import desk, i18n
from verifier.batch import default_jobs, run_batch
from verifier.cache import Cache
from verifier.check import Result, Verdict, check, failure
from verifier.holdings import holdings
from verifier.syncfailures import record_sync_failure

EXIT_CODES = {Verdict.VALID: 0, Verdict.INVALID: 1, Verdict.INDETERMINATE: 2}
EXIT_USAGE = 3
CACHE_ENV = "PERMIT_VERIFIER_CACHE"


def parse_time(value: str) -> int:
    """--at: epoch seconds, an ISO 8601 date (00:00 UTC) or datetime (UTC unless an offset is given)."""
    value = value.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not epoch seconds or an ISO 8601 date/time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _is_image_path(argument: str) -> bool:
    """An argument names an image if it is an existing file; anything else (a payload, or text too long
    to be a file name at all) is checked as scanner text."""
    if argument.startswith("PR") or len(argument) > 4096:
        return False
    try:
        return Path(argument).is_file()
    except (OSError, ValueError):
        return False


def _rendered(result: Result, as_json: bool, lang: str) -> str:
    if as_json:
        return json.dumps(desk.result_json(result, lang, withhold_invalid=False), ensure_ascii=False)
    return desk.human(result, lang)


def _emit(result: Result, as_json: bool, lang: str) -> None:
    click.echo(_rendered(result, as_json, lang))


@click.group()
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get(CACHE_ENV, str(Path.home() / ".permit-verifier")),
    show_default=f"${CACHE_ENV} or ~/.permit-verifier",
    help="Directory holding the pinned root key, trust list and status lists.",
)
@click.pass_context
def cli(ctx: click.Context, cache_dir: Path) -> None:
    """Check permanent-residence permits, offline."""
    ctx.obj = Cache(cache_dir)


@cli.command("check")
@click.argument("input_")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per payload.")
@click.option("--at", "at_text", help="Validation time (epoch seconds or ISO 8601); default now.")
@click.option("--max-status-age", type=click.IntRange(min=0), default=None,
              help="Seconds a status list may be old before a check says STATUS_STALE (default: the list's ttl).")
@click.option("--lang", type=click.Choice(i18n.LOCALES), default=None,
              help="Language of the messages (default: from LC_ALL / LC_MESSAGES / LANG; C or POSIX: en).")
@click.option("--require-logged", is_flag=True, help="Refuse (NOT_LOGGED) a card the office's transparency log "
              "does not have once the log covers its signing time plus --log-interval.")
@click.option("--log-interval", type=click.IntRange(min=0), default=3600, show_default=True,
              help="Seconds the office may take to publish an act in its log.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="With INPUT -: processes checking lines at once (default: all cores); output in input order.")
@click.pass_obj
def check_cmd(cache: Cache, input_: str, as_json: bool, at_text: str | None, max_status_age: int | None,
              lang: str | None, require_logged: bool, log_interval: int, jobs: int | None) -> None:
    """Check INPUT: payload text as a scanner types it, an image file, or - for one payload per line on stdin."""
    lang = lang or i18n.from_environment(os.environ)
    at = parse_time(at_text) if at_text is not None else int(time.time())
    trust = cache.trust_list()
    status = cache.status_lookup(max_status_age)
    run_check = check
    if require_logged:
        from verifier.log_cli import logged_check

        run_check = logged_check(cache, log_interval)  # the same check, then the log's word on the card
    if input_ == "-":
        def render(_number: int, line: str) -> tuple[str, int]:
            result = run_check(line[: MAX_TEXT + 2], trust, at, status)
            return _rendered(result, as_json, lang), EXIT_CODES[result.verdict]

        worst = 0
        for text, code in run_batch(sys.stdin, render, jobs or default_jobs()):
            sys.stdout.write(text)
            worst = max(worst, code)
        sys.stdout.flush()
        sys.exit(worst)
    if _is_image_path(input_):
        from verifier.scan import read_qr_text

        try:
            text = read_qr_text(Path(input_))
        except PermitError as exc:
            result = failure(exc)
            _emit(result, as_json, lang)
            sys.exit(EXIT_CODES[result.verdict])
    else:
        text = input_
    result = run_check(text, trust, at, status)
    _emit(result, as_json, lang)
    sys.exit(EXIT_CODES[result.verdict])


@cli.group("trust")
def trust_group() -> None:
    """Manage the trust list: the issuer's keys this verifier accepts."""


@trust_group.command("add")
@click.argument("trust_list", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", "root_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The published metadata/root.json to pin the first time (or, for conformance kits, a "
                   "trust-list key in PEM).")
@click.pass_obj
def trust_add(cache: Cache, trust_list: Path, root_file: Path | None) -> None:
    """Verify TRUST_LIST against the keys the pinned root names for it and keep it for offline checks
    (no status lists: checks say STATUS_UNKNOWN until a sync)."""
    if root_file is not None:
        data = root_file.read_bytes()
        if data.lstrip().startswith(b"-----BEGIN"):
            cache.pin_root(data)
        else:
            cache.pin_tuf_root(data)
    trust = cache.add_trust_list(trust_list.read_bytes(), int(time.time()))
    expires = datetime.fromtimestamp(trust.expires_at, UTC).isoformat()
    click.echo(f"trust list version {trust.version} from {trust.issuer}: {len(trust.keys)} keys, expires {expires}")


@cli.command("sync")
@click.argument("source")
@click.option("--root", "root_json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The published metadata/root.json to pin; needed the first time (later roots are followed).")
@click.pass_obj
def sync_cmd(cache: Cache, source: str, root_json: Path | None) -> None:
    """Update from SOURCE (a directory or an http(s) URL) with TUF: follow root rotations, refuse rollback,
    freeze, mix-and-match and endless data, check every list, and replace the cache in one step (an
    interrupted or refused sync keeps the previous cache)."""
    root = root_json.read_bytes() if root_json is not None else None
    try:
        report = cache.sync(source, int(time.time()), root)
    except PermitError as exc:
        record_sync_failure(cache.dir, exc.reason.value, int(time.time()))  # for the service's /metrics
        raise
    click.echo(f"synced root version {report.root_version}, timestamp version {report.timestamp_version}: "
               f"trust list version {report.trust_version} and {report.status_lists} status lists")


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--at", "at_text", help="Time to measure ages at (epoch seconds or ISO 8601); default now.")
@click.pass_obj
def status_cmd(cache: Cache, as_json: bool, at_text: str | None) -> None:
    """What this verifier holds: root and trust-list versions, last sync, the timestamp's expiry, and
    each status list's age (seconds since the newest timestamp that vouched for it)."""
    at = parse_time(at_text) if at_text is not None else int(time.time())
    info = holdings(cache, at)
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"root version {info['root_version']}, trust list version {info['trust_list_version']}, "
               f"last sync {info['last_sync']}, timestamp expires {info['timestamp_expires']}")
    for entry in info["status_lists"]:
        click.echo(f"  status list {entry['id']}: {entry['age_seconds']} s old")


@trust_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def trust_show(cache: Cache, as_json: bool) -> None:
    """Show the trust list held."""
    trust = cache.trust_list()
    if trust is None:
        raise PermitError("no trust list held; run `verifier trust add` first")
    keys = [
        {"kid": k.kid.hex(), "use": k.use.value, "state": k.state.value, "not_before": k.not_before,
         "not_after": k.not_after}
        for k in trust.keys
    ]
    info = {"version": trust.version, "issuer": trust.issuer, "issued_at": trust.issued_at,
            "expires_at": trust.expires_at, "keys": keys}
    click.echo(json.dumps(info, indent=None if as_json else 2))


def _register_server_commands() -> None:
    """`serve`, `orgs` and `audit` live with the online service (verifier/server/, the `server` extra)."""
    from verifier.server.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_register_server_commands()


def run(group: click.Group) -> None:
    """Run a command group as a console script: usage errors exit 3, the project's own errors exit 1
    with their reason code and message (never a traceback)."""
    try:
        group.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.UsageError, click.Abort) as exc:
        if isinstance(exc, click.UsageError):
            exc.show()
        sys.exit(EXIT_USAGE)
    except PermitError as exc:
        click.echo(f"error ({exc.reason.value}): {exc.message}", err=True)
        sys.exit(1)


def _register_log_commands() -> None:
    from verifier.log_cli import COMMANDS as LOG_COMMANDS

    for command in LOG_COMMANDS:
        cli.add_command(command)


_register_log_commands()


def main() -> None:
    run(cli)


if __name__ == "__main__":
    main()
