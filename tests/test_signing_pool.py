"""Batch issuance with a signing pool (`registry import` without four eyes for issue): every card signed in
a worker is the card of its own row, no status entry is handed out twice while cards wait to be stored,
and a card the pool cannot sign rolls the pooled attempt back and the batch is issued one row at a time."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from keys.permit import decode_claims, parse_text
from registry.cli import cli
from registry.office import batch as office_batch
from registry.office import signing_pool
from registry.store import open_store

NATIONALITIES = ["USA", "DEU", "FRA", "JPN", "BRA"]


@pytest.fixture(autouse=True)
def _fresh_pool():
    """Each test forks its own workers (they inherit what the test patched) and leaves none behind."""
    signing_pool._close()
    yield
    signing_pool._close()


def _csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["ref", "surname", "given_names", "sex", "birth_date", "nationality", "province",
                                    "category", "passport_number", "passport_country"])
        writer.writeheader()
        for i in range(n):
            nationality = NATIONALITIES[i % len(NATIONALITIES)]
            writer.writerow({"ref": f"R-{i:05d}", "surname": f"HOLDER{chr(65 + i % 26)}", "given_names": "ANNA",
                             "sex": "MF"[i % 2], "birth_date": f"{1950 + i % 50}-0{1 + i % 9}-1{i % 10}",
                             "nationality": nationality, "province": "11", "category": "talent",
                             "passport_number": f"P{i:07d}", "passport_country": nationality})


@pytest.fixture
def direct_home(registry_home: Path) -> tuple[Path, dict[str, str]]:
    """A home whose policy issues without a second officer (as the issuance benchmark does)."""
    from registry.office.operators import add_operator
    from registry.office.policy import DEFAULT_FOUR_EYES

    config = json.loads((registry_home / "config.json").read_text())
    config["office"]["four_eyes"] = [a for a in DEFAULT_FOUR_EYES if a != "issue"]
    (registry_home / "config.json").write_text(json.dumps(config))
    db = open_store(registry_home / "registry.db")
    token = add_operator(db, "batcher", "admin", "B-0001", int(time.time()), None)[1]
    db.conn.close()
    return registry_home, {"PERMIT_REGISTRY_TOKEN": token}


def _import(home: Path, env: dict[str, str], rows: Path) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), "import", str(rows)], env=env)
    assert result.exit_code == 0, result.output[-2000:]
    return result.output


def _cards(home: Path) -> list[dict]:
    db = open_store(home / "registry.db")
    try:
        return [dict(r) for r in db.query(
            "SELECT c.number, c.status_list, c.status_index, c.payload, p.surname, p.passport_number, p.birth_date "
            "FROM cards c JOIN permits p ON p.number = c.number")]
    finally:
        db.conn.close()


def test_pool_signs_each_row_its_own_card_and_never_reuses_a_status_entry(direct_home, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(office_batch, "default_jobs", lambda: 3)  # a pool even on a one-core machine
    monkeypatch.setattr(signing_pool, "default_jobs", lambda: 3)
    monkeypatch.setattr(signing_pool, "GROUP", 40)
    monkeypatch.setattr(office_batch, "GROUP", 40)
    home, env = direct_home
    rows = tmp_path / "rows.csv"
    _csv(rows, 300)
    used = []
    real = signing_pool.signing_pool

    def counting(*args, **kwargs):
        used.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(office_batch, "signing_pool", counting)
    _import(home, env, rows)
    assert used, "the pool was not used"
    cards = _cards(home)
    assert len(cards) == 300
    entries = {(c["status_list"], c["status_index"]) for c in cards}
    assert len(entries) == 300  # every card its own status entry, though up to 120 waited unsigned at once
    for card in cards:
        from keys import base45
        from keys.permit import PREFIX

        permit = decode_claims(parse_text(PREFIX + base45.encode(card["payload"])).payload)
        assert (permit.number, permit.surname, permit.birth_date.isoformat()) == (
            card["number"], card["surname"], card["birth_date"])
        assert (permit.status_list, permit.status_index) == (card["status_list"], card["status_index"])
    db = open_store(home / "registry.db")
    assert db.execute("SELECT count(*) FROM events WHERE action = 'issue'").fetchone()[0] == 300
    db.conn.close()
    again = _import(home, env, rows)  # safe to re-run: every row is already done
    assert len(_cards(home)) == 300 and "300" in again


def test_a_card_the_pool_cannot_sign_rolls_back_and_the_batch_goes_row_by_row(direct_home, tmp_path,
                                                                             monkeypatch) -> None:
    monkeypatch.setattr(office_batch, "default_jobs", lambda: 2)
    monkeypatch.setattr(signing_pool, "default_jobs", lambda: 2)
    home, env = direct_home
    rows = tmp_path / "rows.csv"
    _csv(rows, 100)
    real_encode = signing_pool.encode_permit

    def failing(permit, key, kid):  # runs in the pool's workers only
        if permit.surname == "HOLDERC":
            from keys.errors import FormatError

            raise FormatError("simulated: this card cannot be signed")
        return real_encode(permit, key, kid)

    monkeypatch.setattr(signing_pool, "encode_permit", failing)
    _import(home, env, rows)
    cards = _cards(home)
    assert len(cards) == 100 and len({c["number"] for c in cards}) == 100  # row by row, nothing twice
    assert len({(c["status_list"], c["status_index"]) for c in cards}) == 100
    db = open_store(home / "registry.db")
    assert db.execute("SELECT count(*) FROM permits").fetchone()[0] == 100  # the pooled attempt left nothing
    db.conn.close()
