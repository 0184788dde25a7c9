"""`registry serve` and `registry operators ...`: the admin API's commands, added to `registry` by
registry/cli.py (this module must not import it). Needs the `server` extra (Flask, gunicorn), imported only
when a command runs, so `registry --help` works without it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click
import sqlite_utils

from keys.ops import LOG_FORMATS, gunicorn_logconfig, prepare_multiprocess, worker_exited
from keys.times import iso
from keys.trustlist import KeyUse
from registry import store
from registry.home import Home


def _now() -> int:
    return int(time.time())


def _open(home: Home) -> sqlite_utils.Database:
    home.config()  # a clear error if this is not a registry home
    return store.open_store(home.db_path)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 256), help="gunicorn sync workers (default: one per core).")
@click.option("--publish-dir", type=click.Path(file_okay=False), help="Served under /published/ and written by "
              "POST /admin/v1/publish (default: HOME/public).")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds a worker may spend on one request (publishing many lists takes a while).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
              help="json: one JSON object per log line on stderr (time, level, logger, message).")
@click.pass_obj
def serve(home: Home, host: str, port: int, workers: int | None, publish_dir: str | None, timeout: int,
          log_format: str) -> None:
    """Run the admin API, the published files and Prometheus metrics (/metrics, summed over the workers through
    a per-run PROMETHEUS_MULTIPROC_DIR) with gunicorn (sync workers). Stop with SIGTERM or Ctrl-C."""
    prepare_multiprocess("permit-registry")  # before prometheus_client is imported anywhere
    from gunicorn.app.base import BaseApplication

    from registry.api import create_app

    home.config()
    passphrase = home.passphrase()  # asked once, here, and checked: a wrong one fails now, not at first issue
    served = Home(home.path, lambda: passphrase)
    served.keys().signer(KeyUse.PERMIT)
    _open(home).conn.close()  # migrate before the workers start
    config: dict[str, Any] = {"PUBLISH_DIR": publish_dir} if publish_dir else {}
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {"bind": bind, "workers": workers or os.cpu_count() or 1, "worker_class": "sync",
                       "timeout": timeout, "graceful_timeout": 10, "proc_name": "registry-api",
                       "accesslog": None}  # no access log: query strings can hold names; api_calls is the log
            for key, value in options.items():
                self.cfg.set(key, value)
            self.cfg.set("child_exit", lambda server, worker: worker_exited(worker.pid))
            if gunicorn_logconfig(log_format):
                self.cfg.set("logconfig_dict", gunicorn_logconfig(log_format))

        def load(self) -> Any:
            return create_app(served, config)  # in each worker, after the fork: no shared connections

    if log_format == "text":  # in JSON mode every line of stderr is a JSON object
        click.echo(f"serving registry {home.path} on http://{bind}/ (admin API under /admin/v1/, published files "
               f"under /published/)", err=True)
    Server().run()


@click.group()
def operators() -> None:
    """Operator accounts (clerk, officer, admin) of the CLI and the admin API."""


@operators.command("add")
@click.option("--name", required=True, help="Letters, digits and . _ @ - (up to 64).")
@click.option("--role", required=True, type=click.Choice(["clerk", "officer", "admin"]))
@click.option("--person", required=True, help="The staff number of the person behind the account: one active "
              "account per person.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name, role, person, token.")
@click.pass_obj
def operators_add(home: Home, name: str, role: str, person: str, as_json: bool) -> None:
    """Add an operator and print its token. The token is shown this once; only its hash is kept. Needs an
    admin's token, except for the registry's first operator (an admin)."""
    from registry.office.operators import add_operator
    from registry.office_auth import current_operator

    db = _open(home)
    added, token = add_operator(db, name, role, person, _now(), current_operator(db, required=False))
    if as_json:
        click.echo(json.dumps({"name": added.name, "role": added.role.value, "person": person, "token": token}))
        return
    click.echo(f"operator {added.name} ({added.role.value}) added; its token (shown once, keep it secret):",
               err=True)
    click.echo(token)


@operators.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked operators.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def operators_list(home: Home, include_revoked: bool, as_json: bool) -> None:
    """Operators: name, role, when created and by whom (never their tokens)."""
    from registry.office.operators import list_operators

    found = [{**op, "created_at": iso(op["created_at"]), "revoked_at": iso(op["revoked_at"])}
             for op in list_operators(_open(home), include_revoked)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for op in found:
        revoked = f"  revoked {op['revoked_at']}" if op["revoked_at"] else ""
        click.echo(f"{op['name']:24} {op['role']:8} person {op['person']:12} created {op['created_at']} by "
                   f"{op['created_by']}{revoked}")


@operators.command("revoke")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def operators_revoke(home: Home, name: str, as_json: bool) -> None:
    """Revoke NAME's token at once (the record stays, for the audit trail). Needs an admin's token."""
    from registry.office.operators import revoke_operator
    from registry.office_auth import current_operator

    db = _open(home)
    revoke_operator(db, name, _now(), current_operator(db))  # type: ignore[arg-type]
    click.echo(json.dumps({"name": name, "state": "revoked"}) if as_json else f"operator {name} revoked")


COMMANDS: list[click.Command] = [serve, operators]
