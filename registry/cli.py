"""`registry`: the immigration office's command line (keys, issuance, lifecycle, publishing)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from keys import algorithms
from keys.errors import Cause, KeyStoreError, Reason
from keys.keystore import (
    PASSPHRASE_ENV,
    ROOT_PASSPHRASE_ENV,
    KeyStore,
    passphrase_from_env,
    root_passphrase_from_env,
)
from keys.layout import METADATA_DIR
from keys.pkcs11 import MODULE_ENV, TokenRef
from keys.trustlist import KeyUse
from registry.home import DEFAULT_AUTHORITY, DEFAULT_STATUS_URI, HOME_ENV, Config, Home
from registry.publish import publish as publish_files
from registry.repository import Repository
from registry.rotation import ensure_repository, rotate_root, rotate_timestamp, warn_lone_root
from registry.tlog_office import record_all_keys, record_key_event
from verifier.console import run, version_option


def _ask_passphrase(confirm: bool = False) -> bytes:
    env = passphrase_from_env()
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise KeyStoreError(f"no passphrase: set {PASSPHRASE_ENV} or run in a terminal", Reason.BAD_PASSPHRASE)
    return click.prompt("Key store passphrase", hide_input=True, confirmation_prompt=confirm).encode()


NEW_ROOT_PASSPHRASE_ENV = "PERMIT_REGISTRY_NEW_ROOT_PASSPHRASE_{n}"


def now() -> int:
    return int(time.time())


class _NoHome:
    """Stands for the home when neither --home nor $PERMIT_REGISTRY_HOME was given: `--help` and `--version`
    of every command work without one, and a command that needs it is a usage error (exit 3)."""

    def __getattr__(self, name: str) -> object:
        raise click.UsageError(f"Missing option '--home' (or ${HOME_ENV}).")


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=HOME_ENV,
    help=f"Registry home directory (default: ${HOME_ENV}); required by every command but --help.",
)
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding the acting operator's token (default: $PERMIT_REGISTRY_TOKEN).")
@version_option("registry")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, token_file: Path | None) -> None:
    """Issue and manage permanent-residence permits. Every change is made by an authenticated operator."""
    ctx.obj = Home(home, _ask_passphrase) if home is not None else _NoHome()
    ctx.meta["registry.token_file"] = token_file


def _root_passphrases(count: int, prompt: bool) -> list[bytes] | None:
    """One passphrase per root officer: PERMIT_REGISTRY_ROOT_PASSPHRASE_<i>, else asked at a terminal.
    None for a lone root key without its own (it shares the office passphrase)."""
    found = [root_passphrase_from_env(i, "") for i in range(1, count + 1)]
    if all(f is not None for f in found):
        return found  # type: ignore[return-value]
    if count == 1 and found[0] is None:
        return None
    if not (prompt and sys.stdin.isatty()):
        missing = [ROOT_PASSPHRASE_ENV.format(n=i) for i, f in enumerate(found, 1) if f is None]
        raise KeyStoreError(f"no passphrase for root keys: set {', '.join(missing)}", Reason.BAD_PASSPHRASE)
    return [f or click.prompt(f"Passphrase of root officer {i}", hide_input=True, confirmation_prompt=True).encode()
            for i, f in enumerate(found, 1)]


def _token(module: str | None, label: str | None) -> TokenRef | None:
    if label is None:
        return None
    module = module or os.environ.get(MODULE_ENV)
    if not module:
        raise click.BadParameter(f"give --pkcs11-module or set {MODULE_ENV}", param_hint="--token")
    return TokenRef(module, label)


def _root_tokens(module: str | None, labels: tuple[str, ...], count: int) -> list[TokenRef] | None:
    if not labels:
        return None
    if len(labels) != count:
        raise click.BadParameter(f"give one per root key ({count})", param_hint="--root-token")
    return [_token(module, label) for label in labels]  # type: ignore[misc]


@cli.command()
@click.option("--authority", default=DEFAULT_AUTHORITY, show_default=True, help="Issuing authority code (iss).")
@click.option("--status-uri", default=DEFAULT_STATUS_URI, show_default=True,
              help="Where status lists will be published; {id} stands for the list number.")
@click.option("--alg", type=click.Choice(sorted(algorithms.ALGORITHM_IDS)), default="ES256", show_default=True)
@click.option("--root-keys", type=click.IntRange(1, 15), default=1, show_default=True,
              help="How many root keys (officers); each has its own passphrase or token.")
@click.option("--root-threshold", type=click.IntRange(1, 15), default=1, show_default=True,
              help="How many root keys must sign a new root version.")
@click.option("--token", "token_label", help="Generate every key inside this PKCS#11 token (PIN from "
              "$PERMIT_REGISTRY_PKCS11_PIN).")
@click.option("--root-token", "root_token_labels", multiple=True, help="Generate root key i inside its officer's "
              "own token (repeat once per root key; PIN from $PERMIT_REGISTRY_PKCS11_PIN_<LABEL>).")
@click.option("--pkcs11-module", help="The token's PKCS#11 module (.so); default $PERMIT_REGISTRY_PKCS11_MODULE.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def init(home: Home, authority: str, status_uri: str, alg: str, root_keys: int, root_threshold: int,
         token_label: str | None, root_token_labels: tuple[str, ...], pkcs11_module: str | None,
         as_json: bool) -> None:
    """Create the registry home: configuration, root keys (TUF root version 1), the timestamp key, first
    issuing keys and the permit store."""
    if "{id}" not in status_uri:
        raise click.BadParameter("must contain {id}", param_hint="--status-uri")
    if root_threshold > root_keys:
        raise click.BadParameter(f"cannot exceed --root-keys ({root_keys})", param_hint="--root-threshold")
    if home.config_path.exists():
        raise KeyStoreError(f"{home.path} is already a registry home; nothing was changed", cause=Cause.CONFLICT)
    token = _token(pkcs11_module, token_label)
    root_tokens = _root_tokens(pkcs11_module, root_token_labels, root_keys)
    passphrase = passphrase_from_env() or _ask_passphrase(confirm=True)
    roots = None if token is not None or root_tokens else _root_passphrases(root_keys, prompt=True)
    home.path.mkdir(parents=True, exist_ok=True)
    home.path.chmod(0o700)
    store = KeyStore.create(home.path, passphrase, now(), algorithms.algorithm_id(alg), root_keys=root_keys,
                            root_threshold=root_threshold, root_passphrases=roots, token=token,
                            root_tokens=root_tokens)
    from registry import store as permit_store
    from registry.office.policy import DEFAULT_POLICY

    permit_store.open_store(home.db_path)
    home.write_config(Config(authority=authority, status_uri=status_uri, office=DEFAULT_POLICY.to_json()))
    home._keys = store
    store._root_passphrase = (lambda n, kid: roots[n - 1]) if roots else None
    warn_lone_root(root_keys, root_threshold)
    root = ensure_repository(home, Repository(home.path / "published" / METADATA_DIR), now())
    record_all_keys(home, now())
    if as_json:
        click.echo(json.dumps({"home": str(home.path), "root_version": root.signed.version, "root_keys": root_keys,
                               "root_threshold": root_threshold,
                               "permit_key": store.active(KeyUse.PERMIT).kid.hex()}))
        return
    click.echo(f"registry home {home.path} created; {root_threshold}-of-{root_keys} root (TUF root version "
               f"{root.signed.version}), permit key {store.active(KeyUse.PERMIT).kid.hex()}")


@cli.group()
def keys() -> None:
    """List and manage the issuer's keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def keys_list(home: Home, as_json: bool) -> None:
    """Every key: kid, algorithm, use, state, window and public key."""
    store = home.keys()
    roles = {k.kid: "root" for k in store.roots} | {k.kid: "timestamp" for k in store.timestamp_keys}
    rows = [
        {**k.describe(), "use": roles.get(k.kid, k.use.value), "location": store.location(k)}
        for k in [*store.roots, *store.timestamp_keys, *store.keys]
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['kid']}  {r['algorithm']:5}  {r['use']:9}  {r['state']:11}  "
                   f"from {r['not_before']} until {r['not_after'] or '-'}")


