"""`registry log verify|prove`, `registry backup` and `registry restore`: checking the register against
its published transparency log, and copies of the register that such a check can vouch for.

`log verify` re-encodes every logged event row of the register (registry/tlog_events.py) and compares the
leaves with a published copy of the log (the last OUTDIR of `publish`, or `--against DIR_OR_URL`) checked
with the home's own log key: every published act missing from the register, altered in it or out of
order is named by its leaf index. `backup` copies the register with SQLite's online backup (consistent
while the office works); after `restore`, `log verify --against` names exactly the acts made since.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click

from keys.errors import LogError, PermitError, Reason
from keys.files import ensure_private
from keys.tlog import merkle
from keys.tlog.checkpoint import open_checkpoint
from keys.tlog.leaves import Leaf, decode_leaf
from keys.tlog.note import NoteVerifier
from registry import store, tlog_events, tlog_store
from registry.home import Home
from registry.tlog_office import last_published, log_verifier_key
from verifier.logclient import log_fetch


def _describe(data: bytes) -> str:
    try:
        leaf: Leaf = decode_leaf(data)
    except LogError:
        return "undecodable"
    when = datetime.fromtimestamp(leaf.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{leaf.KIND.name.lower()} at {when}"


def _source(home: Home, against: str | None) -> str:
    if against:
        return against
    found = last_published(home)
    if found is None:
        raise PermitError("the log has not been published yet: run `registry publish -o OUTDIR`, or give --against",
                          Reason.USAGE)
    return str(found)


@click.group("log")
def log_group() -> None:
    """The transparency log of every act of the office."""


@log_group.command("verify")
@click.option("--against", help="A published copy of the log: OUTDIR of `publish` (or its log/), or an http(s) URL "
              "(default: where this home last published).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def log_verify(home: Home, against: str | None, as_json: bool) -> None:
    """Compare the register's events with the published log; exit 1 on any act missing, altered or out of order."""
    source = _source(home, against)
    db = store.open_store(home.db_path)
    fetch = log_fetch(source)
    try:
        raw = fetch("checkpoint")  # read once: the comparison and the descriptions see one checkpoint
    except OSError as exc:
        raise LogError(f"cannot read the published checkpoint at {source}: {exc}", Reason.LOG_MALFORMED) from None
    vkey = log_verifier_key(home)
    result = tlog_store.verify_against(db, lambda p: raw if p == "checkpoint" else fetch(p), vkey,
                                       leaves=tlog_events.register_event_leaves(db.conn))
    entries = None
    if result.missing:
        from keys.tlog.tiles import TileClient

        entries = TileClient(fetch, open_checkpoint(raw, NoteVerifier.from_vkey(vkey))).all_entries()
    problems = [p + (f" ({_describe(entries[int(p.split()[1].rstrip(':'))])})"
                     if entries and p.endswith("missing from the register") else "") for p in result.problems()]
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "published_size": result.published_size,
                               "register_size": result.register_size, "missing": list(result.missing),
                               "altered": list(result.altered), "out_of_order": list(result.out_of_order),
                               "extra": list(result.extra), "unpublished": len(result.unpublished),
                               "problems": problems}, indent=1))
    else:
        for line in problems:
            click.echo(line)
        click.echo(f"{'OK' if result.ok else 'MISMATCH'}: {result.published_size} published acts, "
                   f"{result.register_size} in the register ({len(result.unpublished)} not yet published)")
    if not result.ok:
        raise SystemExit(1)


@log_group.command("prove")
@click.argument("number")
@click.option("--card", "serial", type=click.IntRange(min=1), help="The card's serial (default: the current card).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def log_prove(home: Home, number: str, serial: int | None, as_json: bool) -> None:
    """The leaf index, leaf hash and inclusion proof of a card's signing against the newest published checkpoint."""
    db = store.open_store(home.db_path)
    if serial is None:
        current = store.one(db, "SELECT serial FROM cards WHERE number = ? AND state = 'current'", (number,))
        if current is None:
            raise PermitError(f"no permit {number} in the register", Reason.USAGE)
        serial = int(current["serial"])
    row = store.one(db, "SELECT leaf_index FROM events WHERE number = ? AND card_serial = ? AND action IN "
                        f"({', '.join('?' * len(tlog_events.CARD_ACTIONS))}) AND leaf_index IS NOT NULL",
                    (number, serial, *tlog_events.CARD_ACTIONS))
    if row is None:
        raise LogError(f"card {serial} of permit {number} has no leaf in the log", Reason.LOG_PROOF_INVALID)
    index = int(row["leaf_index"])
    source = _source(home, None)
    raw = log_fetch(source)("checkpoint")
    checkpoint = open_checkpoint(raw, NoteVerifier.from_vkey(log_verifier_key(home)))
    if index >= checkpoint.size:
        raise LogError(f"the card's leaf {index} is not yet published (checkpoint size {checkpoint.size}): run "
                       "`registry publish`", Reason.LOG_PROOF_INVALID)
    leaf = tlog_store.leaf(db, index)
    leaf_hash = merkle.leaf_hash(leaf)
    proof = tlog_store.inclusion_proof(db, index, checkpoint.size)
    merkle.verify_inclusion(index, checkpoint.size, leaf_hash, proof, checkpoint.root)
    out = {"number": number, "card": serial, "leaf_index": index, "leaf_hash": leaf_hash.hex(),
           "leaf": base64.b64encode(leaf).decode(), "tree_size": checkpoint.size, "root_hash": checkpoint.root.hex(),
           "checkpoint": raw.decode(), "inclusion_proof": [h.hex() for h in proof]}
    if as_json:
        click.echo(json.dumps(out, indent=1))
    else:
        click.echo(f"card {serial} of {number}: leaf {index} of {checkpoint.size}, hash {leaf_hash.hex()}")
        for h in proof:
            click.echo(f"  {h.hex()}")


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=store.BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


@click.command("backup")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def backup(home: Home, out: Path) -> None:
    """A consistent copy of the register (SQLite's online backup: the office keeps working), mode 0600."""
    home.config()
    if out.exists():
        raise PermitError(f"{out} exists; nothing was written", Reason.USAGE)
    store.open_store(home.db_path).conn.close()  # migrated before it is copied
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    _sqlite_copy(home.db_path, out)
    click.echo(f"register copied to {out}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def restore(home: Home, file: Path) -> None:
    """Replace the register with a backup; then `registry log verify --against` names the acts made since."""
    home.config()
    try:
        probe = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            ok = probe.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise PermitError(f"{file} is not a register backup: {exc}; nothing was changed", Reason.USAGE) from None
    if not ok or not {"events", "permits", "cards"} <= tables:
        raise PermitError(f"{file} is not a whole register backup; nothing was changed", Reason.USAGE)
    ensure_private(home.db_path)
    _sqlite_copy(file, home.db_path)  # page by page under the target's lock: readers see old or new
    store.open_store(home.db_path).conn.close()
    click.echo(f"register restored from {file}; run `registry log verify` to list the acts made since the backup")


COMMANDS: list[click.Command] = [log_group, backup, restore]
