"""`verifier`: check permits offline from scanner text or image files, and manage the local cache.

Exit codes (one table for both command lines: verifier/console.py, keys.errors.EXIT_CODES):
0 valid, 1 invalid, 2 indeterminate (verdicts only); 3 usage (a bad option, an INPUT that is neither
payload text nor an existing file: give --text to check it as text); 4 operational (broken cache, I/O).
In batch mode (INPUT `-`, one payload per line) each answer carries its input line number, and the exit
code is 1 if any line was invalid, else 2 if any was indeterminate, else 0; a usage or operational
error (3, 4) wins over every verdict.

The online service's commands (serve, orgs, audit, sectors) and the transparency log's (log) are loaded only
when asked for: the offline check imports no server code, and a batch of checks starts without the modules
only other commands need.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

import click

from keys.errors import EXIT_CODES, Cause, Exit, PermitError, Reason
from keys.permit import MAX_TEXT, looks_like_payload
from keys.times import iso
from verifier import desk, i18n
from verifier.batch import default_jobs, pieces, run_batch
from verifier.cache import Cache
from verifier.check import Result, Verdict, check, failure
from verifier.console import run, time_option_value, version_option

EXIT_CODES_BY_VERDICT = {Verdict.VALID: Exit.VALID, Verdict.INVALID: Exit.INVALID,
                         Verdict.INDETERMINATE: Exit.INDETERMINATE}
EXIT_USAGE = Exit.USAGE
CACHE_ENV = "PERMIT_VERIFIER_CACHE"
# Commands imported on demand: the online service's (verifier/server/commands.py) and the log's.
LAZY_COMMANDS = {"serve": ("verifier.server.commands", "serve"), "orgs": ("verifier.server.commands", "orgs_group"),
                 "audit": ("verifier.server.commands", "audit_group"),
                 "sectors": ("verifier.server.commands", "sectors_group"), "log": ("verifier.log_cli", "log_group")}
__all__ = ["EXIT_CODES", "cli", "main"]


def batch_exit(verdicts: Iterable[Verdict]) -> Exit:
    """The exit code of a batch: invalid if any line was invalid, else indeterminate if any was, else valid."""
    seen = set(verdicts)
    if Verdict.INVALID in seen:
        return Exit.INVALID
    return Exit.INDETERMINATE if Verdict.INDETERMINATE in seen else Exit.VALID


class VerifierGroup(click.Group):
    """The verifier's commands; the server's and the log's are imported only when named (or listed by --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


def _rendered(result: Result, as_json: bool, lang: str, line: int | None = None) -> str:
    if as_json:
        body = desk.result_json(result, lang, withhold_invalid=False)
        return json.dumps(body if line is None else {"line": line, **body}, ensure_ascii=False)
    text = desk.human(result, lang)
    return text if line is None else f"{line}: {text}"


def _emit(result: Result, as_json: bool, lang: str, line: int | None = None) -> None:
    click.echo(_rendered(result, as_json, lang, line))


@click.group(cls=VerifierGroup)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get(CACHE_ENV, str(Path.home() / ".permit-verifier")),
    show_default=f"${CACHE_ENV} or ~/.permit-verifier",
    help="Directory holding the pinned root key, trust list and status lists.",
)
@version_option("verifier")
@click.pass_context
def cli(ctx: click.Context, cache_dir: Path) -> None:
    """Check permanent-residence permits, offline."""
    ctx.obj = Cache(cache_dir)


def _read_image(path: Path) -> str | Result:
    """The text of the QR code in the image at `path`, or the verdict for an unreadable picture."""
    from verifier.scan import read_qr_text

    try:
        return read_qr_text(path)
    except PermitError as exc:
        if exc.cause is not Cause.FORMAT:
            raise
        return failure(exc)


@cli.command("check")
@click.argument("input_", metavar="INPUT")
@click.option("--text", "as_text", is_flag=True, help="INPUT is payload text, even if it does not look like one.")
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
def check_cmd(cache: Cache, input_: str, as_text: bool, as_json: bool, at_text: str | None,
              max_status_age: int | None, lang: str | None, require_logged: bool, log_interval: int,
              jobs: int | None) -> None:
    """Check INPUT: payload text as a scanner types it (PR1:...), an image file, or - for one payload per line
    on stdin. Anything else that is not an existing file is a usage error (exit 3) unless --text says it is
    payload text."""
    lang = lang or i18n.from_environment(os.environ)
    at = time_option_value(at_text) if at_text is not None else int(time.time())
    if input_ != "-" and not as_text and not looks_like_payload(input_) and not _is_file(input_):
        raise click.BadParameter(f"{input_[:200]!r} is not an existing file; to check it as payload text, give --text",
                                 param_hint="INPUT")
    trust = cache.trust_list()
    status = cache.status_lookup(max_status_age)
    run_check = check
    if require_logged:
        from verifier.log_cli import logged_check

        run_check = logged_check(cache, log_interval)  # the same check, then the log's word on the card

    def checker(text: str) -> Result:
        return run_check(text, trust, at, status)

    if input_ == "-":
        sys.exit(check_lines(pieces(_lenient(sys.stdin)), checker, as_json, lang, jobs or default_jobs()))
    sys.exit(check_one(input_, as_text, checker, as_json, lang))