@keys.command("rotate")
@click.option("--use", type=click.Choice([u.value for u in KeyUse] + ["timestamp", "root"]), default="permit",
              show_default=True)
@click.option("--alg", type=click.Choice(sorted(algorithms.ALGORITHM_IDS)), default="ES256", show_default=True)
@click.option("--root-keys", type=click.IntRange(1, 15), help="With --use root: how many new root keys "
              "(default: as many as now).")
@click.option("--root-threshold", type=click.IntRange(1, 15), help="With --use root: the new threshold "
              "(default: as now).")
@click.option("--root-token", "root_token_labels", multiple=True, help="With --use root: new root key i in "
              "its officer's own token (repeat once per new root key).")
@click.option("--pkcs11-module", help="The tokens' PKCS#11 module; default $PERMIT_REGISTRY_PKCS11_MODULE.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: use, kid (or root_version).")
@click.pass_obj
def keys_rotate(home: Home, use: str, alg: str, root_keys: int | None, root_threshold: int | None,
                root_token_labels: tuple[str, ...], pkcs11_module: str | None, as_json: bool) -> None:
    """Generate a new active key; the previous one is retired. Publish afterwards.

    `--use root` is a root ceremony: the next TUF root version, signed by the current root threshold
    (PERMIT_REGISTRY_ROOT_PASSPHRASE_<i> of the officers present) and by the new one
    (PERMIT_REGISTRY_NEW_ROOT_PASSPHRASE_<i>). `--use timestamp` replaces the online metadata key (the
    root threshold signs the root version naming it)."""
    actor = _acting(home)  # before anything changes: a bad token changes nothing
    repo = Repository(home.path / "published" / METADATA_DIR)
    if use == "root":
        store = home.keys()
        count = root_keys or len(store.active_roots())
        threshold = root_threshold or min(store.root_threshold, count)
        if threshold > count:
            raise click.BadParameter(f"cannot exceed the number of root keys ({count})", param_hint="--root-threshold")
        tokens = _root_tokens(pkcs11_module, root_token_labels, count)
        passes = None if tokens else _new_root_passphrases(count, store.token)
        metadata = rotate_root(home, repo, now(), count, threshold, passes, tokens)
        for key in home.keys().active_roots():
            record_key_event(home, "key-root-change", key, "root", now(), actor)
        warn_lone_root(count, threshold)
        if as_json:
            click.echo(json.dumps({"use": "root", "root_version": metadata.signed.version, "root_keys": count,
                                   "root_threshold": threshold}))
            return
        click.echo(f"root version {metadata.signed.version}: {threshold}-of-{count} new root keys, signed by the "
                   "old and the new threshold; run `registry publish` so verifiers follow it")
        return
    if use == "timestamp":
        key, metadata = rotate_timestamp(home, repo, now())
        record_key_event(home, "key-rotate", key, "timestamp", now(), actor)
        if as_json:
            click.echo(json.dumps({"use": "timestamp", "kid": key.kid.hex(), "root_version": metadata.signed.version}))
            return
        click.echo(f"new timestamp key {key.kid.hex()} named in root version {metadata.signed.version}; "
                   "run `registry publish`")
        return
    key = home.keys().rotate(KeyUse(use), now(), algorithms.algorithm_id(alg))
    record_key_event(home, "key-rotate", key, use, now(), actor)
    if as_json:
        click.echo(json.dumps({"use": use, "kid": key.kid.hex()}))
        return
    click.echo(f"new {use} key {key.kid.hex()} is active; run `registry publish` so verifiers learn it")


