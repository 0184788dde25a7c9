"""The permit office's commands, added to `registry` by registry/cli.py (this module must not import it).

issue, show, history, list, search, revoke, suspend, reinstate, surrender, record-death, renew, replace,
expire, reissue, qr, import, export. Every command that changes something takes --actor and --note.
"""

from __future__ import annotations

import csv
import getpass
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from keys.errors import PermitError, Reason
from keys.files import write_atomic
from registry import lifecycle, store
from registry.home import Home
from registry.issuance import (
    Signing,
    applicant_key,
    issue_in_transaction,
    issue_permit,
    payload_text,
    signing_from_home,
)
from registry.lifecycle import LISTING_SQL, STATUS_SQL, Actor
from registry.qr import render_file
from registry.validation import (
    FIELDS,
    MAX_GIVEN,
    MAX_SURNAME,
    ValidationError,
    chinese_name,
    latin_name,
    read_photo,
    validate_application,
)
from verifier.permit import CATEGORIES, decode_claims, local_date, parse_text

IMPORT_BATCH = 500
# After each second of import batches the write lock is left free for BATCH_PAUSE, longer than SQLite's
# longest busy-wait sleep (100 ms): a clerk's `issue` waiting for the lock gets it within about a second
# instead of timing out behind a long import, and the import loses only ~13% of its time to it.
BATCH_PAUSE = 0.15
PAUSE_EVERY = 1.0
_ROW_ERROR = "\0error"


def now() -> int:
    return int(time.time())


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _actor_options(f: Callable) -> Callable:
    f = click.option("--note", help="Free text recorded with the event.")(f)
    return click.option("--actor", default=default_actor, show_default="the OS user",
                        help="Who performs this action (recorded in the event log).")(f)


def _open(home: Home) -> sqlite_utils.Database:
    home.config()  # a clear error if this is not a registry home
    return store.open_store(home.db_path)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _dates(row: dict) -> dict:
    row = dict(row)
    row["issue_date"] = local_date(row.pop("valid_from")).isoformat()
    row["expiry_date"] = local_date(row.pop("valid_until") - 1).isoformat()
    return row


# ---- issue -------------------------------------------------------------------------------------------------

_FIELD_OPTIONS = {
    "surname": "Surname as in the passport (Latin letters).",
    "given_names": "Given names as in the passport (Latin letters).",
    "chinese_name": "Chinese name (CJK ideographs and the middle dot), optional.",
    "sex": "M or F.",
    "birth_date": "YYYY-MM-DD.",
    "nationality": "ISO 3166-1 alpha-3 code, e.g. USA.",
    "province": "GB/T 2260 province code (2 digits), e.g. 11.",
    "category": f"One of {', '.join(CATEGORIES)}.",
    "photo": "Path of a JPEG or PNG photo, optional.",
    "ref": "Optional application reference: issuing the same reference twice is refused.",
}


def _field_options(names: Iterable[str]) -> Callable[[Callable], Callable]:
    def decorate(f: Callable) -> Callable:
        for name in reversed(list(names)):
            f = click.option(f"--{name.replace('_', '-')}", name, help=_FIELD_OPTIONS[name])(f)
        return f

    return decorate


@click.command()
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSON object with the application's fields; flags override it.")
@_field_options(FIELDS)
@_actor_options
@click.pass_obj
def issue(home: Home, json_file: Path | None, actor: str, note: str | None, **fields: str | None) -> None:
    """Issue a permit and its first card; prints the new permit number."""
    raw: dict[str, object] = {}
    base_dir = None
    if json_file is not None:
        try:
            raw = json.loads(json_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError([("json", f"cannot read {json_file.name}: {exc}")]) from None
        if not isinstance(raw, dict):
            raise ValidationError([("json", "must be a JSON object")])
        base_dir = json_file.parent
    raw.update({k: v for k, v in fields.items() if v is not None})
    t = now()
    app = validate_application(raw, t, base_dir)
    db = _open(home)
    number = issue_permit(db, app, signing_from_home(home), t, actor, note)
    click.echo(number)


# ---- reading -----------------------------------------------------------------------------------------------

@click.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(home: Home, number: str, as_json: bool) -> None:
    """A permit's data, status and current card."""
    db = _open(home)
    row = store.one(db, LISTING_SQL + " WHERE p.number = :number", {"now": now(), "number": number.upper()})
    if row is None:
        raise lifecycle.TransitionError(f"no permit {number} in this registry")
    photo = store.one(db, "SELECT length(photo) AS size, photo_type FROM permits WHERE number = ?", (row["number"],))
    data = _dates(row)
    data["photo"] = f"{photo['photo_type']}, {photo['size']} bytes" if photo and photo["size"] else None
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:14} {'-' if value is None else value}")


