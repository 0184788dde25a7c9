"""`registry`: the immigration office's command line (keys, issuance, lifecycle, publishing)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from keys import algorithms
from keys.errors import KeyStoreError, Reason
from keys.keystore import PASSPHRASE_ENV, KeyStore, passphrase_from_env
from keys.trustlist import KeyUse
from registry.home import DEFAULT_AUTHORITY, DEFAULT_STATUS_URI, HOME_ENV, Config, Home
from registry.publish import publish as publish_files
from verifier.cli import run


def _ask_passphrase(confirm: bool = False) -> bytes:
    env = passphrase_from_env()
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise KeyStoreError(f"no passphrase: set {PASSPHRASE_ENV} or run in a terminal", Reason.BAD_PASSPHRASE)
    return click.prompt("Key store passphrase", hide_input=True, confirmation_prompt=confirm).encode()


def now() -> int:
    return int(time.time())


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=HOME_ENV,
    required=True,
    help=f"Registry home directory (default: ${HOME_ENV}).",
)
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding the acting operator's token (default: $PERMIT_REGISTRY_TOKEN).")
@click.pass_context
def cli(ctx: click.Context, home: Path, token_file: Path | None) -> None:
    """Issue and manage permanent-residence permits. Every change is made by an authenticated operator."""
    ctx.obj = Home(home, _ask_passphrase)
    ctx.meta["registry.token_file"] = token_file


@cli.command()
@click.option("--authority", default=DEFAULT_AUTHORITY, show_default=True, help="Issuing authority code (iss).")
@click.option("--status-uri", default=DEFAULT_STATUS_URI, show_default=True,
              help="Where status lists will be published; {id} stands for the list number.")
@click.option("--alg", type=click.Choice(sorted(algorithms.ALGORITHM_IDS)), default="ES256", show_default=True)
@click.pass_obj
def init(home: Home, authority: str, status_uri: str, alg: str) -> None:
    """Create the registry home: configuration, root key, first issuing keys and the permit store."""
    if "{id}" not in status_uri:
        raise click.BadParameter("must contain {id}", param_hint="--status-uri")
    if home.config_path.exists():
        raise KeyStoreError(f"{home.path} is already a registry home; nothing was changed")
    home.path.mkdir(parents=True, exist_ok=True)
    passphrase = passphrase_from_env() or _ask_passphrase(confirm=True)
    store = KeyStore.create(home.path, passphrase, now(), algorithms.algorithm_id(alg))
    from registry import store as permit_store
    from registry.office.policy import DEFAULT_POLICY

    permit_store.open_store(home.db_path)
    home.write_config(Config(authority=authority, status_uri=status_uri, office=DEFAULT_POLICY.to_json()))
    click.echo(f"registry home {home.path} created; root key {store.root.kid.hex()}, "
               f"permit key {store.active(KeyUse.PERMIT).kid.hex()}")


@cli.group()
def keys() -> None:
    """List and manage the issuer's keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def keys_list(home: Home, as_json: bool) -> None:
    """Every key: kid, algorithm, use, state, window and public key."""
    store = home.keys()
    rows = [
        {
            "kid": k.kid.hex(),
            "algorithm": algorithms.ALGORITHMS[k.alg],
            "use": "root" if k is store.root else k.use.value,
            "state": k.state.value,
            "not_before": k.not_before,
            "not_after": k.not_after,
            "public_key_pem": algorithms.public_pem(k.public_key),
        }
        for k in [store.root, *store.keys]
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['kid']}  {r['algorithm']:5}  {r['use']:6}  {r['state']:11}  "
                   f"from {r['not_before']} until {r['not_after'] or '-'}")


@keys.command("rotate")
@click.option("--use", type=click.Choice([u.value for u in KeyUse]), default="permit", show_default=True)
@click.option("--alg", type=click.Choice(sorted(algorithms.ALGORITHM_IDS)), default="ES256", show_default=True)
@click.pass_obj
def keys_rotate(home: Home, use: str, alg: str) -> None:
    """Generate a new active key; the previous one is retired. Publish afterwards."""
    key = home.keys().rotate(KeyUse(use), now(), algorithms.algorithm_id(alg))
    click.echo(f"new {use} key {key.kid.hex()} is active; run `registry publish` so verifiers learn it")


@keys.command("retire")
@click.argument("kid")
@click.pass_obj
def keys_retire(home: Home, kid: str) -> None:
    """Stop signing with KID; what it signed in its window still verifies."""
    home.keys().retire(kid, now())
    click.echo(f"key {kid} retired")


@keys.command("compromise")
@click.argument("kid")
@click.pass_obj
def keys_compromise(home: Home, kid: str) -> None:
    """Mark KID compromised: every permit it signed is rejected once the trust list is published.
    Re-issue its cards with `registry reissue --key KID`."""
    home.keys().compromise(kid, now())
    click.echo(f"key {kid} marked compromised; run `registry reissue --key {kid}` and `registry publish`")


@cli.command()
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.pass_obj
def publish(home: Home, outdir: Path) -> None:
    """Write the files verifiers download: root.pem, trust-list.cwt, status/<id>.cwt and index.json.
    Only what changed (or passed half its lifetime) is signed anew."""
    report = publish_files(home, outdir, now())
    click.echo(f"published to {outdir}: trust list version {report.trust_version}"
               f"{' (signed now)' if report.trust_signed else ''}, {report.lists} status lists "
               f"({report.lists_signed} signed now)")


def _register_office_commands() -> None:
    """The office's commands live in registry/office_cli.py, the admin API's in registry/api_cli.py
    (neither imports this module)."""
    from registry.api_cli import COMMANDS as API_COMMANDS
    from registry.card_cli import COMMANDS as CARD_COMMANDS
    from registry.identity_cli import COMMANDS as IDENTITY_COMMANDS
    from registry.office_cli import COMMANDS
    from registry.office_cli_batch import COMMANDS as BATCH_COMMANDS
    from registry.office_cli_rules import COMMANDS as RULE_COMMANDS

    for command in [*COMMANDS, *BATCH_COMMANDS, *RULE_COMMANDS, *API_COMMANDS, *IDENTITY_COMMANDS, *CARD_COMMANDS]:
        cli.add_command(command)


_register_office_commands()


def main() -> None:
    run(cli)


if __name__ == "__main__":
    main()