def _new_root_passphrases(count: int, token: TokenRef | None) -> list[bytes] | None:
    if token is not None:
        return None
    found = [os.environ.get(NEW_ROOT_PASSPHRASE_ENV.format(n=i)) for i in range(1, count + 1)]
    if all(found):
        return [f.encode() for f in found]  # type: ignore[union-attr]
    if not sys.stdin.isatty():
        missing = [NEW_ROOT_PASSPHRASE_ENV.format(n=i) for i, f in enumerate(found, 1) if not f]
        raise KeyStoreError(f"no passphrase for the new root keys: set {', '.join(missing)}", Reason.BAD_PASSPHRASE)
    return [(f or click.prompt(f"Passphrase of new root officer {i}", hide_input=True,
                               confirmation_prompt=True)).encode() for i, f in enumerate(found, 1)]


@keys.command("retire")
@click.argument("kid")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def keys_retire(home: Home, kid: str, as_json: bool) -> None:
    """Stop signing with KID; what it signed in its window still verifies."""
    actor = _acting(home)
    key = home.keys().retire(kid, now())
    record_key_event(home, "key-retire", key, key.use.value, now(), actor)
    click.echo(f"key {kid} retired")
    home.keys().retire(kid, now())
    click.echo(json.dumps({"kid": kid, "state": "retired"}) if as_json else f"key {kid} retired")