@click.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(home: Home, number: str, as_json: bool) -> None:
    """Every event of a permit, oldest first."""
    db = _open(home)
    permit = lifecycle.get_permit(db, number)
    events = store.rows(db, "SELECT at, action, from_state, to_state, card_serial, actor, reason, note, detail "
                        "FROM events WHERE number = ? ORDER BY id", (permit["number"],))
    for e in events:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else None
    if as_json:
        _echo_json(events)
        return
    for e in events:
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(e["at"]))
        extra = "".join(f"  {k}={e[k]}" for k in ("reason", "note") if e[k])
        click.echo(f"{when}  {e['action']:12} {e['from_state'] or '-':>11} -> {e['to_state']:11} "
                   f"card {e['card_serial']}  by {e['actor']}{extra}")


def _listing(home: Home, name: str | None, nationality: str | None, status: str | None, as_json: bool) -> None:
    db = _open(home)
    where, params = [], {"now": now()}
    if name:
        where.append("(p.surname LIKE :name OR p.given_names LIKE :name OR p.chinese_name LIKE :name "
                     "OR (p.given_names || ' ' || p.surname) LIKE :name)")
        params["name"] = f"%{name.strip()}%"
    if nationality:
        where.append("p.nationality = :nationality")
        params["nationality"] = nationality.strip().upper()
    if status:
        where.append(f"{STATUS_SQL} = :status")
        params["status"] = status
    sql = LISTING_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.number"
    found = [_dates(r) for r in store.rows(db, sql, params)]
    if as_json:
        _echo_json(found)
        return
    for r in found:
        click.echo(f"{r['number']}  {r['status']:11}  {r['nationality']}  {r['surname']}, {r['given_names']}  "
                   f"until {r['expiry_date']}")


def _listing_command(name: str, doc: str, need_filter: bool) -> click.Command:
    @click.command(name)
    @click.option("--name", help="Part of the surname, given names or Chinese name (case-insensitive).")
    @click.option("--nationality", help="ISO 3166-1 alpha-3 code.")
    @click.option("--status", type=click.Choice(lifecycle.STATES))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def command(home: Home, name: str | None, nationality: str | None, status: str | None, as_json: bool) -> None:
        if need_filter and not (name or nationality or status):
            raise click.UsageError("search needs at least one of --name, --nationality, --status")
        _listing(home, name, nationality, status, as_json)

    command.help = doc
    return command


list_command = _listing_command("list", "List permits, optionally filtered.", need_filter=False)
search = _listing_command("search", "Find permits by name, nationality or status.", need_filter=True)


# ---- lifecycle ---------------------------------------------------------------------------------------------

def _status_command(action: str, doc: str, reason: click.Option | None = None) -> click.Command:
    def command(home: Home, number: str, actor: str, note: str | None, reason: str | None = None) -> None:
        db = _open(home)
        state = lifecycle.transition(db, number, action, now(), Actor(actor, note), reason)
        click.echo(f"permit {number.upper()} is now {state}")

    command.__doc__ = doc
    command = _actor_options(command)
    if reason is not None:
        command = reason(command)
    command = click.argument("number")(command)
    return click.command(action)(click.pass_obj(command))


revoke = _status_command(
    "revoke", "Revoke a permit on a statutory ground.",
    click.option("--reason", required=True, type=click.Choice(list(lifecycle.REVOCATION_GROUNDS)),
                 help="; ".join(f"{k}: {v}" for k, v in lifecycle.REVOCATION_GROUNDS.items())))
suspend = _status_command(
    "suspend", "Suspend a permit pending investigation or reconsideration.",
    click.option("--reason", type=click.Choice(["investigation", "reconsideration"]), default="investigation",
                 show_default=True))
reinstate = _status_command(
    "reinstate", "Reinstate a suspended or revoked permit (the relief path).",
    click.option("--reason", help="Why, e.g. the decision that lifted the suspension or revocation."))
surrender = _status_command("surrender", "Record the holder's voluntary abandonment of the permit.")
record_death = _status_command("record-death", "Record the holder's death.")


@click.command()
@click.argument("numbers", nargs=-1)
@_actor_options
@click.pass_obj
def expire(home: Home, numbers: tuple[str, ...], actor: str, note: str | None) -> None:
    """Record the expiry of NUMBERS, or of every active permit past its card's validity."""
    db = _open(home)
    t, who = now(), Actor(actor, note)
    if numbers:
        for number in numbers:
            lifecycle.transition(db, number, "expire", t, who)
        done = [n.upper() for n in numbers]
    else:
        done = lifecycle.expire_all(db, t, who)
    click.echo(f"{len(done)} permit(s) recorded as expired")