def _lenient(stream: TextIO) -> TextIO:
    """`stream`, reading bytes its encoding cannot decode as lone surrogates (as Python does in the C locale)
    instead of failing: such a line is a misread payload (MALFORMED), not the end of the batch."""
    if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="surrogateescape")
    return stream


def _is_file(argument: str) -> bool:
    try:
        return len(argument) <= 4096 and Path(argument).is_file()
    except (OSError, ValueError):
        return False


def check_one(input_: str, as_text: bool, checker: Callable[[str], Result], as_json: bool, lang: str) -> Exit:
    """One INPUT (payload text, or the path of an image): print its answer, return its exit code."""
    read = input_ if as_text or looks_like_payload(input_) else _read_image(Path(input_))
    result = read if isinstance(read, Result) else checker(read)
    _emit(result, as_json, lang)
    return EXIT_CODES_BY_VERDICT[result.verdict]


def check_lines(text: Iterable[str], checker: Callable[[str], Result], as_json: bool, lang: str,
                jobs: int = 1) -> Exit:
    """One payload per line of `text` (in pieces of any length: lines, or verifier.batch.pieces of a stream),
    across `jobs` processes: each answer, in input order, names its line number (blank lines are skipped),
    and the exit code is the batch's (batch_exit)."""
    def render(number: int, line: str) -> tuple[str, Verdict]:
        result = checker(line[: MAX_TEXT + 2])
        return _rendered(result, as_json, lang, number), result.verdict

    verdicts: set[Verdict] = set()
    try:
        for rendered, seen in run_batch(text, render, jobs, longest=MAX_TEXT + 2):  # no line is held whole
            sys.stdout.write(rendered)
            verdicts |= seen
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not every line was answered
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        click.echo("error (STORE): the output was closed before every line was answered", err=True)
        return Exit.OPERATIONAL
    return batch_exit(verdicts)


@cli.group("trust")
def trust_group() -> None:
    """Manage the trust list: the issuer's keys this verifier accepts."""


@trust_group.command("add")
@click.argument("trust_list", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", "root_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The published metadata/root.json to pin the first time (or, for conformance kits, a "
                   "trust-list key in PEM).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def trust_add(cache: Cache, trust_list: Path, root_file: Path | None, as_json: bool) -> None:
    """Verify TRUST_LIST against the keys the pinned root names for it and keep it for offline checks
    (no status lists: checks say STATUS_UNKNOWN until a sync)."""
    if root_file is not None:
        data = root_file.read_bytes()
        if data.lstrip().startswith(b"-----BEGIN"):
            cache.pin_root(data)
        else:
            cache.pin_tuf_root(data)
    trust = cache.add_trust_list(trust_list.read_bytes(), int(time.time()))
    if as_json:
        click.echo(json.dumps({"version": trust.version, "issuer": trust.issuer, "keys": len(trust.keys),
                               "expires_at": iso(trust.expires_at)}))
        return
    click.echo(f"trust list version {trust.version} from {trust.issuer}: {len(trust.keys)} keys, "
               f"expires {iso(trust.expires_at)}")


@cli.command("sync")
@click.argument("source")
@click.option("--root", "root_json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The published metadata/root.json to pin; needed the first time (later roots are followed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def sync_cmd(cache: Cache, source: str, root_json: Path | None, as_json: bool) -> None:
    """Update from SOURCE (a directory or an http(s) URL) with TUF: follow root rotations, refuse rollback,
    freeze, mix-and-match and endless data, check every list, and replace the cache in one step (an
    interrupted or refused sync keeps the previous cache)."""
    root = root_json.read_bytes() if root_json is not None else None
    try:
        report = cache.sync(source, int(time.time()), root)
    except PermitError as exc:
        from verifier.syncfailures import record_sync_failure

        record_sync_failure(cache.dir, exc.reason.value, int(time.time()))  # for the service's /metrics
        raise
    if as_json:
        click.echo(json.dumps({"root_version": report.root_version, "timestamp_version": report.timestamp_version,
                               "trust_list_version": report.trust_version, "status_lists": report.status_lists,
                               "generation": report.generation}))
        return
    click.echo(f"synced root version {report.root_version}, timestamp version {report.timestamp_version}: "
               f"trust list version {report.trust_version} and {report.status_lists} status lists")


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--at", "at_text", help="Time to measure ages at (epoch seconds or ISO 8601); default now.")
@click.pass_obj
def status_cmd(cache: Cache, as_json: bool, at_text: str | None) -> None:
    """What this verifier holds: root and trust-list versions, last sync, the timestamp's expiry, and
    each status list's age (seconds since the newest timestamp that vouched for it)."""
    from verifier.holdings import holdings

    at = time_option_value(at_text) if at_text is not None else int(time.time())
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
        raise PermitError("no trust list held; run `verifier sync` first", Reason.NO_TRUST_LIST, cause=Cause.TRUST)
    keys = [k.describe() for k in trust.keys]
    info = {"version": trust.version, "issuer": trust.issuer, "issued_at": iso(trust.issued_at),
            "expires_at": iso(trust.expires_at), "keys": keys}
    click.echo(json.dumps(info, indent=None if as_json else 2))


def main() -> None:
    run(cli)


if __name__ == "__main__":
    main()
