"""The office's commands through click's runner, and error output through the real entry point."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from registry.cli import cli
from registry.office_cli import COMMANDS
from verifier import number as numbers

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--surname", "Dupont", "--given-names", "Marie Claire", "--sex", "F", "--birth-date", "1975-12-01",
         "--nationality", "FRA", "--province", "44", "--category", "family"]


def run(home: Path, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def registry(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_every_command_is_registered() -> None:
    names = {c.name for c in COMMANDS}
    assert names == {"issue", "show", "history", "list", "search", "revoke", "suspend", "reinstate", "surrender",
                     "record-death", "renew", "replace", "expire", "reissue", "qr", "card", "import", "export"}
    assert names <= set(cli.commands)


def test_issue_from_json_and_flags(registry_home: Path, tmp_path: Path) -> None:
    Image.new("RGB", (30, 40)).save(tmp_path / "face.png")
    (tmp_path / "a.json").write_text(json.dumps({
        "surname": "Kowalski", "given_names": "Jan", "sex": "M", "birth_date": "1970-01-31",
        "nationality": "POL", "province": "11", "category": "investment", "photo": "face.png"}))
    number = run(registry_home, "issue", "--json", str(tmp_path / "a.json"), "--actor", "alice").output.strip()
    assert numbers.parse(number).sex == "M"
    shown = json.loads(run(registry_home, "show", number, "--json").output)
    assert shown["surname"] == "Kowalski" and shown["status"] == "active" and shown["photo"].startswith("png")
    second = run(registry_home, "issue", *FLAGS).output.strip()
    assert numbers.parse(second).sex == "F"
    history = json.loads(run(registry_home, "history", number, "--json").output)
    assert [(e["action"], e["actor"]) for e in history] == [("issue", "alice")]


def test_bad_input_lists_every_problem_and_writes_nothing(registry_home: Path) -> None:
    bad = FLAGS.copy()
    bad[bad.index("F")] = "Q"
    bad[bad.index("FRA")] = "XXX"
    proc = registry(registry_home, "issue", *bad, "--surname", "Dupont\u202e")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error (USAGE): 3 problem(s)")
    assert "sex: must be M or F" in proc.stderr and "nationality:" in proc.stderr and "surname:" in proc.stderr
    assert json.loads(run(registry_home, "list", "--json").output) == []


def test_lifecycle_commands(registry_home: Path) -> None:
    n = run(registry_home, "issue", *FLAGS).output.strip()
    run(registry_home, "suspend", n, "--actor", "bob", "--note", "file 12")
    run(registry_home, "reinstate", n, "--reason", "cleared")
    assert "card 2" in run(registry_home, "renew", n).output
    assert "card 3" in run(registry_home, "replace", n, "--reason", "data-changed", "--surname", "Martin").output
    run(registry_home, "revoke", n, "--reason", "talent-authority-withdrawal")
    proc = registry(registry_home, "renew", n)
    assert proc.returncode == 1
    assert f"error (USAGE): permit {n} is revoked; it cannot be renewed" in proc.stderr
    assert registry(registry_home, "revoke", n, "--reason", "whim").returncode == 3  # not a statutory ground
    history = json.loads(run(registry_home, "history", n, "--json").output)
    assert [e["action"] for e in history] == ["issue", "suspend", "reinstate", "renew", "replace", "revoke"]
    assert (history[1]["actor"], history[1]["note"], history[1]["reason"]) == ("bob", "file 12", "investigation")
    assert history[4]["detail"] == {"changed": ["surname"]}
    assert "revoked" in run(registry_home, "show", n).output
    assert "0 permit(s)" in run(registry_home, "expire").output


def test_list_search_export(registry_home: Path, tmp_path: Path) -> None:
    a = run(registry_home, "issue", *FLAGS).output.strip()
    b = run(registry_home, "issue", *FLAGS[:-6], "--nationality", "JPN", "--province", "31", "--category",
            "talent", "--chinese-name", "山田").output.strip()
    run(registry_home, "surrender", b)
    assert [r["number"] for r in json.loads(run(registry_home, "search", "--nationality", "jpn", "--json").output)] \
        == [b]
    assert [r["number"] for r in json.loads(run(registry_home, "search", "--name", "山田", "--json").output)] == [b]
    assert [r["number"] for r in json.loads(run(registry_home, "list", "--status", "active", "--json").output)] \
        == [a]
    assert run(registry_home, "search", ok=False).exit_code == 2
    run(registry_home, "export", "-o", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open() as f:
        exported = list(csv.DictReader(f))
    assert {r["number"]: r["status"] for r in exported} == {a: "active", b: "surrendered"}
    lines = run(registry_home, "export", "--format", "jsonl").output.splitlines()
    assert sorted(json.loads(line)["number"] for line in lines) == sorted([a, b])


def test_qr_png_and_svg(registry_home: Path, tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from verifier.permit import decode_claims, parse_text

    n = run(registry_home, "issue", *FLAGS).output.strip()
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
                                               "province", "category"])
        writer.writeheader()
        writer.writerows(rows)


def applicants(count: int, start: int = 0) -> list[dict]:
    return [{"ref": f"R{i}", "surname": "Lee", "given_names": f"Alex {chr(65 + i % 26)}", "sex": "MF"[i % 2],
             "birth_date": "1988-08-08", "nationality": "KOR", "province": "11", "category": "employment"}
            for i in range(start, start + count)]


def test_import_reports_bad_rows_and_is_idempotent(registry_home: Path, tmp_path: Path) -> None:
    rows = applicants(6)
    rows[2]["birth_date"] = "1988-13-01"
    rows[4]["surname"] = ""
    _write_csv(tmp_path / "in.csv", rows)
    proc = registry(registry_home, "import", str(tmp_path / "in.csv"), "--batch-size", "2")
    assert proc.returncode == 1
    assert "issued 4, already issued 0, refused 2" in proc.stdout
    assert "line 4: birth_date:" in proc.stderr and "line 6: surname: is required" in proc.stderr
    assert "importing" in proc.stderr
    rows[2]["birth_date"], rows[4]["surname"] = "1988-08-08", "Lee"
    _write_csv(tmp_path / "in.csv", rows)
    proc = registry(registry_home, "import", str(tmp_path / "in.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "issued 2, already issued 4, refused 0" in proc.stdout
    assert len(json.loads(run(registry_home, "list", "--json").output)) == 6


def test_import_refuses_unknown_columns(registry_home: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("surname,colour\nA,blue\n")
    proc = registry(registry_home, "import", str(tmp_path / "x.csv"))
    assert proc.returncode == 1 and "unknown column(s) colour" in proc.stderr
