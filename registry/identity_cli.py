"""`registry orgs ...`: the organisations enrolled for identity verification (POST
/registry/v1/identity-verification on `registry serve`), added to `registry` by registry/cli.py."""

from __future__ import annotations

import json
import time

import click

from keys.times import iso
from registry import identity, store
from registry.home import Home


def _open(home: Home):
    home.config()  # a clear error if this is not a registry home
    db = store.open_store(home.db_path)
    identity.ensure_schema(db)
    return db


def _actor(db) -> int | None:
    """The operator acting, if a token was given (a bad one is refused); else the office."""
    from registry.office_auth import current_operator

    found = current_operator(db, required=False)
    return None if found is None else found.id


@click.group("orgs")
def orgs_group() -> None:
    """Organisations enrolled for identity verification (number + name in, match and status out)."""


@orgs_group.command("add")
@click.option("--name", required=True, help="The organisation, e.g. 'China Railway 12306'.")
@click.option("--per-minute", type=click.IntRange(min=1), default=identity.DEFAULT_PER_MINUTE, show_default=True,
              help="Identity checks allowed in any 60 seconds.")
@click.option("--misses-per-day", type=click.IntRange(min=1), default=identity.DEFAULT_MISSES_PER_DAY,
              show_default=True, help="Non-matching answers allowed in any 24 hours (guessing runs out).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name, limits, key.")
@click.pass_obj
def orgs_add(home: Home, name: str, per_minute: int, misses_per_day: int, as_json: bool) -> None:
    """Enrol NAME; prints its API key once (only a hash is kept)."""
    db = _open(home)
    key = identity.enrol(db, name, int(time.time()), per_minute, misses_per_day, operator_id=_actor(db))
    click.echo(json.dumps({"name": name, "per_minute": per_minute, "misses_per_day": misses_per_day, "key": key},
                          ensure_ascii=False) if as_json else key)
    if not as_json:
        click.echo(f"organisation {name} enrolled; keep this key, it is not shown again", err=True)


@orgs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (times in ISO 8601, UTC).")
@click.pass_obj
def orgs_list(home: Home, as_json: bool) -> None:
    """Every enrolled organisation, active or revoked, with its limits."""
    for org in identity.orgs(_open(home)):
        if as_json:
            click.echo(json.dumps({"name": org.name, "per_minute": org.per_minute,
                                   "misses_per_day": org.misses_per_day, "created_at": iso(org.created_at),
                                   "revoked_at": iso(org.revoked_at)}, ensure_ascii=False))
            continue
        state = "active" if org.revoked_at is None else f"revoked {iso(org.revoked_at)}"
        click.echo(f"{org.name}\t{org.per_minute}/min\t{org.misses_per_day} misses/day\t{state}")


@orgs_group.command("revoke")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def orgs_revoke(home: Home, name: str, as_json: bool) -> None:
    """Revoke NAME's key (effective at its next call)."""
    db, now = _open(home), int(time.time())
    identity.revoke(db, name, now, operator_id=_actor(db))
    click.echo(json.dumps({"name": name, "revoked_at": iso(now)}, ensure_ascii=False) if as_json
               else f"organisation {name} revoked")


COMMANDS: list[click.Command] = [orgs_group]
