"""The permit office's commands, added to `registry` by registry/cli.py (this module must not import it).

A thin adapter over the office service (registry/office/): it reads flags and files, authenticates the
operator (registry/office_auth.py), calls one operation and prints its outcome. issue, show, history, list,
search, revoke, suspend, reinstate, surrender, record-death, renew, replace, expire, reissue, qr, card
(import and export: registry/office_cli_batch.py). Changes take --note; under four eyes they print the
proposal's id (stdout) and wait for `registry approve ID`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from keys.files import write_atomic
from keys.permit import CATEGORIES
from registry import lifecycle, store
from registry.home import Home
from registry.issuance import payload_text
from registry.office import search as reading
from registry.office.parse import parse_changes
from registry.office.policy import GROUNDS, SUSPEND_REASONS
from registry.office.service import Outcome
from registry.office_auth import acting_office, current_operator, open_db
from registry.qr import render_file
from registry.validation import FIELDS, ValidationError, validate_application


def now() -> int:
    return int(time.time())


def note_option(f: Callable) -> Callable:
    return click.option("--note", help="Free text recorded with the event (control characters are removed).")(f)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


JSON_OUTPUT = "registry.json_output"


def json_output(f: Callable) -> Callable:
    """`--json`: the act's outcome as one JSON object (status done|pending, act, number, state, card, proposal)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta[JSON_OUTPUT] = value

    return click.option("--json", "as_json", is_flag=True, expose_value=False, callback=remember,
                        help="Print the outcome as one JSON object.")(f)


def wants_json() -> bool:
    """Whether the running command was given --json (json_output)."""
    return bool(click.get_current_context().meta.get(JSON_OUTPUT))


def report(outcome: Outcome, done: str) -> None:
    """A pending act prints its proposal id on stdout (for scripts) and explains on stderr; with --json, the
    outcome as one JSON object."""
    if wants_json():
        echo_json(outcome.to_json())
        return
    if outcome.status == "pending":
        click.echo(f"{outcome.act} proposed as proposal {outcome.proposal}: it happens when a different officer "
                   f"runs `registry approve {outcome.proposal}`", err=True)
        click.echo(outcome.proposal)
        return
    click.echo(done)


def describe(outcome: Outcome) -> str:
    """The line a completed act prints."""
    if outcome.act == "issue":
        return str(outcome.number)
    if outcome.card is not None:
        verb = "renewed" if outcome.act == "renew" else "replaced"
        return f"permit {outcome.number} {verb}: card {outcome.card}"
    if outcome.act == "appeal-decide":
        return f"appeal {outcome.extra.get('appeal')}: {outcome.extra.get('outcome')}; permit {outcome.number} is " \
               f"{outcome.state}"
    return f"permit {outcome.number} is now {outcome.state}"


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
    "passport_number": "The applicant's passport number (kept in the register, never on the QR).",
    "passport_country": "The passport's issuing country, ISO 3166-1 alpha-3.",
    "photo": "Path of a JPEG or PNG photo, optional.",
    "ref": "Optional application reference: issuing the same reference twice is refused.",
}


def field_options(names: Iterable[str]) -> Callable[[Callable], Callable]:
    def decorate(f: Callable) -> Callable:
        for name in reversed(list(names)):
            f = click.option(f"--{name.replace('_', '-')}", name, help=_FIELD_OPTIONS[name])(f)
        return f

    return decorate


@click.command()
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSON object with the application's fields; flags override it.")
@field_options(FIELDS)
@note_option
@click.pass_obj
def issue(home: Home, json_file: Path | None, note: str | None, **fields: str | None) -> None:
    """Issue a permit and its first card; prints the new permit number (or, under four eyes, the proposal)."""
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
    app = validate_application(raw, now(), base_dir)
    office, op = acting_office(home)
    outcome = office.issue(op, app, note)
    report(outcome, describe(outcome))


# ---- reading -----------------------------------------------------------------------------------------------

@click.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(home: Home, number: str, as_json: bool) -> None:
    """A permit's data, passport, status and current card."""
    data = reading.show(open_db(home), number, now())
    if data["photo"]:
        data["photo"] = f"{data['photo']['type']}, {data['photo']['bytes']} bytes"
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:14} {'-' if value is None else value}")


@click.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(home: Home, number: str, as_json: bool) -> None:
    """Every event of a permit, oldest first, with who acted and who approved."""
    events = reading.history(open_db(home), number)
    if as_json:
        echo_json(events)
        return
    for e in events:
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(e["at"]))
        extra = "".join(f"  {k}={e[k]}" for k in ("reason", "note") if e[k])
        approved = f" approved by {e['approver']}" if e["approver"] else ""
        click.echo(f"{when}  {e['action']:14} {e['from_state'] or '-':>11} -> {e['to_state'] or '-':11} "
                   f"card {e['card_serial'] or '-'}  by {e['actor']}{approved}{extra}")


def _listing_command(name: str, doc: str, need_filter: bool) -> click.Command:
    @click.command(name)
    @click.option("--name", help="Part of the surname, given names or Chinese name (any case, any accents form).")
    @click.option("--nationality", help="ISO 3166-1 alpha-3 code.")
    @click.option("--status", type=click.Choice(lifecycle.STATES))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def command(home: Home, name: str | None, nationality: str | None, status: str | None, as_json: bool) -> None:
        if need_filter and not (name or nationality or status):
            raise click.UsageError("search needs at least one of --name, --nationality, --status")
        found = reading.search(open_db(home), now(), name, nationality, status)
        if as_json:
            echo_json(found)
            return
        for r in found:
            click.echo(f"{r['number']}  {r['status']:11}  {r['nationality']}  {r['surname']}, {r['given_names']}  "
                       f"until {r['expiry_date']}")

    command.help = doc
    return command


