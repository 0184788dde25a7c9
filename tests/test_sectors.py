"""The sector policy file: every sector the law names has documented defaults, the operator's changes take
effect in a running service, and a broken file is refused whole."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import Issuer, make_permit
from test_server import _cache, _post

from verifier.cli import cli
from verifier.server import orgs
from verifier.server.app import create_app
from verifier.server.sectors import HOLDER, PolicyError, load_policy, parse_policy, policy_path

ROOT = Path(__file__).resolve().parent.parent
NAMED = ("bank", "insurer", "hotel", "rail", "civil-aviation", "telecom", "hospital", "school", "employer",
         "social-insurance", "property-registration", "court", "other")


def test_every_sector_the_law_names_has_a_default_and_is_documented(tmp_path: Path) -> None:
    sectors = load_policy(tmp_path)
    assert set(NAMED) <= set(sectors)
    assert policy_path(tmp_path).exists()  # created from the packaged defaults, for the operator to read
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, sector in sectors.items():
        row = re.search(rf"^\| {re.escape(name)} \|(.*)$", readme, re.M)
        assert row, f"README's sector table has no row for {name}"
        hours = sector.max_status_age // 3600
        assert f"{hours} hour" in row.group(1) and f"{sector.rate:g}/s" in row.group(1), name
    assert sectors["rail"].fields == frozenset() and sectors["bank"].fields == HOLDER


@pytest.mark.parametrize(("doc", "words"), [
    ("{", "not valid JSON"),
    ({"sectors": {}}, "non-empty"),
    ({"sectors": {"bank": {"fields": ["number", "passport_photo"], "max_status_age": 60, "rate": 1, "burst": 1}}},
     "passport_photo"),
    ({"sectors": {"bank": {"fields": [], "max_status_age": -1, "rate": 1, "burst": 1}}}, "max_status_age"),
    ({"sectors": {"bank": {"fields": [], "max_status_age": 60, "rate": 0, "burst": 1}}}, "rate"),
    ({"sectors": {"bank": {"fields": [], "max_status_age": 60, "rate": 1}}}, "exactly the fields"),
    ({"sectors": {"Bank Ltd": {"fields": [], "max_status_age": 60, "rate": 1, "burst": 1}}}, "lower-case"),
    ({"sectors": {"bank": {"fields": "all", "max_status_age": 60, "rate": 1, "burst": 1}}}, "list of field"),
])
def test_a_broken_policy_file_is_refused_whole(doc: object, words: str) -> None:
    data = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
    with pytest.raises(PolicyError, match=words):
        parse_policy(data)


def _edit(cache_dir: Path, change) -> None:
    path = policy_path(cache_dir)
    doc = json.loads(path.read_text())
    change(doc["sectors"])
    path.write_text(json.dumps(doc))


def test_operator_change_to_the_policy_takes_effect_in_a_running_service(issuer: Issuer, tmp_path: Path) -> None:
    cache = _cache(issuer, tmp_path, revoked=[77], now=int(time.time()))
    conn = orgs.connect(cache.dir)
    key = orgs.add_org(conn, "Hotel", "hotel", int(time.time()))
    app = create_app(cache.dir, {"TESTING": True})
    client = app.test_client()
    try:
        first = _post(client, "/v1/verify", key, {"payload": issuer.sign()}).get_json()
        assert first["reason"] == "VALID" and "birth_date" in first["permit"]

        def hotel_sees_less_and_wants_fresh_status(sectors: dict) -> None:
            sectors["hotel"]["fields"] = ["number", "surname"]
            sectors["hotel"]["max_status_age"] = 10  # the list is 60 s old

        _edit(cache.dir, hotel_sees_less_and_wants_fresh_status)
        time.sleep(1.1)  # servers re-read the policy at most once a second
        out = _post(client, "/v1/verify", key, {"payload": issuer.sign()}).get_json()
        assert (out["reason"], out["permit"]) == ("STATUS_STALE", None)
        _edit(cache.dir, lambda s: s["hotel"].update(max_status_age=3600))
        time.sleep(1.1)
        out = _post(client, "/v1/verify", key, {"payload": issuer.sign()}).get_json()
        assert out["reason"] == "VALID" and set(out["permit"]) == {"number", "surname"}

        _edit(cache.dir, lambda s: s.pop("hotel"))
        time.sleep(1.1)
        refused = _post(client, "/v1/verify", key, {"payload": issuer.sign()})
        assert refused.status_code == 403 and "hotel" in refused.get_json()["detail"]

        policy_path(cache.dir).write_text('{"sectors": {"hotel": "everything"}}')  # broken while running
        time.sleep(1.1)
        assert _post(client, "/v1/verify", key, {"payload": issuer.sign()}).status_code == 403  # last valid kept
        assert "policy_error" in client.get("/health").get_json()
    finally:
        app.extensions["verifier"].audit.close()


def test_orgs_add_validates_the_sector_against_the_policy_file(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--cache", str(tmp_path), "orgs", "add", "--name"]
    refused = runner.invoke(cli, [*base, "Bar", "--sector", "casino"])
    assert refused.exit_code == 2 and "casino" in refused.output and "civil-aviation" in refused.output
    assert orgs.list_orgs(orgs.connect(tmp_path)) == []  # nothing stored
    ok = runner.invoke(cli, [*base, "Air China", "--sector", "civil-aviation"])
    assert ok.exit_code == 0 and ok.output.startswith("pvk_")
    _edit(tmp_path, lambda s: s.update(casino={"fields": ["number"], "max_status_age": 600, "rate": 5, "burst": 5}))
    added = runner.invoke(cli, [*base, "Bar", "--sector", "casino"])
    assert added.exit_code == 0
    listing = runner.invoke(cli, ["--cache", str(tmp_path), "orgs", "list"]).output
    assert "Bar\tcasino\t5/s (sector)" in listing
    shown = runner.invoke(cli, ["--cache", str(tmp_path), "sectors", "show"]).output
    assert "casino\tstatus age 600 s\trate 5/s burst 5\tnumber" in shown


def test_rail_sector_sees_no_holder_field(issuer: Issuer, tmp_path: Path) -> None:
    cache = _cache(issuer, tmp_path, now=int(time.time()))
    key = orgs.add_org(orgs.connect(cache.dir), "Rail", "rail", int(time.time()))
    app = create_app(cache.dir, {"TESTING": True})
    try:
        out = _post(app.test_client(), "/v1/verify", key, {"payload": issuer.sign(make_permit())}).get_json()
        assert out["reason"] == "VALID" and out["permit"] == {}
    finally:
        app.extensions["verifier"].audit.close()
