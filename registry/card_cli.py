"""`registry card`: the printable card of a permit, added to `registry` by registry/cli.py (it takes the
place of the earlier command of that name in registry/office_cli.py). A card is printed only for an active
permit's current card; anything else only with --void, which marks it VOID across the face."""

from __future__ import annotations

import time
from pathlib import Path

import click

from keys.files import write_atomic
from keys.permit import decode_claims, parse_text
from registry import lifecycle, store
from registry.home import Home
from registry.issuance import payload_text
from registry.office_cli import echo_json, json_output, wants_json


@click.command("card")
@click.argument("number")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file, .png (600 dpi) or .pdf (vector, ID-1 size, 85.6 x 54 mm).")
@click.option("--card", "serial", type=int, help="Card serial (default: the current card).")
@click.option("--void", is_flag=True, help="Print a card of a permit that is not active (or a superseded card) "
              "marked VOID across the face; without it such a card is refused.")
@json_output
@click.pass_obj
def card_command(home: Home, number: str, out: Path, serial: int | None, void: bool) -> None:
    """Render a printable ID-1 card: holder data as signed (Chinese beside Latin), photo, QR code, authority."""
    from registry.card import ensure_printable, render_card_file

    home.config()  # a clear error if this is not a registry home
    db = store.open_store(home.db_path)
    permit = lifecycle.get_permit(db, number)
    current = lifecycle.current_card(db, permit["number"])
    card = current if serial is None else store.one(db, "SELECT * FROM cards WHERE number = ? AND serial = ?",
                                                   (permit["number"], serial))
    if card is None:
        raise lifecycle.TransitionError(f"permit {permit['number']} has no card {serial}")
    state = lifecycle.effective_state(permit, current, int(time.time()))
    ensure_printable(permit["number"], state, card["serial"] == current["serial"], void)
    text = payload_text(card["payload"])
    signed = decode_claims(parse_text(text).payload)  # the card shows exactly what was signed
    write_atomic(out, render_card_file(signed, text, permit["photo"], out, void))
    marked = " marked VOID" if void else ""
    if wants_json():
        echo_json({"number": permit["number"], "card": card["serial"], "out": str(out), "void": void})
        return
    click.echo(f"card {card['serial']} of permit {permit['number']} written to {out}{marked}")


COMMANDS: list[click.Command] = [card_command]
