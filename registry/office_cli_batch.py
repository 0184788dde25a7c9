"""`registry import` and `registry export`: the register in bulk, added to `registry` by registry/cli.py.
Thin adapters over the office service like registry/office_cli.py."""

from __future__ import annotations

import csv
import json
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from keys.errors import Cause, PermitError, Reason
from registry import store
from registry.home import Home
from registry.lifecycle import LISTING_SQL
from registry.lockwait import writers_waiting
from registry.office import search as reading
from registry.office_auth import acting_office, open_db
from registry.office_cli import echo_json, json_output, note_option, now, wants_json
from registry.validation import FIELDS, ValidationError, validate_application

IMPORT_BATCH = 500
# After each second of import batches, if another writer waits for the write lock (registry/lockwait.py),
# the lock is left free for BATCH_PAUSE, longer than SQLite's longest busy-wait sleep (100 ms): a clerk's
# `issue` waiting for the lock gets it within about a second.
BATCH_PAUSE = 0.15
PAUSE_EVERY = 1.0
_ROW_ERROR = "\0error"


# ---- import / export ---------------------------------------------------------------------------------------

def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            unknown = [h for h in reader.fieldnames or [] if h not in FIELDS]
            if unknown:
                raise ValidationError([("csv", f"unknown column(s) {', '.join(unknown)}; "
                                                f"the columns are {', '.join(FIELDS)}")])
            for row in reader:
                if None in row:
                    yield reader.line_num, {_ROW_ERROR: "has more cells than the header"}
                    continue
                yield reader.line_num, {k: v for k, v in row.items() if v}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError([("csv", f"cannot read {path.name}: {exc}")]) from None


@click.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=IMPORT_BATCH, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows committed per transaction.")
@note_option
@json_output
@click.pass_obj
def import_(home: Home, csv_file: Path, batch_size: int, note: str | None) -> None:
    """Issue a permit for every valid row of a CSV file (columns: the issue fields, plus optional ref).
    Under four eyes each row is proposed in one batch: `registry approve --batch ID`.

    Safe to re-run: a row whose ref (or, without one, whose passport) was already issued or proposed is
    skipped. Bad rows are listed with their reasons; the others are issued."""
    office, op = acting_office(home)
    t, batch_id = now(), secrets.token_hex(4)
    total = sum(1 for _ in _read_rows(csv_file))
    done = skipped = 0
    refused: list[str] = []
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        nonlocal done, skipped
        apps = []
        for line, raw in batch:
            if _ROW_ERROR in raw:
                refused.append(f"line {line}: {raw[_ROW_ERROR]}")
                continue
            try:
                apps.append((line, validate_application(raw, t, csv_file.parent)))
            except ValidationError as exc:
                refused.extend(f"line {line}: {field}: {message}" for field, message in exc.problems)
        # retried whole while another writer holds the lock: an import never gives up half-way because
        # another process (an import, a clerk, a publish) was writing; a refused attempt wrote nothing
        d, s, r = store.retry_while_busy(lambda: office.issue_many(op, apps, batch_id, note),
                                         say=lambda text: click.echo(text, err=True))
        done, skipped = done + d, skipped + s
        refused.extend(r)

    last_pause = time.monotonic()
    with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
        for item in _read_rows(csv_file):
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
                bar.update(len(batch))
                batch = []
                if time.monotonic() - last_pause >= PAUSE_EVERY:
                    if writers_waiting(office.db.conn):  # nobody waiting: no reason to leave the lock idle
                        time.sleep(BATCH_PAUSE)
                    last_pause = time.monotonic()
        if batch:
            flush()
            bar.update(len(batch))
    bad_lines = len({line.split(":", 1)[0] for line in refused})
    verb = "proposed" if office.policy.needs_approval("issue") else "issued"
    if wants_json():
        echo_json({verb: done, "already_issued": skipped, "refused": refused,
                   "batch": batch_id if done and verb == "proposed" else None})
    else:
        for line in refused:
            click.echo(line, err=True)
        click.echo(f"{verb} {done}, already issued {skipped}, refused {bad_lines}")
    if done and verb == "proposed" and not wants_json():
        click.echo(f"batch {batch_id}: approve with `registry approve --batch {batch_id}`")
    if refused:
        raise PermitError(f"{bad_lines} row(s) were refused (listed above); fix them and re-run the import",
                          Reason.USAGE, cause=Cause.FORMAT)


@click.command()
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.pass_obj
def export(home: Home, out: Path | None, fmt: str) -> None:
    """Every permit with its status and current card (no photos, no passports, no payloads)."""
    db = open_db(home)
    with store.translate_errors():
        cursor = db.execute(LISTING_SQL.replace(":now", "?") + " ORDER BY p.number", (now(),))
        columns = [d[0] for d in cursor.description]
        records = (reading.dated(dict(zip(columns, r, strict=True))) for r in cursor)
        with click.open_file(str(out) if out else "-", "w", encoding="utf-8", atomic=out is not None) as f:
            if fmt == "jsonl":
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
                return
            header = [c for c in columns if c not in ("valid_from", "valid_until")] + ["issue_date", "expiry_date"]
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(records)


COMMANDS: list[click.Command] = [import_, export]
