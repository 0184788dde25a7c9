"""The admin API (registry/api/) and its commands (registry/api_cli.py): operators and roles, a permit's
whole life over HTTP, problem+json errors, the audit of every call, and the published files with ETags."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import NOW

from registry.api import create_app
from registry.api_cli import COMMANDS
from registry.cli import cli
from registry.home import Home
from registry.store import open_store

SMITH = {"surname": "SMITH", "given_names": "JOHN PAUL", "sex": "M", "birth_date": "1979-11-03",
         "nationality": "USA", "province": "11", "category": "talent", "passport_number": "A12345678",
         "passport_country": "USA"}
MULLER = {"surname": "MÜLLER", "given_names": "ANNA MARIA", "chinese_name": "穆安娜", "sex": "F",
          "birth_date": "1985-04-12", "nationality": "DEU", "province": "31", "category": "employment",
          "passport_number": "C01X00T47", "passport_country": "DEU"}
PROBLEM = "application/problem+json"
MISSING = "911840197911030015"  # well-formed, never issued in these tests


def registry_group() -> click.Group:
    """`registry` with this module's commands, whether or not registry/cli.py registers them yet."""
    return click.Group("registry", params=cli.params, callback=cli.callback,
                       commands={**cli.commands, **{c.name: c for c in COMMANDS}})


def run_cli(home: Path, *args: str, token: str | None = None) -> click.testing.Result:
    result = CliRunner().invoke(registry_group(), ["--home", str(home), *args], catch_exceptions=False,
                                env={"PERMIT_REGISTRY_TOKEN": token or ""})
    assert result.exit_code == 0, result.output
    return result


def add_operator(home: Path, name: str, role: str, person: str, admin: str | None = None) -> str:
    return run_cli(home, "operators", "add", "--name", name, "--role", role, "--person", person,
                   token=admin).stdout.strip()


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(registry_home: Path, clock: Clock):
    home = Home(registry_home, lambda: os.environ["PERMIT_REGISTRY_PASSPHRASE"].encode())
    return create_app(home, {"TESTING": True, "CLOCK": clock})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(registry_home: Path, client) -> dict[str, str]:
    """admin (the bootstrap) and clerk made with the CLI, the officers made by the admin over HTTP."""
    found = {"admin": add_operator(registry_home, "root-admin", "admin", "S-0001")}
    found["clerk"] = add_operator(registry_home, "carol.clerk", "clerk", "S-0002", found["admin"])
    for role, name, person in (("officer", "oscar.officer", "S-0003"), ("officer2", "olga.officer", "S-0004")):
        r = client.post("/admin/v1/operators", json={"name": name, "role": "officer", "person": person},
                        headers=auth(found["admin"]))
        assert r.status_code == 201, r.json
        found[role] = r.json["token"]
    return found


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(r, status: int, reason: str | None = None) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    body = r.get_json(force=True)
    assert body["status"] == status and body["type"].startswith("urn:permit-registry:problem:")
    assert body["title"] and "detail" in body
    assert "Traceback" not in r.get_data(as_text=True)
    if reason:
        assert body["reason"] == reason
    return body


APPROVER: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _approver(request) -> None:
    APPROVER.clear()
    if "tokens" in request.fixturenames:
        APPROVER["token"] = request.getfixturevalue("tokens")["officer2"]


def approve(client, r, approver: str | None = None):
    """Approve the proposal of a 202 answer as the second officer; the approval's answer."""
    assert r.status_code == 202, r.get_data(as_text=True)
    done = client.post(f"/admin/v1/pending/{r.json['proposal']}/approve", headers=auth(approver or APPROVER["token"]))
    assert done.status_code == 200, done.get_data(as_text=True)
    return done


def issue(client, token: str, applicant: dict | None = None, **extra: object) -> str:
    """Propose as `token`, approve as the second officer (issuance is under four eyes by default)."""
    r = client.post("/admin/v1/permits", json={**(applicant or SMITH), **extra}, headers=auth(token))
    return approve(client, r).json["number"]


def act(client, token: str, number: str, action: str, body: dict | None = None, status: int = 200):
    """An act; one under four eyes (202) is approved by the second officer."""
    r = client.post(f"/admin/v1/permits/{number}/{action}", json=body or {}, headers=auth(token))
    if r.status_code == 202 and status == 200:
        return approve(client, r)
    assert r.status_code == status, r.get_data(as_text=True)
    return r


