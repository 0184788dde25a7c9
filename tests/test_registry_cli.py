"""The office's commands through click's runner, and error output through the real entry point. Every change
is made as an enrolled operator (its token in PERMIT_REGISTRY_TOKEN); issuance and other acts under the
default four-eyes policy are proposed by one operator and approved by an officer."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from office_adapters import enrol
from PIL import Image

from keys import number as numbers
from registry.cli import cli
from registry.office_cli import COMMANDS
from registry.office_cli_batch import COMMANDS as BATCH
from registry.office_cli_rules import COMMANDS as RULES

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--surname", "Dupont", "--given-names", "Marie Claire", "--sex", "F", "--birth-date", "1975-12-01",
         "--nationality", "FRA", "--province", "44", "--category", "family", "--passport-number", "15AB12345",
         "--passport-country", "FRA"]
TOKENS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def operators(registry_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    TOKENS.clear()
    TOKENS.update(enrol(registry_home))
    monkeypatch.setenv("PERMIT_REGISTRY_TOKEN", TOKENS["officer"])
    return TOKENS


def run(home: Path, *args: str, ok: bool = True, who: str = "officer"):
    result = CliRunner().invoke(cli, ["--home", str(home), *args], env={"PERMIT_REGISTRY_TOKEN": TOKENS[who]})
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def approved(home: Path, *args: str, who: str = "clerk") -> str:
    """Propose as `who`, approve as the second officer; the approval's output."""
    proposal = run(home, *args, who=who).stdout.strip()
    assert proposal.isdigit(), proposal
    return run(home, "approve", proposal, who="officer2").stdout.strip()


