"""CLI commands of the online service, loaded by `verifier` (verifier/cli.py) when named: serve, orgs, audit, sectors.
Flask and gunicorn are imported only when `serve` runs (the `server` extra)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from keys.errors import Cause, PermitError, Reason
from keys.ops import LOG_FORMATS, gunicorn_logconfig, prepare_multiprocess, worker_exited
from keys.times import iso
from verifier.console import time_option_value
from verifier.server import orgs
from verifier.server.sectors import load_policy, policy_path


def _cache_dir() -> Path:
    return click.get_current_context().find_root().obj.dir


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn sync workers (one per core is a good start).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
              help="json: one JSON object per log line on stderr (time, level, logger, message).")
def serve(host: str, port: int, workers: int, log_format: str) -> None:
    """Serve the verification API, the clerk's page and Prometheus metrics (/metrics) with gunicorn (sync
    workers; metrics are summed over the workers through a per-run PROMETHEUS_MULTIPROC_DIR)."""
    prepare_multiprocess("permit-verifier")  # before prometheus_client is imported anywhere
    try:
        from gunicorn.app.base import BaseApplication

        from verifier.server.app import create_app
    except ImportError:
        raise PermitError("serving needs the server extra: pip install 'permit-registry[server]'",
                          Reason.USAGE, cause=Cause.CONFIG) from None
    cache_dir = _cache_dir()
    bare = os.environ.get("PERMIT_VERIFIER_BENCH_BARE") == "1"  # benchmarks only: adds POST /v1/bare

    class Service(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", None)  # the audit trail is the record; an access log would hold payloads
            self.cfg.set("worker_exit", lambda server, worker: _flush(worker))
            self.cfg.set("child_exit", lambda server, worker: worker_exited(worker.pid))
            if gunicorn_logconfig(log_format):
                self.cfg.set("logconfig_dict", gunicorn_logconfig(log_format))

        def load(self):
            return create_app(cache_dir, {"BENCH_BARE": bare})

    def _flush(worker: object) -> None:
        app = getattr(worker, "wsgi", None)
        state = app.extensions.get("verifier") if app is not None else None
        if state is not None:
            state.audit.close()

    if log_format == "text":  # in JSON mode every line of stderr is a JSON object
        click.echo(f"serving {cache_dir} on http://{host}:{port}/ with {workers} workers", err=True)
    Service().run()


@click.group("orgs")
def orgs_group() -> None:
    """Organisations allowed to call the service, and their API keys."""


@orgs_group.command("add")
@click.option("--name", required=True)
@click.option("--sector", required=True, help="A sector of the policy file sectors.json in the cache (created "
              "with the defaults: bank, insurer, hotel, rail, civil-aviation, telecom, hospital, school, employer, "
              "social-insurance, property-registration, court, other).")
@click.option("--rate", type=click.FloatRange(min=0.1), help="Requests per second per server worker for this key "
              "(default: the sector's).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name, sector, key.")
def orgs_add(name: str, sector: str, rate: float | None, as_json: bool) -> None:
    """Register NAME; prints its API key once (only a hash is kept)."""
    sectors = load_policy(_cache_dir())
    if sector not in sectors:
        raise click.BadParameter(f"{sector!r} is not a sector of {policy_path(_cache_dir())}; the sectors are "
                                 f"{', '.join(sorted(sectors))}", param_hint="--sector")
    key = orgs.add_org(orgs.connect(_cache_dir()), name, sector, int(time.time()), rate)
    click.echo(json.dumps({"name": name, "sector": sector, "key": key}, ensure_ascii=False) if as_json else key)
    if not as_json:
        click.echo(f"organisation {name} ({sector}) added; keep this key, it is not shown again", err=True)


@orgs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def orgs_list(as_json: bool) -> None:
    """Every organisation, active or revoked (times in ISO 8601, UTC)."""
    sectors = load_policy(_cache_dir())
    for org in orgs.list_orgs(orgs.connect(_cache_dir())):
        policy = sectors.get(org.sector)
        rate = org.rate or (policy.rate if policy else None)
        if as_json:
            click.echo(json.dumps({"name": org.name, "sector": org.sector, "rate": rate,
                                   "rate_from": "organisation" if org.rate else "sector" if policy else None,
                                   "created_at": iso(org.created_at), "revoked_at": iso(org.revoked_at)},
                                  ensure_ascii=False))
            continue
        state = "active" if org.revoked_at is None else f"revoked {iso(org.revoked_at)}"
        shown = f"{org.rate:g}/s" if org.rate else f"{policy.rate:g}/s (sector)" if policy else "(sector not in policy)"
        click.echo(f"{org.name}\t{org.sector}\t{shown}\t{state}")


@orgs_group.command("revoke")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def orgs_revoke(name: str, as_json: bool) -> None:
    """Revoke NAME's key (effective within a second in running servers)."""
    now = int(time.time())
    orgs.revoke_org(orgs.connect(_cache_dir()), name, now)
    click.echo(json.dumps({"name": name, "revoked_at": iso(now)}, ensure_ascii=False) if as_json
               else f"organisation {name} revoked")


@click.group("audit")
def audit_group() -> None:
    """The audit trail of checks."""


@audit_group.command("export")
@click.option("--org", help="Only this organisation's checks.")
@click.option("--since", help="Only checks at or after this time (ISO 8601 or epoch seconds).")
@click.option("-o", "--out", type=click.File("w"), default="-", show_default=True)
def audit_export(org: str | None, since: str | None, out) -> None:
    """Every audit record as JSON lines: organisation, time, keyed hash of the permit number, verdict."""
    for line in orgs.export_audit(orgs.connect(_cache_dir()), org, time_option_value(since) if since else None):
        out.write(line + "\n")
    out.flush()
    if out is not sys.stdout:
        out.close()


@click.group("sectors")
def sectors_group() -> None:
    """The sector policy file (sectors.json in the cache): fields shown, status age allowed, rate."""


@sectors_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the policy file as it is.")
def sectors_show(as_json: bool) -> None:
    """Check the policy file and print each sector's rules (and the file's path)."""
    sectors = load_policy(_cache_dir())
    if as_json:
        click.echo(policy_path(_cache_dir()).read_text(encoding="utf-8"), nl=False)
        return
    click.echo(f"# {policy_path(_cache_dir())}", err=True)
    for s in sectors.values():
        fields = ", ".join(sorted(s.fields)) or "(none)"
        click.echo(f"{s.name}\tstatus age {s.max_status_age} s\trate {s.rate:g}/s burst {s.burst}\t{fields}")


COMMANDS: list[click.Command] = [serve, orgs_group, audit_group, sectors_group]