@click.command()
@click.argument("number")
@_actor_options
@click.pass_obj
def renew(home: Home, number: str, actor: str, note: str | None) -> None:
    """Sign a new card with a new validity window; the old card is superseded."""
    signing = signing_from_home(home)
    serial = lifecycle.renew(_open(home), number, now(), Actor(actor, note), signing)
    click.echo(f"permit {number.upper()} renewed: card {serial}")


def _changes(fields: dict[str, str | None]) -> dict[str, object]:
    problems: list[tuple[str, str]] = []
    out: dict[str, object] = {}
    for name, value in fields.items():
        if value is None:
            continue
        why = None
        if name in ("surname", "given_names"):
            out[name], why = latin_name(value, MAX_SURNAME if name == "surname" else MAX_GIVEN)
        elif name == "chinese_name":
            out[name], why = chinese_name(value) if value else (None, None)
        elif name == "category":
            out[name] = value.strip().lower()
            why = None if out[name] in CATEGORIES else f"must be one of {', '.join(CATEGORIES)}"
        elif name == "photo":
            try:
                out["photo"], out["photo_type"] = read_photo(Path(value))
            except ValueError as exc:
                why = f"{Path(value).name} {exc}"
        if why:
            problems.append((name, why))
    if problems:
        raise ValidationError(problems)
    return out


@click.command()
@click.argument("number")
@click.option("--reason", "why", required=True, type=click.Choice(lifecycle.REPLACE_REASONS))
@_field_options(("surname", "given_names", "chinese_name", "category", "photo"))
@_actor_options
@click.pass_obj
def replace(home: Home, number: str, why: str, actor: str, note: str | None, **fields: str | None) -> None:
    """Sign a replacement card (lost, damaged, or data changed); the old card is superseded."""
    changes = _changes(fields)
    signing = signing_from_home(home)
    serial = lifecycle.replace(_open(home), number, why, changes, now(), Actor(actor, note), signing)
    click.echo(f"permit {number.upper()} replaced: card {serial}")


@click.command()
@click.option("--key", "kid", required=True, help="Key id (hex) whose current cards are re-signed.")
@_actor_options
@click.pass_obj
def reissue(home: Home, kid: str, actor: str, note: str | None) -> None:
    """Re-sign every current card signed by KID with the active permit key (serial + 1)."""
    signing = signing_from_home(home)
    count = lifecycle.reissue(_open(home), kid, now(), Actor(actor, note), signing)
    click.echo(f"{count} card(s) re-issued with key {signing.kid.hex()}")


# ---- QR ----------------------------------------------------------------------------------------------------

def _card_row(home: Home, number: str, serial: int | None) -> tuple[dict, dict]:
    """The permit row and the requested card (default: the current one)."""
    db = _open(home)
    permit = lifecycle.get_permit(db, number)
    if serial is None:
        return permit, lifecycle.current_card(db, permit["number"])
    card = store.one(db, "SELECT * FROM cards WHERE number = ? AND serial = ?", (permit["number"], serial))
    if card is None:
        raise lifecycle.TransitionError(f"permit {permit['number']} has no card {serial}")
    return permit, card


_CARD_OPTION = click.option("--card", "serial", type=int, help="Card serial (default: the current card).")


@click.command()
@click.argument("number")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file, .png or .svg.")
@_CARD_OPTION
@click.pass_obj
def qr(home: Home, number: str, out: Path, serial: int | None) -> None:
    """Render the QR code of a permit's card."""
    permit, card = _card_row(home, number, serial)
    write_atomic(out, render_file(payload_text(card["payload"]), out))
    click.echo(f"card {card['serial']} of permit {permit['number']} written to {out}")


@click.command("card")
@click.argument("number")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file, .png (600 dpi) or .pdf (ID-1 size, 85.6 x 54 mm).")
@_CARD_OPTION
@click.pass_obj
def card_command(home: Home, number: str, out: Path, serial: int | None) -> None:
    """Render a printable ID-1 card: holder data as signed, photo, QR code, issuing authority."""
    from registry.card import render_card_file

    permit, card = _card_row(home, number, serial)
    text = payload_text(card["payload"])
    signed = decode_claims(parse_text(text).payload)  # the card shows exactly what was signed
    write_atomic(out, render_card_file(signed, text, permit["photo"], out))
    click.echo(f"card {card['serial']} of permit {permit['number']} written to {out}")


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


