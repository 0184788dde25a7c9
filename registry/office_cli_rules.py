"""The office's commands for its rules, added to `registry` by registry/cli.py: four eyes (pending,
approve, reject), the relief path (appeal, appeal decide, appeals), residence (presence record, presence
import) and passport changes. Thin adapters over registry/office/service.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from registry.home import Home
from registry.office.deadlines import KINDS, OUTCOMES
from registry.office.parse import parse_date, parse_passport
from registry.office.setup import office_for
from registry.office_auth import acting_office, open_db
from registry.office_cli import JSON_OUTPUT, describe, echo_json, json_output, note_option, report


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def pending(home: Home, as_json: bool) -> None:
    """Proposals waiting for a second officer's approval."""
    db = open_db(home)
    found = office_for(home, db).pending()
    if as_json:
        echo_json(found)
        return
    for p in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(p["proposed_at"]))
        batch = f"  batch {p['batch']}" if p["batch"] else ""
        click.echo(f"{p['id']:>6}  {when}  by {p['proposed_by']}  {p['summary']}{batch}")


@click.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--batch", help="Approve every pending proposal of this import batch.")
@json_output
@click.pass_obj
def approve(home: Home, ids: tuple[int, ...], batch: str | None) -> None:
    """Approve proposals IDS (as a different officer from the proposer): the acts happen now."""
    if not ids and not batch:
        raise click.UsageError("give proposal ids or --batch")
    office, op = acting_office(home)
    outcomes = [office.approve(op, pid) for pid in ids]
    if batch:
        outcomes += office.approve_batch(op, batch)
    if click.get_current_context().meta.get(JSON_OUTPUT):
        echo_json([outcome.to_json() for outcome in outcomes])
        return
    for outcome in outcomes:
        click.echo(describe(outcome))


@click.command()
@click.argument("proposal", type=int)
@note_option
@json_output
@click.pass_obj
def reject(home: Home, proposal: int, note: str | None) -> None:
    """Reject a proposal: the act does not happen."""
    office, op = acting_office(home)
    office.reject(op, proposal, note)
    if click.get_current_context().meta.get(JSON_OUTPUT):
        echo_json({"proposal": proposal, "state": "rejected"})
        return
    click.echo(f"proposal {proposal} rejected")


class _AppealGroup(click.Group):
    """`registry appeal NUMBER --kind ...` files an appeal; `registry appeal decide ID ...` decides one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["file", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_AppealGroup)
def appeal() -> None:
    """Record an appeal against a revocation or suspension (`appeal NUMBER --kind ... --filed ... --case ...`),
    or its outcome (`appeal decide ID --outcome upheld|overturned --decided DATE`)."""


@appeal.command("file")
@click.argument("number")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--filed", required=True, help="Date the appeal was filed, YYYY-MM-DD.")
@click.option("--case", "case", required=True, help="The organ's or court's case reference.")
@click.option("--late-reason", help="Why a filing after the statutory window was accepted.")
@note_option
@json_output
@click.pass_obj
def appeal_file(home: Home, number: str, kind: str, filed: str, case: str, late_reason: str | None,
                note: str | None) -> None:
    """Record an appeal against the permit's revocation or suspension, with its statutory deadlines."""
    office, op = acting_office(home)
    found = office.appeal(op, number, kind, parse_date(filed, "--filed"), case, note, late_reason)
    if click.get_current_context().meta.get(JSON_OUTPUT):
        echo_json(found)
        return
    click.echo(f"appeal {found['id']}: {kind} {found['case']} against the {found['against']} of {found['decision']}; "
               f"filing window ended {found['window_end']}; decision due by {found['due']}")


@appeal.command("decide")
@click.argument("appeal_id", type=int)
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES))
@click.option("--decided", required=True, help="Date of the decision or judgment, YYYY-MM-DD.")
@note_option
@json_output
@click.pass_obj
def appeal_decide(home: Home, appeal_id: int, outcome: str, decided: str, note: str | None) -> None:
    """Record an appeal's outcome: overturned lifts the bar and reinstates the permit."""
    office, op = acting_office(home)
    done = office.decide_appeal(op, appeal_id, outcome, parse_date(decided, "--decided"), note)
    report(done, describe(done))


@click.command()
@click.option("--overdue", is_flag=True, help="Only undecided appeals past their decision's due date.")
@click.option("--number", help="Only this permit's appeals.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def appeals(home: Home, overdue: bool, number: str | None, as_json: bool) -> None:
    """Appeals with their deadlines, soonest due first."""
    found = office_for(home, open_db(home)).appeals(overdue, number)
    if as_json:
        echo_json(found)
        return
    for a in found:
        flag = "  OVERDUE" if a["overdue"] else ""
        click.echo(f"{a['id']:>5}  {a['number']}  {a['kind']:15} {a['case']:20} filed {a['filed']}  due {a['due']}  "
                   f"{a['outcome'] or 'undecided'}{flag}")


@click.group()
def presence() -> None:
    """Days present in the country, checked at renewal."""


@presence.command("record")
@click.argument("number")
@click.option("--year", required=True, type=int)
@click.option("--days", required=True, type=int)
@note_option
@json_output
@click.pass_obj
def presence_record(home: Home, number: str, year: int, days: int, note: str | None) -> None:
    """Record the days NUMBER's holder was present in YEAR."""
    office, op = acting_office(home)
    office.record_presence(op, {(number.upper(), year): days}, "entered", note)
    if click.get_current_context().meta.get(JSON_OUTPUT):
        echo_json({"number": number.upper(), "year": year, "days": days})
        return
    click.echo(f"permit {number.upper()}: {days} days present in {year}")


@presence.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@note_option
@json_output
@click.pass_obj
def presence_import(home: Home, csv_file: Path, note: str | None) -> None:
    """Days present per permit and year from a CSV of stays (columns number, entry, exit; an empty exit is a
    stay still going on). All rows or none are recorded."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.FileError(str(csv_file), str(exc)) from None
    office, op = acting_office(home)
    count = office.import_presence(op, text, f"import:{csv_file.name}", note)
    if click.get_current_context().meta.get(JSON_OUTPUT):
        echo_json({"recorded": count})
        return
    click.echo(f"{count} yearly figure(s) recorded")


@click.command()
@click.argument("number")
@click.option("--passport-number", required=True)
@click.option("--passport-country", required=True, help="ISO 3166-1 alpha-3 code of the issuing country.")
@note_option
@json_output
@click.pass_obj
def passport(home: Home, number: str, passport_number: str, passport_country: str, note: str | None) -> None:
    """Record the holder's new passport (a recorded change of its own; nothing on the card changes)."""
    country, pnum = parse_passport(passport_country, passport_number)
    office, op = acting_office(home)
    done = office.change_passport(op, number, country, pnum, note)
    report(done, f"permit {done.number}: passport recorded as {country} {pnum}")


COMMANDS: list[click.Command] = [pending, approve, reject, appeal, appeals, presence, passport]
