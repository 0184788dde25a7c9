"""What POST /v1/verify does cheaply must still hold from outside: a key the server remembers is dropped
when revoked or its sector's policy changes, guessed keys are not remembered, the body is read whole or
refused, the answer is what flask.jsonify would write, the sector sees only its fields, and the audit
writer's multi-row inserts lose or reorder nothing."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest
from flask import jsonify
from helpers import NOW, Issuer, make_permit
from test_server import _cache, _post, live_server, service  # noqa: F401 - fixtures

from keys.permit import Permit
from verifier.check import check
from verifier.server import orgs
from verifier.server.app import create_app
from verifier.server.audit import AuditLog
from verifier.server.requests import json_response
from verifier.server.sectors import HOLDER, default_policy_bytes, load_policy, parse_policy, policy_path


def test_remembered_key_stops_working_within_a_second_of_revocation(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, cache = service
    text = issuer.sign()
    for _ in range(3):  # the key is now remembered by the worker
        assert _post(client, "/v1/verify", keys["bank"], {"payload": text}).status_code == 200
    orgs.revoke_org(orgs.connect(cache.dir), "bank org", NOW)
    time.sleep(1.1)
    resp = _post(client, "/v1/verify", keys["bank"], {"payload": text})
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


def test_remembered_key_follows_a_policy_change_within_a_second(issuer: Issuer, tmp_path: Path) -> None:
    cache = _cache(issuer, tmp_path, now=int(time.time()))
    key = orgs.add_org(orgs.connect(cache.dir), "Hotel", "hotel", NOW)
    app = create_app(cache.dir, {"TESTING": True})
    client, text = app.test_client(), issuer.sign()
    try:
        assert "birth_date" in _post(client, "/v1/verify", key, {"payload": text}).get_json()["permit"]
        path = policy_path(cache.dir)
        policy = json.loads(path.read_text())
        policy["sectors"]["hotel"]["fields"] = ["number"]
        path.write_text(json.dumps(policy))
        time.sleep(1.1)
        assert _post(client, "/v1/verify", key, {"payload": text}).get_json()["permit"] == {
            "number": make_permit().number}
        del policy["sectors"]["hotel"]
        path.write_text(json.dumps(policy))
        time.sleep(1.1)
        assert _post(client, "/v1/verify", key, {"payload": text}).status_code == 403
    finally:
        app.extensions["verifier"].audit.close()


def test_guessed_keys_are_not_remembered(service) -> None:  # noqa: F811
    client, keys, _ = service
    state = client.application.extensions["verifier"]
    for i in range(200):
        assert _post(client, "/v1/verify", f"pvk_guess{i}", {"payload": "x"}).status_code == 401
    assert _post(client, "/v1/verify", keys["rail"], {"payload": "x"}).status_code == 200
    assert list(state._keys[1]) == [keys["rail"]]  # only the key that was found


def test_body_shorter_than_its_content_length_is_refused(service) -> None:  # noqa: F811
    client, keys, _ = service
    body = json.dumps({"payload": "x"}).encode()
    resp = client.post("/v1/verify", data=body, content_type="application/json",
                       headers={"Authorization": f"Bearer {keys['bank']}"},
                       environ_overrides={"CONTENT_LENGTH": str(len(body) + 10)})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_json_body_in_another_unicode_encoding_is_still_read(service, issuer: Issuer, encoding: str) -> None:  # noqa: F811
    client, keys, _ = service
    body = json.dumps({"payload": issuer.sign()}).encode(encoding)
    resp = client.post("/v1/verify", data=body, content_type="application/json",
                       headers={"Authorization": f"Bearer {keys['bank']}"})
    assert resp.status_code == 200 and resp.get_json()["verdict"] == "valid"


def test_content_type_with_parameters_is_json(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    resp = client.post("/v1/verify", data=json.dumps({"payload": issuer.sign()}),
                       content_type="application/json; charset=utf-8",
                       headers={"Authorization": f"Bearer {keys['bank']}"})
    assert resp.status_code == 200


def test_chunked_body_on_the_real_server_is_read(live_server, issuer: Issuer) -> None:  # noqa: F811
    url, keys, _, _ = live_server
    body = json.dumps({"payload": issuer.sign()}).encode()
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    conn.request("POST", "/v1/verify", body=iter([body[:10], body[10:]]), encode_chunked=True,
                 headers={"Authorization": f"Bearer {keys['hotel']}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["verdict"] == "valid"
    conn.close()


def test_answer_is_byte_for_byte_what_jsonify_writes(service, issuer: Issuer) -> None:  # noqa: F811
    client, keys, _ = service
    resp = client.post("/v1/verify", json={"payload": issuer.sign()},
                       headers={"Authorization": f"Bearer {keys['bank']}", "Accept-Language": "zh-CN"})
    with client.application.app_context():
        assert resp.get_data() == jsonify(resp.get_json()).get_data()
        body = {"z": "认证", "a": [1, None, {"b": 2.5}]}
        assert json_response(body).get_data() == jsonify(body).get_data()
        assert json_response(body).mimetype == "application/json"


@pytest.mark.parametrize("sector", sorted(parse_policy(default_policy_bytes())))
def test_sector_sees_exactly_its_fields_as_permit_to_json_renders_them(issuer: Issuer, tmp_path: Path,
                                                                        sector: str) -> None:
    cache = _cache(issuer, tmp_path)
    fields = load_policy(cache.dir)[sector].fields
    result = check(issuer.sign(), cache.trust_list(), NOW, cache.status_lookup(None))
    assert result.permit is not None
    full = result.permit.to_json()
    assert result.permit.to_json(fields) == {k: v for k, v in full.items() if k in fields}
    assert result.to_json(fields)["permit"] == {k: v for k, v in full.items() if k in fields}


def test_each_field_alone_renders_as_in_the_whole_permit_in_one_order() -> None:
    permit: Permit = make_permit()
    full = permit.to_json()
    assert full.keys() >= HOLDER
    for name in full:
        assert permit.to_json(frozenset({name})) == {name: full[name]}
    assert list(permit.to_json(frozenset({"valid_from", "number"}))) == ["number", "valid_from"]


def test_audit_of_more_records_than_one_insert_holds_keeps_all_in_order(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    total = 3 * log._chunk + 5
    for i in range(total):
        log.record("Org", "verify", f"N{i}" if i % 3 else None, "valid", "VALID")
    log.close()
    rows = orgs.connect(tmp_path).execute("SELECT at, number_hash FROM audit ORDER BY id").fetchall()
    assert len(rows) == total
    assert [at for at, _ in rows] == sorted(at for at, _ in rows)
    secret = orgs.audit_secret(tmp_path)
    assert [h for _, h in rows] == [orgs.number_hash(secret, f"N{i}") if i % 3 else None for i in range(total)]


def test_audit_write_that_fails_is_kept_for_the_next_round(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    other = orgs.connect(tmp_path)
    other.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    for i in range(10):
        log.record("Org", "verify", f"N{i}", "valid", "VALID")
    log._drain()
    assert log.last_error and "disk full" in log.last_error
    assert other.execute("SELECT count(*) FROM audit").fetchone()[0] == 0
    other.execute("DROP TRIGGER refuse")
    log.record("Org", "verify", "N10", "valid", "VALID")
    log.close()
    assert other.execute("SELECT count(*) FROM audit").fetchone()[0] == 11