# ---- a permit's whole life ---------------------------------------------------------------------------------

def test_a_permit_life_over_http(client, tokens, clock) -> None:
    clerk, officer = tokens["clerk"], tokens["officer"]
    number = issue(client, clerk, note="walk-in")
    shown = client.get(f"/admin/v1/permits/{number}", headers=auth(clerk)).json
    assert shown["status"] == "active" and shown["card"] == 1 and shown["surname"] == "SMITH"
    assert shown["qr_text"].startswith("PR1:")

    forbidden = client.post(f"/admin/v1/permits/{number}/revoke", json={"reason": "fraud"}, headers=auth(clerk))
    body = assert_problem(forbidden, 403)
    assert "SMITH" not in json.dumps(body) and number not in json.dumps(body) and "carol" not in json.dumps(body)

    clock.t += 60
    assert act(client, officer, number, "suspend", {"reason": "investigation", "note": "case 7"}).json[
        "status"] == "suspended"
    assert_problem(act(client, clerk, number, "renew", status=409), 409, "USAGE")  # suspended: no renewal
    clock.t += 60
    assert act(client, officer, number, "reinstate", {"reason": "decision 12"}).json["status"] == "active"
    clock.t += 60
    renewed = act(client, clerk, number, "renew").json
    assert renewed["status"] == "active" and renewed["card"] == 2
    clock.t += 60
    replaced = act(client, clerk, number, "replace",
                   {"reason": "data-changed", "changes": {"surname": "SMITH-JONES"}}).json
    assert replaced["card"] == 3 and replaced["surname"] == "SMITH-JONES"
    assert act(client, clerk, number, "replace", {"reason": "lost"}).json["card"] == 4
    clock.t += 60
    assert act(client, officer, number, "revoke", {"reason": "fraud", "note": "file 9"}).json["status"] == "revoked"
    assert_problem(act(client, clerk, number, "renew", status=409), 409)

    png = client.get(f"/admin/v1/permits/{number}/qr.png", headers=auth(clerk))
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/admin/v1/permits/{number}/qr.svg?card=1", headers=auth(clerk))
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert_problem(client.get(f"/admin/v1/permits/{number}/qr.png?card=9", headers=auth(clerk)), 404)

    history = client.get(f"/admin/v1/permits/{number}/history", headers=auth(clerk)).json
    events = [(e["action"], e["actor"], e["approver"]) for e in history["events"] if e["action"] != "propose"]
    olga = "olga.officer"
    assert events == [("issue", "carol.clerk", olga), ("suspend", "oscar.officer", None),
                      ("reinstate", "oscar.officer", olga), ("renew", "carol.clerk", None),
                      ("replace", "carol.clerk", olga), ("replace", "carol.clerk", olga),
                      ("revoke", "oscar.officer", olga)]
    assert history["events"][0]["note"] == "walk-in" and history["events"][-1]["reason"] == "fraud"
    calls = [(c["method"], c["permission"], c["operator"], c["status"]) for c in history["calls"]]
    assert ("POST", "approve", "olga.officer", 200) in calls  # the issuance happened on approval
    assert ("POST", "revoke", "carol.clerk", 403) in calls  # the refusal is recorded too
    assert ("POST", "renew", "carol.clerk", 409) in calls
    assert ("GET", "read", "carol.clerk", 200) in calls
    assert ("GET", "qr", "carol.clerk", 404) in calls

    other = issue(client, clerk, MULLER)
    found = client.get("/admin/v1/permits?name=müll&status=active", headers=auth(clerk)).json["permits"]
    assert [p["number"] for p in found] == [other]
    revoked = client.get("/admin/v1/permits?status=revoked", headers=auth(clerk)).json["permits"]
    assert [p["number"] for p in revoked] == [number]
    assert client.get("/admin/v1/permits?name=%25", headers=auth(clerk)).json["permits"] == []  # % is literal
    assert len(client.get("/admin/v1/permits?nationality=deu", headers=auth(clerk)).json["permits"]) == 1


