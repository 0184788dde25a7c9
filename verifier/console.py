"""What both command lines (`verifier`, `registry`) share: how they exit, how they read and print times,
and `--version`. Exit codes come from one table (keys.errors.EXIT_CODES, by the error's cause):

    0 valid (or: done)   1 invalid   2 indeterminate      (verdicts of `verifier check` only)
    3 usage: an option, a file that does not exist, input that is not acceptable, a thing not found
    4 operational: broken cache or store, I/O, configuration, trust material refused or missing
    5 refused: a rule of the register, the current state, or the operator's rights forbid it
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import click

from keys.errors import Exit, PermitError, exit_code

DISTRIBUTION = "permit-registry"


def version_option(name: str):  # a click decorator
    """--version: the installed distribution's version, looked up only when asked for (importlib.metadata is
    not loaded by every run)."""
    return click.version_option(None, "--version", package_name=DISTRIBUTION, prog_name=name,
                                message="%(prog)s %(version)s")


def parse_time(value: str) -> int:
    """Epoch seconds, an ISO 8601 date (00:00 UTC) or date-time (UTC unless an offset is given). Raises
    ValueError for anything else."""
    value = value.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    if len(value) == 10:
        d = date.fromisoformat(value)
        return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def time_option_value(value: str) -> int:
    """parse_time for an option: a bad value is a usage error (exit 3)."""
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not epoch seconds or an ISO 8601 date/time") from None


def run(group: click.Group) -> None:
    """Run a command group as a console script: usage errors exit 3, the project's own errors exit by their
    cause (3, 4 or 5) with their reason code and message, an I/O error of the operating system exits 4;
    never a traceback for any of them."""
    try:
        group.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.UsageError, click.Abort) as exc:
        if isinstance(exc, click.UsageError):
            exc.show()
        sys.exit(Exit.USAGE)
    except PermitError as exc:
        click.echo(f"error ({exc.reason.value}): {exc.message}", err=True)
        sys.exit(exit_code(exc))
    except OSError as exc:
        where = getattr(exc, "filename", None)
        click.echo(f"error (STORE): {exc.strerror or exc}{f': {where}' if where else ''}", err=True)
        sys.exit(Exit.OPERATIONAL)