@keys.command("compromise")
@click.argument("kid")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def keys_compromise(home: Home, kid: str, as_json: bool) -> None:
    """Mark KID compromised: every permit it signed is rejected once the trust list is published.
    Re-issue its cards with `registry reissue --key KID`."""
    actor = _acting(home)
    key = home.keys().compromise(kid, now())
    record_key_event(home, "key-compromise", key, key.use.value, now(), actor)
    if as_json:
        click.echo(json.dumps({"kid": kid, "state": "compromised"}))
        return
    click.echo(f"key {kid} marked compromised; run `registry reissue --key {kid}` and `registry publish`")


@cli.command()
@click.option("-o", "--out", "outdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def publish(home: Home, outdir: Path, as_json: bool) -> None:
    """Write the TUF repository verifiers sync: metadata/ (root, targets, snapshot, timestamp) and targets/
    (the trust list and every status list). The timestamp is signed anew on every run; the rest only
    when it changed or passed half its lifetime."""
    actor = _acting(home)
    report = publish_files(home, outdir, now(), operator_id=actor)
    if as_json:
        click.echo(json.dumps({"out": str(outdir), "root_version": report.root_version,
                               "timestamp_version": report.timestamp_version,
                               "trust_list_version": report.trust_version, "trust_list_signed": report.trust_signed,
                               "status_lists": report.lists, "status_lists_signed": report.lists_signed}))
        return
    click.echo(f"published to {outdir}: root version {report.root_version}, timestamp version "
               f"{report.timestamp_version}, trust list version {report.trust_version}"
               f"{' (signed now)' if report.trust_signed else ''}, {report.lists} status lists "
               f"({report.lists_signed} signed now)")


def _acting(home: Home) -> int | None:
    """The operator acting for the office, if a token was given (a bad token is refused); None: the
    holder of the key store acts for the office (key events and publishes are logged as the office's)."""
    from registry.office_auth import current_operator, open_db

    if home.config_path.exists():
        found = current_operator(open_db(home), required=False)
        return None if found is None else found.id
    return None


def _register_office_commands() -> None:
    """The office's commands live in registry/office_cli.py, the admin API's in registry/api_cli.py
    (neither imports this module)."""
    from registry.api_cli import COMMANDS as API_COMMANDS
    from registry.card_cli import COMMANDS as CARD_COMMANDS
    from registry.identity_cli import COMMANDS as IDENTITY_COMMANDS
    from registry.log_cli import COMMANDS as LOG_COMMANDS
    from registry.office_cli import COMMANDS
    from registry.office_cli_batch import COMMANDS as BATCH_COMMANDS
    from registry.office_cli_rules import COMMANDS as RULE_COMMANDS

    for command in [*COMMANDS, *BATCH_COMMANDS, *RULE_COMMANDS, *API_COMMANDS, *IDENTITY_COMMANDS, *CARD_COMMANDS,
                    *LOG_COMMANDS]:
        cli.add_command(command)


_register_office_commands()


def main() -> None:
    run(cli)


if __name__ == "__main__":
    main()