def test_status_actions_and_death(client, tokens) -> None:
    officer = tokens["officer"]
    a, b = issue(client, officer), issue(client, officer, MULLER)
    assert act(client, officer, a, "surrender", {"note": "left the country"}).json["status"] == "surrendered"
    assert act(client, officer, b, "record-death").json["status"] == "deceased"
    assert_problem(act(client, officer, b, "suspend", status=409), 409)


def test_issue_with_a_photo_sent_as_base64(client, tokens) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 80), (200, 180, 160)).save(buf, format="PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    number = issue(client, tokens["clerk"], photo=data_uri)
    shown = client.get(f"/admin/v1/permits/{number}", headers=auth(tokens["clerk"])).json
    assert shown["photo"] == {"type": "png", "bytes": len(buf.getvalue())}
    r = client.post("/admin/v1/permits", json={**SMITH, "photo": "/etc/passwd"}, headers=auth(tokens["clerk"]))
    assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["photo"]  # never a server path
    r = client.post("/admin/v1/permits", json={**SMITH, "photo": base64.b64encode(b"GIF89a....").decode()},
                    headers=auth(tokens["clerk"]))
    assert "not a JPEG or PNG" in assert_problem(r, 422)["errors"][0]["detail"]


# ---- roles -------------------------------------------------------------------------------------------------

ROUTES = [  # (permission, method, path, body)
    ("issue", "POST", "/admin/v1/permits", {}),
    ("read", "GET", f"/admin/v1/permits/{MISSING}", None),
    ("read", "GET", f"/admin/v1/permits/{MISSING}/history", None),
    ("read", "GET", "/admin/v1/permits", None),
    ("qr", "GET", f"/admin/v1/permits/{MISSING}/qr.png", None),
    ("renew", "POST", f"/admin/v1/permits/{MISSING}/renew", {}),
    ("replace", "POST", f"/admin/v1/permits/{MISSING}/replace", {"reason": "lost"}),
    ("revoke", "POST", f"/admin/v1/permits/{MISSING}/revoke", {"reason": "fraud"}),
    ("suspend", "POST", f"/admin/v1/permits/{MISSING}/suspend", {}),
    ("reinstate", "POST", f"/admin/v1/permits/{MISSING}/reinstate", {}),
    ("surrender", "POST", f"/admin/v1/permits/{MISSING}/surrender", {}),
    ("record-death", "POST", f"/admin/v1/permits/{MISSING}/record-death", {}),
    ("publish", "POST", "/admin/v1/publish", None),
    ("operators", "GET", "/admin/v1/operators", None),
    ("operators", "POST", "/admin/v1/operators", {}),
    ("operators", "POST", "/admin/v1/operators/nobody/revoke", None),
]
ALLOWED = {
    "clerk": {"issue", "read", "qr", "renew", "replace"},
    "officer": {"issue", "read", "qr", "renew", "replace", "revoke", "suspend", "reinstate", "surrender",
                "record-death", "publish"},
    "admin": {p for p, *_ in ROUTES},
}


@pytest.mark.parametrize("role", ["clerk", "officer", "admin"])
def test_role_table(client, tokens, role: str) -> None:
    """Authorisation comes before any lookup: an allowed role meets 200/404/422, a refused one 403."""
    for permission, method, path, body in ROUTES:
        r = client.open(path, method=method, json=body, headers=auth(tokens[role]))
        if permission in ALLOWED[role]:
            assert r.status_code != 403, (role, path, r.json)
            assert r.status_code < 500, (role, path, r.json)
        else:
            assert_problem(r, 403)


# ---- authentication ----------------------------------------------------------------------------------------

def test_authentication_and_revoked_tokens(client, tokens, registry_home: Path) -> None:
    number = issue(client, tokens["clerk"])
    for headers in ({}, {"Authorization": "Bearer prt_not-a-real-token"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer " + "x" * 5000}):
        r = client.get(f"/admin/v1/permits/{number}", headers=headers)
        body = assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert number not in json.dumps(body) and "SMITH" not in json.dumps(body)
    assert_problem(client.get("/admin/v1/no-such-route"), 401)  # no map of the API before authenticating

    run_cli(registry_home, "operators", "revoke", "carol.clerk", token=tokens["admin"])
    assert_problem(client.get(f"/admin/v1/permits/{number}", headers=auth(tokens["clerk"])), 401)
    r = client.post("/admin/v1/operators/oscar.officer/revoke", headers=auth(tokens["admin"]))
    assert r.status_code == 200
    assert_problem(client.get("/admin/v1/permits", headers=auth(tokens["officer"])), 401)

    db = open_store(registry_home / "registry.db")
    stored = [r["token_hash"] for r in db.query("SELECT token_hash FROM operators")]
    assert hashlib.sha256(tokens["clerk"].encode()).hexdigest() in stored
    assert not any(t in json.dumps(stored) for t in tokens.values())  # only hashes are kept
    refused = list(db.query("SELECT operator, status FROM api_calls WHERE status = 401"))
    assert {"operator": None, "status": 401} in refused
    assert {"operator": "carol.clerk", "status": 401} in refused  # the revoked token's owner is named


def test_operators_commands(registry_home: Path) -> None:
    first = CliRunner().invoke(registry_group(), ["--home", str(registry_home), "operators", "add", "--name",
                                                  "dora", "--role", "clerk", "--person", "S-1000"])
    assert first.exit_code != 0 and "the first operator of a registry is an admin" in str(first.exception)
    admin = add_operator(registry_home, "root", "admin", "S-0001")
    assert admin.startswith("prt_") and len(admin) == 4 + 43
    alone = CliRunner().invoke(registry_group(), ["--home", str(registry_home), "operators", "add", "--name",
                                                  "eve", "--role", "admin", "--person", "S-6666"])
    assert alone.exit_code != 0 and "needs an admin's token" in str(alone.exception)  # no second bootstrap
    token = add_operator(registry_home, "dora", "clerk", "S-1000", admin)
    listed = run_cli(registry_home, "operators", "list", "--json").stdout
    assert [o["name"] for o in json.loads(listed)] == ["dora", "root"] and token not in listed
    assert "hash" not in listed and json.loads(listed)[0]["person"] == "s1000"
    again = CliRunner().invoke(registry_group(), ["--home", str(registry_home), "operators", "add", "--name",
                                                  "dora", "--role", "officer", "--person", "S-2000"],
                               env={"PERMIT_REGISTRY_TOKEN": admin})
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    by_clerk = CliRunner().invoke(registry_group(), ["--home", str(registry_home), "operators", "revoke", "root"],
                                  env={"PERMIT_REGISTRY_TOKEN": token})
    assert by_clerk.exit_code != 0 and "only an admin" in str(by_clerk.exception)
    run_cli(registry_home, "operators", "revoke", "dora", token=admin)
    assert [o["name"] for o in json.loads(run_cli(registry_home, "operators", "list", "--json").stdout)] == ["root"]
    assert json.loads(run_cli(registry_home, "operators", "list", "--all", "--json").stdout)[0]["revoked_at"]
    assert add_operator(registry_home, "dora", "officer", "S-1000", admin) != token  # a new token, same name
    db = open_store(registry_home / "registry.db")
    assert [r["action"] for r in db.query("SELECT action FROM events WHERE action LIKE 'operator-%' ORDER BY id")] \
        == ["operator-add", "operator-add", "operator-revoke", "operator-add"]  # enrolment is an event


# ---- errors ------------------------------------------------------------------------------------------------

def test_bad_input_is_problem_json(client, tokens) -> None:
    clerk, officer = auth(tokens["clerk"]), auth(tokens["officer"])
    body = assert_problem(client.post("/admin/v1/permits", data="{not json", headers={
        **clerk, "Content-Type": "application/json"}), 400, "MALFORMED")
    assert "not valid JSON" in body["detail"]
    assert_problem(client.post("/admin/v1/permits", json=["a", "list"], headers=clerk), 400, "MALFORMED")
    assert_problem(client.post("/admin/v1/permits", headers=clerk), 400, "MALFORMED")
    assert_problem(client.post("/admin/v1/permits", data=b"\xff\xfe", headers={
        **clerk, "Content-Type": "application/json"}), 400)
    assert_problem(client.post("/admin/v1/permits", data="surname=x", headers={
        **clerk, "Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert_problem(client.post("/admin/v1/permits", data="[" * 100_000, headers={
        **clerk, "Content-Type": "application/json"}), 400)
    assert_problem(client.post("/admin/v1/permits", data=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={
        **clerk, "Content-Type": "application/json"}), 413)

    r = client.post("/admin/v1/permits", json={"surname": "SMITH", "sex": "X", "birth_date": "1979-13-01",
                                               "nationality": "CHN", "actor": "someone-else", "note": 5},
                    headers=clerk)
    errors = {e["field"]: e["detail"] for e in assert_problem(r, 422, "USAGE")["errors"]}
    assert set(errors) == {"note", "actor", "given_names", "sex", "birth_date", "nationality", "province",
                           "category", "passport_number", "passport_country"}
    assert errors["actor"] == "unknown field" and errors["given_names"] == "is required"
    assert all(e["pointer"] == "#/" + e["field"] for e in r.json["errors"])

    number = issue(client, tokens["clerk"])
    assert_problem(client.get(f"/admin/v1/permits/{MISSING}", headers=clerk), 404)
    assert_problem(client.get("/admin/v1/permits/../../etc", headers=clerk), 404)
    assert_problem(client.post(f"/admin/v1/permits/{number}/explode", json={}, headers=officer), 404)
    assert_problem(client.delete(f"/admin/v1/permits/{number}", headers=officer), 405)
    r = act(client, tokens["officer"], number, "revoke", {"reason": "because", "color": "red"}, status=422)
    assert {e["field"] for e in r.json["errors"]} == {"reason", "color"}
    r = act(client, tokens["clerk"], number, "replace", {"reason": "data-changed", "changes": {
        "birth_date": "1970-01-01", "surname": "1234", "category": 3}}, status=422)
    assert {e["field"] for e in r.json["errors"]} == {"changes.birth_date", "changes.surname", "changes.category"}
    assert r.json["errors"][0]["pointer"] == "#/changes/birth_date"
    act(client, tokens["clerk"], number, "replace", {"reason": "data-changed"}, status=422)
    act(client, tokens["clerk"], number, "replace", {"reason": "lost", "changes": {"surname": "X"}}, status=422)
    r = client.get("/admin/v1/permits?status=zombie&limit=0&nationality=12&colour=red", headers=clerk)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"status", "limit", "nationality", "colour"}
    assert client.get(f"/admin/v1/permits/{number}", headers=clerk).json["card"] == 1  # nothing changed

    issue(client, tokens["clerk"], MULLER, ref="APP-1")
    r = client.post("/admin/v1/permits", json={**MULLER, "passport_number": "X1234567", "ref": "APP-1"},
                    headers=clerk)
    assert assert_problem(r, 409)["type"].endswith(":ref-issued")
    r = client.post("/admin/v1/permits", json=SMITH, headers=clerk)  # SMITH holds `number`: one person, one permit
    body = assert_problem(r, 409)
    assert body["type"].endswith(":duplicate-person") and number in body["detail"]


def test_unexpected_errors_are_plain_500s(client, tokens, monkeypatch) -> None:
    import registry.api.admin as admin

    number = issue(client, tokens["clerk"])

    def boom(*_args: object) -> None:
        raise RuntimeError("secret internals /srv/registry.db")

    monkeypatch.setattr(admin, "permit_view", boom)
    r = client.get(f"/admin/v1/permits/{number}", headers=auth(tokens["clerk"]))
    body = assert_problem(r, 500)
    assert "secret internals" not in r.get_data(as_text=True) and body["type"].endswith("internal-error")


def test_a_read_that_cannot_be_audited_is_not_answered(client, tokens, monkeypatch) -> None:
    import registry.api as api
    from registry.store import StoreError

    number = issue(client, tokens["clerk"])

    def fail(*_args: object) -> None:
        raise StoreError("the permit store is busy")

    monkeypatch.setattr(api, "record_call", fail)
    r = client.get(f"/admin/v1/permits/{number}", headers=auth(tokens["clerk"]))
    body = assert_problem(r, 503)
    assert "SMITH" not in r.get_data(as_text=True) and body["type"].endswith("audit-unavailable")


# ---- publishing and the published files --------------------------------------------------------------------

def test_full_disk_is_a_storage_fault_not_signing_unavailable(client, tokens, monkeypatch) -> None:
    """A publish that meets a full disk answers 500 storage-error (cause STORAGE), never "signing unavailable"."""
    import errno
    import types

    import keys.files

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    issue(client, tokens["clerk"])
    monkeypatch.setattr(keys.files, "tempfile", types.SimpleNamespace(mkstemp=full))
    r = client.post("/admin/v1/publish", headers=auth(tokens["officer"]))
    body = assert_problem(r, 500, "STORE")
    assert body["type"].endswith(":storage-error") and "disk" not in body["detail"]


def test_publish_then_serve_with_etag(client, tokens, registry_home: Path) -> None:
    number = issue(client, tokens["clerk"])
    assert_problem(client.post("/admin/v1/publish", headers=auth(tokens["clerk"])), 403)
    r = client.post("/admin/v1/publish", headers=auth(tokens["officer"]))
    assert r.status_code == 200 and r.json["trust_signed"] and r.json["lists"] == 1
    public = registry_home / "public"
    assert {p.name for p in public.iterdir()} == {"metadata", "targets", "log", "check"}  # the log and the desk page
    logged = open_store(registry_home / "registry.db").execute(
        "SELECT e.action, o.role FROM events e JOIN operators o ON o.id = e.operator_id ORDER BY e.id DESC LIMIT 1")
    assert list(logged) == [("publish", "officer")]  # the publish is the officer's logged act

    timestamp = client.get("/published/metadata/timestamp.json")
    assert timestamp.status_code == 200 and timestamp.mimetype == "application/json"
    etag = hashlib.sha256((public / "metadata" / "timestamp.json").read_bytes()).hexdigest()
    assert timestamp.headers["ETag"] == f'"{etag}"'
    assert timestamp.headers["Cache-Control"] == "public, no-cache"  # a cached timestamp would age every list
    again = client.get("/published/metadata/timestamp.json", headers={"If-None-Match": timestamp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == timestamp.headers["ETag"]
    assert client.get("/published/metadata/timestamp.json", headers={"If-None-Match": '"other"'}).status_code == 200

    targets = json.loads(client.get("/published/metadata/1.targets.json").data)["signed"]["targets"]
    digest = targets["status/1.cwt"]["hashes"]["sha256"]
    status = client.get(f"/published/targets/status/{digest}.1.cwt")
    assert status.status_code == 200 and status.mimetype == "application/statuslist+cwt"
    assert status.headers["Cache-Control"] == "public, max-age=31536000, immutable"  # named by its hash
    trust_digest = targets["trust-list.cwt"]["hashes"]["sha256"]
    trust = client.get(f"/published/targets/{trust_digest}.trust-list.cwt")
    assert trust.data == (public / "targets" / f"{trust_digest}.trust-list.cwt").read_bytes()
    assert client.get("/published/metadata/root.json").headers["Cache-Control"] == "public, no-cache"
    assert client.head("/published/metadata/1.root.json").status_code == 200

    act(client, tokens["officer"], number, "suspend")  # a status list changes: a new timestamp, a new ETag
    client.post("/admin/v1/publish", headers=auth(tokens["officer"]))
    changed = client.get("/published/metadata/timestamp.json", headers={"If-None-Match": timestamp.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != timestamp.headers["ETag"]


@pytest.mark.parametrize("path", ["../config.json", "..%2fconfig.json", "%2e%2e/registry.db", "status/../../x",
                                  "/etc/passwd", "status", ".hidden", "status/.1.cwt.tmp", "nothing.json",
                                  "..\\config.json", "metadata/timestamp.json%00"])
def test_published_refuses_paths_outside(client, tokens, registry_home: Path, path: str) -> None:
    client.post("/admin/v1/publish", headers=auth(tokens["officer"]))
    (registry_home / "public" / ".hidden").write_text("secret")
    r = client.get(f"/published/{path}", follow_redirects=True)  # //etc/passwd: a 308 to /published/etc/passwd
    assert r.status_code == 404, path
    assert b"secret" not in r.data and b"authority" not in r.data


# ---- a real gunicorn ---------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, token: str | None = None, body: dict | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


SERVE = ("import sys\n"
         "from registry.cli import cli, main\n"
         "from registry.api_cli import COMMANDS\n"
         "for c in COMMANDS:\n"
         "    cli.commands.setdefault(c.name, c)\n"
         "sys.argv[0] = 'registry'\n"
         "main()\n")


def test_real_gunicorn(registry_home: Path, tmp_path: Path) -> None:
    admin = add_operator(registry_home, "root", "admin", "S-0001")
    officer = add_operator(registry_home, "oscar.officer", "officer", "S-0003", admin)

    from live_registry import serve_registry  # it imports this module's helpers

    with serve_registry(registry_home, tmp_path / "gunicorn.log") as base:
        status, _, body = _http("POST", f"{base}/admin/v1/permits", officer, SMITH)
        assert status == 202, body  # four eyes: the admin approves
        status, _, body = _http("POST", f"{base}/admin/v1/pending/{json.loads(body)['proposal']}/approve", admin)
        assert status == 200, body
        number = json.loads(body)["number"]
        status, headers, body = _http("POST", f"{base}/admin/v1/permits/{number}/revoke", None, {"reason": "x"})
        assert status == 401 and headers["Content-Type"] == PROBLEM
        assert _http("POST", f"{base}/admin/v1/permits/{number}/suspend", officer, {})[0] == 200
        assert _http("POST", f"{base}/admin/v1/publish", officer, {})[0] == 200

        status, headers, _ = _http("GET", f"{base}/published/metadata/timestamp.json")
        assert status == 200 and headers["Cache-Control"] == "public, no-cache"
        assert _http("GET", f"{base}/published/metadata/timestamp.json",
                     headers={"If-None-Match": headers["ETag"]})[0] == 304

        # A verifier syncs from the server and sees the suspension.
        from verifier.cache import Cache

        cache = Cache(tmp_path / "bank")
        root = _http("GET", f"{base}/published/metadata/root.json")[2]
        report = cache.sync(f"{base}/published/", int(time.time()), root)
        assert report.trust_version >= 1 and report.status_lists == 1
        from verifier.check import check

        card = json.loads(_http("GET", f"{base}/admin/v1/permits/{number}", officer)[2])
        result = check(card["qr_text"], cache.trust_list(), int(time.time()), cache.status_lookup())
        assert result.reason.value == "SUSPENDED"


def test_the_office_rules_routes_answer_problem_json(client, tokens) -> None:
    clerk, officer, admin = auth(tokens["clerk"]), auth(tokens["officer"]), auth(tokens["admin"])
    number = issue(client, tokens["clerk"])
    r = client.post(f"/admin/v1/permits/{number}/revoke", json={"reason": "fraud"}, headers=officer)
    proposal = r.json["proposal"]
    assert r.status_code == 202 and r.json["status"] == "pending" and r.json["approve"].endswith(f"/{proposal}/approve")
    assert [p["id"] for p in client.get("/admin/v1/pending", headers=clerk).json["pending"]] == [proposal]
    assert assert_problem(client.post(f"/admin/v1/pending/{proposal}/approve", headers=clerk), 403)["type"] \
        .endswith(":forbidden")
    body = assert_problem(client.post(f"/admin/v1/pending/{proposal}/approve", headers=officer), 403)
    assert body["type"].endswith(":self-approval") and body["detail"].startswith(f"proposal {proposal} was made by")
    assert_problem(client.post("/admin/v1/pending/999/approve", headers=officer), 404)
    r = client.post(f"/admin/v1/pending/{proposal}/reject", json={"why": "x"}, headers=officer)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"why"}
    r = client.post(f"/admin/v1/permits/{number}/appeals", json={"kind": "appeal", "filed": "2026-13-01"},
                    headers=clerk)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"filed", "case"}
    r = client.post(f"/admin/v1/permits/{number}/appeals", json={"kind": "reconsideration", "filed": "2026-11-22",
                                                                 "case": "R-1"}, headers=clerk)
    assert assert_problem(r, 409)["type"].endswith(":not-appealable")  # still active: nothing to appeal
    r = client.post(f"/admin/v1/permits/{number}/presence", json={"year": "2025", "days": True}, headers=clerk)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"year", "days"}
    r = client.post(f"/admin/v1/permits/{number}/passport", json={"passport_number": "12", "colour": 1}, headers=clerk)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"passport_number", "passport_country", "colour"}
    assert_problem(client.post("/admin/v1/appeals/7/decide", json={"outcome": "upheld", "decided": "2026-11-22"},
                               headers=officer), 404)
    r = client.post("/admin/v1/operators", json={"name": "x", "role": "clerk"}, headers=admin)
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"person"}
    r = client.post("/admin/v1/operators", json={"name": "twin", "role": "officer", "person": "s 0003"}, headers=admin)
    assert assert_problem(r, 409)["type"].endswith(":person-has-account")
