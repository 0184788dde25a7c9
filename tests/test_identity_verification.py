"""POST /registry/v1/identity-verification: an enrolled organisation (rail) checks a number and a name with
no card at hand. Attacks: an unenrolled or revoked key, a wrong name fishing for a status, enumerating
numbers past the rate limits; and the Latin, Chinese and passport (MRZ) spellings of one name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_registry_api import (  # noqa: F401 - fixtures, _approver autouse
    MISSING,
    MULLER,
    SMITH,
    _approver,
    act,
    app,
    auth,
    client,
    clock,
    issue,
    run_cli,
    tokens,
)

from registry import identity
from registry.store import open_store

ROUTE = "/registry/v1/identity-verification"


@pytest.fixture
def rail(registry_home: Path) -> str:
    return run_cli(registry_home, "orgs", "add", "--name", "China Railway 12306", "--per-minute", "30",
                   "--misses-per-day", "10").stdout.strip()


def _ask(client, key: str | None, body: object, lang: str | None = None):  # noqa: F811
    headers = auth(key) if key else {}
    if lang:
        headers["Accept-Language"] = lang
    return client.post(ROUTE, json=body, headers=headers)


def test_rail_checks_a_name_and_number_with_no_card(client, tokens, rail) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"])
    r = _ask(client, rail, {"number": number, "name": "SMITH JOHN PAUL", "birth_date": "1979-11-03"}, "en")
    assert r.status_code == 200
    assert r.json == {"match": True, "status": "active", "reason": "VALID",
                      "message": "The permit is genuine and in force."}
    assert r.headers["Cache-Control"] == "no-store"
    zh = _ask(client, rail, {"number": number.lower(), "name": "john paul smith"})
    assert zh.json["match"] is True and zh.json["message"] == "证件真实有效。"


@pytest.mark.parametrize("spelling", ["MÜLLER ANNA MARIA", "Mueller, Anna Maria", "MUELLER<<ANNA<MARIA",
                                      "MULLER<<ANNA<MARIA<<<<<<<<<", "anna maria müller", "穆安娜",
                                      "ＭＵＥＬＬＥＲ ＡＮＮＡ ＭＡＲＩＡ"])
def test_latin_chinese_and_mrz_spellings_of_one_name_match(client, tokens, rail, spelling: str) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"], MULLER)
    assert _ask(client, rail, {"number": number, "name": spelling}).json["match"] is True


def test_wrong_name_never_reveals_the_status(client, tokens, rail) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"])
    act(client, tokens["officer"], number, "revoke", {"reason": "fraud"})
    right = _ask(client, rail, {"number": number, "name": "SMITH JOHN PAUL"}).json
    assert (right["match"], right["status"], right["reason"]) == (True, "revoked", "REVOKED")
    wrong = [_ask(client, rail, {"number": number, "name": name}) for name in ("SMITH JANE", "穆安娜", "SMITH")]
    wrong.append(_ask(client, rail, {"number": number, "name": "SMITH JOHN PAUL", "birth_date": "1979-11-04"}))
    unknown = _ask(client, rail, {"number": MISSING, "name": "SMITH JOHN PAUL"})
    for r in [*wrong, unknown]:  # the same answer for a wrong name as for a number never issued
        assert r.status_code == 200 and r.get_data() == unknown.get_data()
        assert r.json == {"match": False}


def test_unenrolled_revoked_and_operator_keys_are_refused(client, tokens, rail, registry_home: Path) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"])
    body = {"number": number, "name": "SMITH JOHN PAUL"}
    for key in (None, "pik_" + "A" * 43, tokens["admin"], rail[:-1]):
        r = _ask(client, key, body)
        assert r.status_code == 401 and "status" not in r.get_data(as_text=True).replace('"status": 401', "")
    run_cli(registry_home, "orgs", "revoke", "China Railway 12306")
    assert _ask(client, rail, body).status_code == 401
    db = open_store(next(registry_home.glob("*.db")))
    stored = [r[0] for r in db.execute("SELECT key_hash FROM identity_orgs")]
    assert rail not in json.dumps(stored) and identity.key_hash(rail) in stored  # only the hash is kept


def test_enumerating_numbers_is_stopped_by_the_miss_limit(client, tokens, rail, clock) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"])
    guesses = [f"{n:017d}" for n in range(911840197900000000 // 10, 911840197900000000 // 10 + 15)]
    codes = [_ask(client, rail, {"number": g + "0", "name": "SMITH JOHN PAUL"}).status_code for g in guesses]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}  # 10 misses a day for this organisation
    limited = _ask(client, rail, {"number": number, "name": "SMITH JOHN PAUL"})  # even a right guess now
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 3600
    assert "match" not in limited.json and "active" not in limited.get_data(as_text=True)
    clock.t += 86400 + 1  # a day later the misses have aged out
    assert _ask(client, rail, {"number": number, "name": "SMITH JOHN PAUL"}).json["match"] is True


def test_per_minute_limit_holds_and_every_call_is_audited(client, tokens, rail, clock, registry_home) -> None:  # noqa: F811
    number = issue(client, tokens["clerk"])
    body = {"number": number, "name": "SMITH JOHN PAUL"}
    codes = [_ask(client, rail, body).status_code for _ in range(33)]
    assert codes == [200] * 30 + [429] * 3
    clock.t += 61
    assert _ask(client, rail, body).status_code == 200
    db = open_store(next(registry_home.glob("*.db")))
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM identity_calls ORDER BY id")]
    assert outcomes == ["match"] * 30 + ["limited"] * 3 + ["match"]
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM identity_calls")


def test_invalid_requests_are_refused_with_every_problem_and_counted(client, tokens, rail) -> None:  # noqa: F811
    r = _ask(client, rail, {"number": "12345", "name": "", "birth_date": "03/11/1979", "photo": "x"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert fields == {"number", "name", "birth_date", "photo"}
    assert client.post(ROUTE, data="number=1", headers=auth(rail)).status_code == 422


def test_registry_orgs_list_shows_limits_not_keys(registry_home: Path, rail) -> None:
    listing = run_cli(registry_home, "orgs", "list").stdout
    assert "China Railway 12306\t30/min\t10 misses/day\tactive" in listing and rail not in listing
    assert SMITH  # the applicant used above
