"""The office through its two adapters, behind one interface, for tests that run the same steps through both.

`Cli` drives `registry ...` with click's runner (the token in PERMIT_REGISTRY_TOKEN); `Api` drives the admin
API with Flask's test client on another registry home. Each step returns ("ok", detail) or
("refused", message): the message is the office's own, so both adapters must give the same one.
`snapshot` reads what the register holds, without times and tokens, to compare the two homes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from registry.cli import cli

ROLES = {"admin": ("root-admin", "admin", "S-0001"), "clerk": ("carol.clerk", "clerk", "S-0002"),
         "officer": ("oscar.officer", "officer", "S-0003"), "officer2": ("olga.officer", "officer", "S-0004")}
APPLICANT = {"surname": "SMITH", "given_names": "JOHN PAUL", "sex": "M", "birth_date": "1979-11-03",
             "nationality": "USA", "province": "11", "category": "talent", "passport_number": "A12345678",
             "passport_country": "USA"}
OTHER = {"surname": "MÜLLER", "given_names": "ANNA MARIA", "chinese_name": "穆安娜", "sex": "F",
         "birth_date": "1985-04-12", "nationality": "DEU", "province": "31", "category": "employment",
         "passport_number": "C01X00T47", "passport_country": "DEU"}


def cli_run(home: Path, token: str | None, *args: str) -> Any:
    env = {"PERMIT_REGISTRY_TOKEN": token or ""}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env)


def enrol(home: Path) -> dict[str, str]:
    """The operators of ROLES, the admin first (the bootstrap), each with its own person."""
    tokens: dict[str, str] = {}
    for role, (name, kind, person) in ROLES.items():
        r = cli_run(home, tokens.get("admin"), "operators", "add", "--name", name, "--role", kind, "--person", person)
        assert r.exit_code == 0, (r.output, r.exception)
        tokens[role] = r.stdout.strip()
    return tokens


def _cli_result(r: Any) -> tuple[str, str]:
    if r.exit_code == 0:
        out = r.stdout.strip()
        return "ok", out if out.isdigit() and len(out) < 18 else "done"  # a proposal's id, or done
    message = getattr(r.exception, "message", None) or r.output
    return "refused", message


class Cli:
    name = "cli"

    def __init__(self, home: Path, tmp: Path) -> None:
        self.home, self.tmp, self.tokens = home, tmp, enrol(home)

    def run(self, who: str, *args: str) -> tuple[str, str]:
        return _cli_result(cli_run(self.home, self.tokens.get(who), *args))

    def issue(self, who: str, applicant: dict, note: str | None = None) -> tuple[str, str]:
        path = self.tmp / f"app-{len(list(self.tmp.iterdir()))}.json"
        path.write_text(json.dumps(applicant))
        return self.run(who, "issue", "--json", str(path), *(["--note", note] if note else []))

    def act(self, who: str, number: str, action: str, reason: str | None = None,
            note: str | None = None) -> tuple[str, str]:
        return self.run(who, action, number, *(["--reason", reason] if reason else []),
                        *(["--note", note] if note else []))

    def replace(self, who: str, number: str, why: str, changes: dict[str, str]) -> tuple[str, str]:
        flags = [x for k, v in changes.items() for x in (f"--{k.replace('_', '-')}", v)]
        return self.run(who, "replace", number, "--reason", why, *flags)

    def renew(self, who: str, number: str, override: str | None = None) -> tuple[str, str]:
        return self.run(who, "renew", number, *(["--override-residence", override] if override else []))

    def passport(self, who: str, number: str, country: str, passport: str) -> tuple[str, str]:
        return self.run(who, "passport", number, "--passport-country", country, "--passport-number", passport)

    def approve(self, who: str, proposal: int) -> tuple[str, str]:
        return self.run(who, "approve", str(proposal))

    def reject(self, who: str, proposal: int, note: str | None = None) -> tuple[str, str]:
        return self.run(who, "reject", str(proposal), *(["--note", note] if note else []))

    def appeal(self, who: str, number: str, kind: str, filed: str, case: str) -> tuple[str, str]:
        return self.run(who, "appeal", number, "--kind", kind, "--filed", filed, "--case", case)

    def decide(self, who: str, appeal: int, outcome: str, decided: str) -> tuple[str, str]:
        return self.run(who, "appeal", "decide", str(appeal), "--outcome", outcome, "--decided", decided)

    def presence(self, who: str, number: str, year: int, days: int) -> tuple[str, str]:
        return self.run(who, "presence", "record", number, "--year", str(year), "--days", str(days))

    def presence_import(self, who: str, text: str) -> tuple[str, str]:
        path = self.tmp / "stays.csv"
        path.write_text(text)
        return self.run(who, "presence", "import", str(path))

    def appeals(self, overdue: bool = False) -> list[dict]:
        r = cli_run(self.home, None, "appeals", "--json", *(["--overdue"] if overdue else []))
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)


class Api:
    name = "api"

    def __init__(self, home: Path, clock: Any) -> None:
        from registry.api import create_app
        from registry.home import Home

        self.home, self.tokens = home, enrol(home)
        app = create_app(Home(home, lambda: os.environ["PERMIT_REGISTRY_PASSPHRASE"].encode()),
                         {"TESTING": True, "CLOCK": clock})
        self.client = app.test_client()

    def post(self, who: str, path: str, body: dict | None = None) -> tuple[str, str]:
        r = self.client.post(f"/admin/v1{path}", json=body or {},
                             headers={"Authorization": f"Bearer {self.tokens.get(who, '')}"})
        if r.status_code < 300:
            data = r.get_json()
            return "ok", str(data["proposal"]) if r.status_code == 202 else "done"
        return "refused", r.get_json()["detail"]

    def issue(self, who: str, applicant: dict, note: str | None = None) -> tuple[str, str]:
        return self.post(who, "/permits", {**applicant, **({"note": note} if note else {})})

    def act(self, who: str, number: str, action: str, reason: str | None = None,
            note: str | None = None) -> tuple[str, str]:
        return self.post(who, f"/permits/{number}/{action}", {**({"reason": reason} if reason else {}),
                                                              **({"note": note} if note else {})})

    def replace(self, who: str, number: str, why: str, changes: dict[str, str]) -> tuple[str, str]:
        body = {"reason": why, **({"changes": changes} if changes else {})}
        return self.post(who, f"/permits/{number}/replace", body)

    def renew(self, who: str, number: str, override: str | None = None) -> tuple[str, str]:
        return self.post(who, f"/permits/{number}/renew", {"override_residence": override} if override else {})

    def passport(self, who: str, number: str, country: str, passport: str) -> tuple[str, str]:
        return self.post(who, f"/permits/{number}/passport", {"passport_country": country,
                                                              "passport_number": passport})

    def approve(self, who: str, proposal: int) -> tuple[str, str]:
        return self.post(who, f"/pending/{proposal}/approve")

    def reject(self, who: str, proposal: int, note: str | None = None) -> tuple[str, str]:
        return self.post(who, f"/pending/{proposal}/reject", {"note": note} if note else {})

    def appeal(self, who: str, number: str, kind: str, filed: str, case: str) -> tuple[str, str]:
        return self.post(who, f"/permits/{number}/appeals", {"kind": kind, "filed": filed, "case": case})

    def decide(self, who: str, appeal: int, outcome: str, decided: str) -> tuple[str, str]:
        return self.post(who, f"/appeals/{appeal}/decide", {"outcome": outcome, "decided": decided})

    def presence(self, who: str, number: str, year: int, days: int) -> tuple[str, str]:
        return self.post(who, f"/permits/{number}/presence", {"year": year, "days": days})

    def presence_import(self, who: str, text: str) -> tuple[str, str]:
        return self.post(who, "/presence/import", {"csv": text, "source": "stays.csv"})

    def appeals(self, overdue: bool = False) -> list[dict]:
        r = self.client.get(f"/admin/v1/appeals{'?overdue=1' if overdue else ''}",
                            headers={"Authorization": f"Bearer {self.tokens['clerk']}"})
        assert r.status_code == 200, r.get_json()
        return r.get_json()["appeals"]


def counts(home: Path) -> dict[str, int]:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("permits", "cards", "allocations", "events", "proposals", "bars", "appeals", "presence")}
    finally:
        conn.close()


def snapshot(home: Path) -> dict[str, list]:
    """The register without times, ids of rows or secrets: what both adapters must leave identical."""
    conn = sqlite3.connect(home / "registry.db")
    q = lambda sql: [list(r) for r in conn.execute(sql).fetchall()]  # noqa: E731
    try:
        return {
            "permits": q("SELECT number, surname, given_names, state, passport_country, passport_number FROM permits "
                         "ORDER BY number"),
            "cards": q("SELECT number, serial, state, cause FROM cards ORDER BY number, serial"),
            "values": q("SELECT c.number, c.serial, a.value FROM allocations a JOIN cards c ON c.id = a.card_id "
                        "ORDER BY c.number, c.serial"),
            "events": q("SELECT e.number, e.action, e.from_state, e.to_state, e.card_serial, e.actor, a.name, "
                        "e.reason, e.note, CASE WHEN e.action LIKE 'key-%' THEN NULL ELSE e.detail END, "  # kids differ
                        "e.proposal_id "
                        "FROM events e LEFT JOIN operators a ON "
                        "a.id = e.approver_id ORDER BY e.id"),
            "proposals": q("SELECT id, act, number, state, summary FROM proposals ORDER BY id"),
            "bars": q("SELECT passport_country, passport_number, number, ground, until_day, lifted_at IS NOT NULL "
                      "FROM bars ORDER BY id"),
            "appeals": q("SELECT number, kind, decision_day, filed_day, window_end, due_day, case_ref, outcome "
                         "FROM appeals ORDER BY id"),
        }
    finally:
        conn.close()


_HOME_TOKENS: dict[str, dict[str, str]] = {}


def run_registry(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 120) -> Any:
    """`python -m registry.cli ARGS` in a subprocess, acting as an enrolled officer of the home: right after
    `init` the home's operators (ROLES) are enrolled; an act that becomes a proposal (four eyes) is approved
    by the second officer, and the approval's output is returned (so a script sees the permit number)."""
    import subprocess
    import sys

    home = args[args.index("--home") + 1] if "--home" in args else env.get("PERMIT_REGISTRY_HOME", "")

    def call(argv: list[str], token: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "registry.cli", *argv], capture_output=True, text=True,
                              env={**env, "PERMIT_REGISTRY_TOKEN": token or ""}, cwd=cwd, timeout=timeout)

    tokens = _HOME_TOKENS.get(str(home), {})
    proc = call(args, tokens.get("officer"))
    if proc.returncode == 0 and "init" in args and home:
        tokens = _HOME_TOKENS[str(home)] = {}
        for role, (name, kind, person) in ROLES.items():
            added = call(["--home", str(home), "operators", "add", "--name", name, "--role", kind, "--person",
                          person], tokens.get("admin"))
            assert added.returncode == 0, added.stderr
            tokens[role] = added.stdout.strip()
    out = proc.stdout.strip()
    if proc.returncode == 0 and out.isdigit() and len(out) < 18 and "approve" not in args:
        return call(["--home", str(home), "approve", out], tokens.get("officer2"))
    return proc