def _import_batch(db: sqlite_utils.Database, batch: list[tuple[int, dict]], signing: Signing, t: int, who: Actor,
                  base_dir: Path, refused: list[str]) -> tuple[int, int]:
    issued = skipped = 0
    with store.write_transaction(db):
        for line, raw in batch:
            if _ROW_ERROR in raw:
                refused.append(f"line {line}: {raw[_ROW_ERROR]}")
                continue
            try:
                app = validate_application(raw, t, base_dir)
                key = applicant_key(app)
                if store.one(db, "SELECT 1 AS x FROM permits WHERE applicant_key = ?", (key,)):
                    skipped += 1
                    continue
                with db.atomic():  # a savepoint: a row that fails while signing leaves nothing behind
                    issue_in_transaction(db, app, signing, t, who.name, who.note, key)
                issued += 1
            except ValidationError as exc:
                refused.extend(f"line {line}: {field}: {message}" for field, message in exc.problems)
            except PermitError as exc:
                if isinstance(exc, store.StoreError):
                    raise
                refused.append(f"line {line}: {exc.message}")
    return issued, skipped


def _import_waiting(db: sqlite_utils.Database, batch: list[tuple[int, dict]], signing: Signing, t: int, who: Actor,
                    base_dir: Path, refused: list[str]) -> tuple[int, int]:
    """One batch, retried whole while another writer holds the lock: an import never gives up half-way
    because another process (an import, a clerk, a publish) was writing."""
    def attempt() -> tuple[int, int, list[str]]:
        lines: list[str] = []  # a refused attempt was rolled back: its refusals are not kept
        return (*_import_batch(db, batch, signing, t, who, base_dir, lines), lines)

    issued, skipped, lines = store.retry_while_busy(attempt, say=lambda text: click.echo(text, err=True))
    refused.extend(lines)
    return issued, skipped


@click.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=IMPORT_BATCH, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows committed per transaction.")
@_actor_options
@click.pass_obj
def import_(home: Home, csv_file: Path, batch_size: int, actor: str, note: str | None) -> None:
    """Issue a permit for every valid row of a CSV file (columns: the issue fields, plus optional ref).

    Safe to re-run: a row whose ref (or, without one, whose applicant fingerprint) was already issued is
    skipped. Bad rows are listed with their reasons; the others are issued."""
    db = _open(home)
    signing = signing_from_home(home)
    t, who = now(), Actor(actor, note)
    total = sum(1 for _ in _read_rows(csv_file))
    issued = skipped = 0
    refused: list[str] = []
    batch: list[tuple[int, dict]] = []
    last_pause = time.monotonic()
    with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
        for item in _read_rows(csv_file):
            batch.append(item)
            if len(batch) >= batch_size:
                i, s = _import_waiting(db, batch, signing, t, who, csv_file.parent, refused)
                issued, skipped = issued + i, skipped + s
                bar.update(len(batch))
                batch = []
                if time.monotonic() - last_pause >= PAUSE_EVERY:
                    time.sleep(BATCH_PAUSE)
                    last_pause = time.monotonic()
        if batch:
            i, s = _import_waiting(db, batch, signing, t, who, csv_file.parent, refused)
            issued, skipped = issued + i, skipped + s
            bar.update(len(batch))
    for line in refused:
        click.echo(line, err=True)
    bad_lines = len({line.split(":", 1)[0] for line in refused})
    click.echo(f"issued {issued}, already issued {skipped}, refused {bad_lines}")
    if refused:
        raise PermitError(f"{bad_lines} row(s) were refused (listed above); fix them and re-run the import",
                          Reason.USAGE)


@click.command()
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.pass_obj
def export(home: Home, out: Path | None, fmt: str) -> None:
    """Every permit with its status and current card (no photos, no payloads)."""
    db = _open(home)
    with store.translate_errors():
        cursor = db.execute(LISTING_SQL.replace(":now", "?") + " ORDER BY p.number", (now(),))
        columns = [d[0] for d in cursor.description]
        records = (_dates(dict(zip(columns, r, strict=True))) for r in cursor)
        with click.open_file(str(out) if out else "-", "w", encoding="utf-8", atomic=out is not None) as f:
            if fmt == "jsonl":
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
                return
            header = [c for c in columns if c not in ("valid_from", "valid_until")] + ["issue_date", "expiry_date"]
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(records)


COMMANDS: list[click.Command] = [
    issue, show, history, list_command, search, revoke, suspend, reinstate, surrender, record_death, renew,
    replace, expire, reissue, qr, card_command, import_, export,
]