list_command = _listing_command("list", "List permits, optionally filtered.", need_filter=False)
search = _listing_command("search", "Find permits by name, nationality or status.", need_filter=True)


# ---- lifecycle ---------------------------------------------------------------------------------------------

def _status_command(action: str, doc: str, reason: click.Option | None = None) -> click.Command:
    def command(home: Home, number: str, note: str | None, reason: str | None = None) -> None:
        office, op = acting_office(home)
        outcome = office.transition(op, number, action, reason, note)
        report(outcome, describe(outcome))

    command.__doc__ = doc
    command = json_output(note_option(command))
    if reason is not None:
        command = reason(command)
    command = click.argument("number")(command)
    return click.command(action)(click.pass_obj(command))


revoke = _status_command(
    "revoke", "Revoke a permit on a statutory ground (leaves the ground's re-application bar).",
    click.option("--reason", required=True, type=click.Choice(list(GROUNDS)),
                 help="; ".join(f"{k}: {v.description}" for k, v in GROUNDS.items())))
suspend = _status_command(
    "suspend", "Suspend a permit pending investigation or reconsideration.",
    click.option("--reason", type=click.Choice(SUSPEND_REASONS), default="investigation", show_default=True))
reinstate = _status_command(
    "reinstate", "Reinstate a suspended or revoked permit.",
    click.option("--reason", help="Why, e.g. the decision that lifted the suspension or revocation."))
surrender = _status_command("surrender", "Record the holder's voluntary abandonment of the permit.")
record_death = _status_command("record-death", "Record the holder's death.")


@click.command()
@click.argument("numbers", nargs=-1)
@note_option
@json_output
@click.pass_obj
def expire(home: Home, numbers: tuple[str, ...], note: str | None) -> None:
    """Record the expiry of NUMBERS, or of every active permit past its card's validity."""
    office, op = acting_office(home)
    if numbers:
        done = [office.transition(op, n, "expire", None, note).number for n in numbers]
    else:
        done = office.expire_all(op, note)
    if wants_json():
        echo_json({"expired": list(done)})
        return
    click.echo(f"{len(done)} permit(s) recorded as expired")


@click.command()
@click.argument("number")
@click.option("--override-residence", "override", metavar="REASON",
              help="An officer renews although the residence requirement is not met, for this recorded reason.")
@note_option
@json_output
@click.pass_obj
def renew(home: Home, number: str, override: str | None, note: str | None) -> None:
    """Sign a new card with a new validity window, if the residence requirement is met; the old card is
    superseded."""
    office, op = acting_office(home)
    outcome = office.renew(op, number, override, note)
    report(outcome, describe(outcome))


@click.command()
@click.argument("number")
@click.option("--reason", "why", required=True, type=click.Choice(lifecycle.REPLACE_REASONS))
@field_options(("surname", "given_names", "chinese_name", "category", "photo"))
@note_option
@json_output
@click.pass_obj
def replace(home: Home, number: str, why: str, note: str | None, **fields: str | None) -> None:
    """Sign a replacement card (lost, damaged, or data changed); the old card is superseded."""
    raw: dict[str, object] = {k: v for k, v in fields.items() if v is not None}
    if "photo" in raw:
        path = Path(str(raw["photo"]))
        try:
            raw["photo"] = path.read_bytes()
        except OSError as exc:
            raise ValidationError([("photo", f"{path.name} cannot be read: {exc.strerror}")]) from None
    changes = parse_changes(raw)
    office, op = acting_office(home)
    outcome = office.replace(op, number, why, changes, note)
    report(outcome, describe(outcome))


@click.command()
@click.option("--key", "kid", required=True, help="Key id (hex) whose current cards are re-signed.")
@note_option
@json_output
@click.pass_obj
def reissue(home: Home, kid: str, note: str | None) -> None:
    """Re-sign every current card signed by KID with the active permit key (serial + 1)."""
    office, op = acting_office(home)
    count = office.reissue(op, kid, note)
    if wants_json():
        echo_json({"reissued": count, "key": office.signing().kid.hex()})
        return
    click.echo(f"{count} card(s) re-issued with key {office.signing().kid.hex()}")


# ---- QR and card -------------------------------------------------------------------------------------------

def _card_row(home: Home, number: str, serial: int | None) -> tuple[dict, dict]:
    """The permit row and the requested card (default: the current one)."""
    db = open_db(home)
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
              help="Output file: .png or .svg (the QR code), or .txt (the text a scanner types).")
@_CARD_OPTION
@json_output
@click.pass_obj
def qr(home: Home, number: str, out: Path, serial: int | None) -> None:
    """Render the QR code of a permit's card."""
    permit, card = _card_row(home, number, serial)
    write_atomic(out, render_file(payload_text(card["payload"]), out))
    if wants_json():
        echo_json({"number": permit["number"], "card": card["serial"], "out": str(out)})
        return
    click.echo(f"card {card['serial']} of permit {permit['number']} written to {out}")


COMMANDS: list[click.Command] = [
    issue, show, history, list_command, search, revoke, suspend, reinstate, surrender, record_death, renew,
    replace, expire, reissue, qr,
]
__all__ = ["COMMANDS", "current_operator"]