def registry(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_every_command_is_registered() -> None:
    names = {c.name for c in COMMANDS + BATCH}
    assert names == {"issue", "show", "history", "list", "search", "revoke", "suspend", "reinstate", "surrender",
                     "record-death", "renew", "replace", "expire", "reissue", "qr", "import", "export"}
    assert {c.name for c in RULES} == {"pending", "approve", "reject", "appeal", "appeals", "presence", "passport"}
    assert names | {c.name for c in RULES} | {"card"} <= set(cli.commands)  # card: registry/card_cli.py


def test_issue_from_json_and_flags(registry_home: Path, tmp_path: Path) -> None:
    Image.new("RGB", (30, 40)).save(tmp_path / "face.png")
    (tmp_path / "a.json").write_text(json.dumps({
        "surname": "Kowalski", "given_names": "Jan", "sex": "M", "birth_date": "1970-01-31",
        "nationality": "POL", "province": "11", "category": "investment", "photo": "face.png",
        "passport_number": "EA1234567", "passport_country": "POL"}))
    number = approved(registry_home, "issue", "--json", str(tmp_path / "a.json"))
    assert numbers.parse(number).sex == "M"
    shown = json.loads(run(registry_home, "show", number, "--json").output)
    assert shown["surname"] == "Kowalski" and shown["status"] == "active" and shown["photo"].startswith("png")
    assert shown["passport"] == "POL EA1234567"
    second = approved(registry_home, "issue", *FLAGS)
    assert numbers.parse(second).sex == "F"
    history = json.loads(run(registry_home, "history", number, "--json").output)
    assert [(e["action"], e["actor"], e["approver"]) for e in history] == [("issue", "carol.clerk", "olga.officer")]


def test_no_token_no_change_and_actor_is_not_a_flag(registry_home: Path) -> None:
    """Who acted is proven by a token: without one, or with a revoked or made-up one, nothing changes; the
    old free-text --actor is gone."""
    for token in ("", "prt_made-up", TOKENS["clerk"] + "x"):
        r = CliRunner().invoke(cli, ["--home", str(registry_home), "issue", *FLAGS],
                               env={"PERMIT_REGISTRY_TOKEN": token})
        assert r.exit_code == 1 and "token" in r.exception.message
    assert run(registry_home, "issue", *FLAGS, "--actor", "mallory", ok=False).exit_code == 2
    assert run(registry_home, "pending", "--json").stdout.strip() == "[]"


def test_token_file_names_the_operator(registry_home: Path, tmp_path: Path) -> None:
    (tmp_path / "tok").write_text(TOKENS["clerk"] + "\n")
    r = CliRunner().invoke(cli, ["--home", str(registry_home), "--token-file", str(tmp_path / "tok"), "issue",
                                 *FLAGS], env={"PERMIT_REGISTRY_TOKEN": ""})
    assert r.exit_code == 0, r.output
    assert json.loads(run(registry_home, "pending", "--json").stdout)[0]["proposed_by"] == "carol.clerk"
    missing = CliRunner().invoke(cli, ["--home", str(registry_home), "--token-file", str(tmp_path / "nope"),
                                       "issue", *FLAGS])
    assert missing.exit_code == 1 and "cannot read the token file" in missing.exception.message


def test_bad_input_lists_every_problem_and_writes_nothing(registry_home: Path) -> None:
    bad = FLAGS.copy()
    bad[bad.index("F")] = "Q"
    bad[bad.index("FRA")] = "XXX"
    proc = registry(registry_home, "issue", *bad, "--surname", "Dupont\u202e")  # refused before any token
    assert proc.returncode == 3  # the input: a usage error
    assert proc.stderr.startswith("error (USAGE): 3 problem(s)")
    assert "sex: must be M or F" in proc.stderr and "nationality:" in proc.stderr and "surname:" in proc.stderr
    assert json.loads(run(registry_home, "list", "--json").output) == []


def test_lifecycle_commands(registry_home: Path) -> None:
    n = approved(registry_home, "issue", *FLAGS)
    suspended = json.loads(run(registry_home, "suspend", n, "--note", "file 12", "--json").output)
    assert suspended == {**suspended, "status": "done", "act": "suspend", "number": n, "state": "suspended"}
    assert "is now active" in approved(registry_home, "reinstate", n, "--reason", "cleared", who="officer")
    assert "card 2" in run(registry_home, "renew", n, who="clerk").output
    assert "card 3" in approved(registry_home, "replace", n, "--reason", "data-changed", "--surname", "Martin")
    approved(registry_home, "revoke", n, "--reason", "talent-authority-withdrawal", who="officer")
    proc = registry(registry_home, "renew", n)
    assert proc.returncode == 5  # refused by the permit's state
    assert f"error (USAGE): permit {n} is revoked; it cannot be renewed" in proc.stderr
    assert registry(registry_home, "revoke", n, "--reason", "whim").returncode == 3  # not a statutory ground
    history = json.loads(run(registry_home, "history", n, "--json").output)
    assert [e["action"] for e in history] == ["issue", "suspend", "propose", "reinstate", "renew", "propose",
                                              "replace", "propose", "revoke"]
    assert (history[1]["actor"], history[1]["note"], history[1]["reason"]) == ("oscar.officer", "file 12",
                                                                               "investigation")
    assert (history[3]["actor"], history[3]["approver"]) == ("oscar.officer", "olga.officer")
    assert history[6]["detail"] == {"changed": ["surname"]}
    assert "revoked" in run(registry_home, "show", n).output
    assert "0 permit(s)" in run(registry_home, "expire").output


def test_list_search_export(registry_home: Path, tmp_path: Path) -> None:
    a = approved(registry_home, "issue", *FLAGS)
    b = approved(registry_home, "issue", *FLAGS[:-10], "--nationality", "JPN", "--province", "31", "--category",
                 "talent", "--chinese-name", "山田", "--passport-number", "TK1234567", "--passport-country", "JPN")
    run(registry_home, "surrender", b)
    assert [r["number"] for r in json.loads(run(registry_home, "search", "--nationality", "jpn", "--json").output)] \
        == [b]
    assert [r["number"] for r in json.loads(run(registry_home, "search", "--name", "山田", "--json").output)] == [b]
    assert [r["number"] for r in json.loads(run(registry_home, "list", "--status", "active", "--json").output)] \
        == [a]
    assert run(registry_home, "search", ok=False).exit_code == 2
    # the same search as the admin API's: case-folded, and a typed % or _ is a character, not a pattern
    assert {r["number"] for r in json.loads(run(registry_home, "search", "--name", "dUPONT", "--json").output)} \
        == {a, b}
    assert json.loads(run(registry_home, "search", "--name", "%", "--json").output) == []
    assert json.loads(run(registry_home, "search", "--name", "D_pont", "--json").output) == []
    run(registry_home, "export", "-o", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open() as f:
        exported = list(csv.DictReader(f))
    assert {r["number"]: r["status"] for r in exported} == {a: "active", b: "surrendered"}
    lines = run(registry_home, "export", "--format", "jsonl").output.splitlines()
    assert sorted(json.loads(line)["number"] for line in lines) == sorted([a, b])


def test_qr_png_and_svg(registry_home: Path, tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from keys.permit import decode_claims, parse_text

    n = approved(registry_home, "issue", *FLAGS)
    run(registry_home, "renew", n)
    run(registry_home, "qr", n, "-o", str(tmp_path / "c.png"))
    run(registry_home, "qr", n, "-o", str(tmp_path / "c1.svg"), "--card", "1")
    assert (tmp_path / "c1.svg").read_text().lstrip().startswith("<?xml")
    [result] = zxingcpp.read_barcodes(Image.open(tmp_path / "c.png"))
    permit = decode_claims(parse_text(result.text).payload)
    assert (permit.number, permit.card) == (n, 2)
    assert run(registry_home, "qr", n, "-o", str(tmp_path / "x.svg"), "--card", "9", ok=False).exit_code == 1


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["ref", "surname", "given_names", "sex", "birth_date", "nationality",
                                               "province", "category", "passport_number", "passport_country"])
        writer.writeheader()
        writer.writerows(rows)


def applicants(count: int, start: int = 0) -> list[dict]:
    return [{"ref": f"R{i}", "surname": "Lee", "given_names": f"Alex {chr(65 + i % 26)}", "sex": "MF"[i % 2],
             "birth_date": "1988-08-08", "nationality": "KOR", "province": "11", "category": "employment",
             "passport_number": f"M{i:08d}", "passport_country": "KOR"}
            for i in range(start, start + count)]


def _approve_batches(home: Path) -> None:
    for batch in sorted({p["batch"] for p in json.loads(run(home, "pending", "--json").stdout)}):
        run(home, "approve", "--batch", batch, who="officer2")


def test_import_reports_bad_rows_and_is_idempotent(registry_home: Path, tmp_path: Path) -> None:
    rows = applicants(6)
    rows[2]["birth_date"] = "1988-13-01"
    rows[4]["surname"] = ""
    _write_csv(tmp_path / "in.csv", rows)
    proc = registry(registry_home, "import", str(tmp_path / "in.csv"), "--batch-size", "2")
    assert proc.returncode == 3  # bad rows in the input
    assert "proposed 4, already issued 0, refused 2" in proc.stdout and "registry approve --batch" in proc.stdout
    assert "line 4: birth_date:" in proc.stderr and "line 6: surname: is required" in proc.stderr
    assert "importing" in proc.stderr
    rows[2]["birth_date"], rows[4]["surname"] = "1988-08-08", "Lee"
    _write_csv(tmp_path / "in.csv", rows)
    proc = registry(registry_home, "import", str(tmp_path / "in.csv"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # the pending ones count as done
    assert (summary["proposed"], summary["already_issued"], summary["refused"]) == (2, 4, []) and summary["batch"]
    _approve_batches(registry_home)
    assert len(json.loads(run(registry_home, "list", "--json").output)) == 6
    assert "proposed 0, already issued 6" in registry(registry_home, "import", str(tmp_path / "in.csv")).stdout


def test_import_keeps_two_people_with_the_same_name_and_birth_date_apart(registry_home: Path,
                                                                          tmp_path: Path) -> None:
    """The old fingerprint (name, birth date, nationality, sex) merged these two; their passports differ."""
    twins = [{**applicants(1)[0], "ref": ""}, {**applicants(1)[0], "ref": "", "passport_number": "M77777777"}]
    _write_csv(tmp_path / "twins.csv", twins)
    assert "proposed 2, already issued 0" in registry(registry_home, "import", str(tmp_path / "twins.csv")).stdout
    _approve_batches(registry_home)
    assert len(json.loads(run(registry_home, "list", "--json").output)) == 2
    assert "proposed 0, already issued 2" in registry(registry_home, "import", str(tmp_path / "twins.csv")).stdout
    impostor = [{**applicants(1)[0], "ref": "", "surname": "Park", "birth_date": "1970-01-01"}]
    _write_csv(tmp_path / "impostor.csv", impostor)
    proc = registry(registry_home, "import", str(tmp_path / "impostor.csv"))
    assert proc.returncode == 3 and "passport KOR M00000000 already holds permit" in proc.stderr


def test_import_refuses_unknown_columns(registry_home: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("surname,colour\nA,blue\n")
    proc = registry(registry_home, "import", str(tmp_path / "x.csv"))
    assert proc.returncode == 3 and "unknown column(s) colour" in proc.stderr


def test_approve_and_reject_print_json(registry_home: Path) -> None:
    proposal = run(registry_home, "issue", *FLAGS, who="clerk").stdout.strip()
    [done] = json.loads(run(registry_home, "approve", proposal, "--json", who="officer2").output)
    assert (done["status"], done["act"], done["state"]) == ("done", "issue", "active") and len(done["number"]) == 18
    run(registry_home, "suspend", done["number"])
    reinstate = run(registry_home, "reinstate", done["number"], "--reason", "cleared", "--json").output
    pending = json.loads(reinstate)
    assert pending["status"] == "pending" and pending["proposal"]
    rejected = json.loads(run(registry_home, "reject", str(pending["proposal"]), "--json", who="officer2").output)
    assert rejected == {"proposal": pending["proposal"], "state": "rejected"}


def test_operators_and_orgs_print_json_with_iso_times(registry_home: Path) -> None:
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    added = json.loads(run(registry_home, "operators", "add", "--name", "dora", "--role", "clerk", "--person",
                           "S-0777", "--json", who="admin").output)
    assert (added["name"], added["role"], added["person"]) == ("dora", "clerk", "S-0777") and added["token"]
    listed = json.loads(run(registry_home, "operators", "list", "--json").output)
    assert all(iso.fullmatch(op["created_at"]) for op in listed) and "dora" in {op["name"] for op in listed}
    revoked = json.loads(run(registry_home, "operators", "revoke", "dora", "--json", who="admin").output)
    assert revoked == {"name": "dora", "state": "revoked"}
    org = json.loads(run(registry_home, "orgs", "add", "--name", "Rail", "--json", who="admin").output)
    assert org["name"] == "Rail" and org["key"] and org["per_minute"] >= 1
    [row] = [json.loads(line) for line in run(registry_home, "orgs", "list", "--json").output.splitlines()]
    assert row["name"] == "Rail" and iso.fullmatch(row["created_at"]) and row["revoked_at"] is None
    gone = json.loads(run(registry_home, "orgs", "revoke", "Rail", "--json", who="admin").output)
    assert gone["name"] == "Rail" and iso.fullmatch(gone["revoked_at"])


def test_qr_and_card_print_json(registry_home: Path, tmp_path: Path) -> None:
    n = approved(registry_home, "issue", *FLAGS)
    qr = json.loads(run(registry_home, "qr", n, "-o", str(tmp_path / "q.png"), "--json").output)
    assert qr == {"number": n, "card": 1, "out": str(tmp_path / "q.png")} and (tmp_path / "q.png").stat().st_size
    card = json.loads(run(registry_home, "card", n, "-o", str(tmp_path / "c.png"), "--json").output)
    assert card == {"number": n, "card": 1, "out": str(tmp_path / "c.png"), "void": False}


def test_presence_import_prints_json(registry_home: Path, tmp_path: Path) -> None:
    n = approved(registry_home, "issue", *FLAGS)
    (tmp_path / "stays.csv").write_text(f"number,entry,exit\n{n},2025-03-01,2025-03-10\n", encoding="utf-8")
    out = run(registry_home, "presence", "import", str(tmp_path / "stays.csv"), "--json").output
    assert json.loads(out) == {"recorded": 1}
