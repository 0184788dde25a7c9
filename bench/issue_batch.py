"""Benchmark: `registry import` of N generated permits (default 100,000) against a bare sqlite-utils
insert of the very rows the import wrote (permits, cards with their signed payloads, status
allocations, events, and the transparency log's leaves and tree nodes recording them), in one run.
Prints permits/s, the ratio (bare time / import time; target >= 0.5) and the database file size.

    python bench/issue_batch.py [N]
"""

from __future__ import annotations

import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from registry.cli import cli
from registry.store import open_store

SURNAMES = ["SMITH", "MUELLER", "GARCIA", "ROSSI", "DUBOIS", "NOVAK", "KOWALSKI", "OKAFOR", "SILVA", "TANAKA",
            "KIM", "NGUYEN", "IVANOVA", "HANSEN", "O'BRIEN", "VAN DER BERG", "AL-SAYED", "PETROVIC"]
GIVEN = ["ANNA", "JOHN", "MARIA", "PAUL", "LENA", "AHMED", "CHIDI", "SOFIA", "LUCAS", "YUKI", "MIN-JUN", "ELENA"]
NATIONALITIES = ["USA", "DEU", "FRA", "ITA", "GBR", "JPN", "KOR", "NGA", "BRA", "RUS", "CAN", "AUS", "ESP", "POL"]
PROVINCES = ["11", "31", "44", "32", "33", "51", "42", "37"]
CATEGORIES = ["talent", "investment", "employment", "family", "contribution", "other"]
TABLES = ["status_lists", "operators", "permits", "cards", "allocations", "events", "tlog_leaves", "tlog_nodes"]


def generate(path: Path, n: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["ref", "surname", "given_names", "sex", "birth_date", "nationality", "province",
                                    "category", "passport_number", "passport_country"])
        writer.writeheader()
        for i in range(n):
            nationality = rng.choice(NATIONALITIES)
            writer.writerow({
                "ref": f"APP-{i:07d}", "surname": rng.choice(SURNAMES), "given_names": rng.choice(GIVEN),
                "sex": rng.choice("MF"),
                "birth_date": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "nationality": nationality, "province": rng.choice(PROVINCES),
                "category": rng.choice(CATEGORIES), "passport_number": f"APP{i:07d}", "passport_country": nationality,
            })


def bench_office(home: Path) -> dict[str, str]:
    """A new home that issues without a second operator (a documented policy: issue left out of four eyes,
    so the import measures issuance, not proposals), and its admin's token in the environment."""
    import json

    from registry.office.operators import add_operator
    from registry.office.policy import DEFAULT_FOUR_EYES

    config = json.loads((home / "config.json").read_text())
    config["office"]["four_eyes"] = [a for a in DEFAULT_FOUR_EYES if a != "issue"]
    (home / "config.json").write_text(json.dumps(config))
    db = open_store(home / "registry.db")
    token = add_operator(db, "bench", "admin", "BENCH-0001", int(time.time()), None)[1]
    db.conn.close()
    return {"PERMIT_REGISTRY_TOKEN": token}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    os.environ.setdefault("PERMIT_REGISTRY_PASSPHRASE", "benchmark passphrase")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        home, rows_csv = base / "home", base / "applicants.csv"
        runner = CliRunner()
        assert runner.invoke(cli, ["--home", str(home), "init"]).exit_code == 0
        env = bench_office(home)
        generate(rows_csv, n)
        start = time.perf_counter()
        result = runner.invoke(cli, ["--home", str(home), "import", str(rows_csv)], env=env)
        import_s = time.perf_counter() - start
        assert result.exit_code == 0, result.output[-2000:]
        db = open_store(home / "registry.db")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file's size below counts every row
        written = {t: [dict(r) for r in db[t].rows] for t in TABLES}
        db.conn.close()

        bare_path = base / "bare.db"
        bare = open_store(bare_path)  # same schema, indexes and triggers
        start = time.perf_counter()
        with bare.conn:
            for table in TABLES:
                bare[table].insert_all(written[table], batch_size=1000)
        bare_s = time.perf_counter() - start
        size = (home / "registry.db").stat().st_size
    print(f"permits: {n:,}; rows written: " + ", ".join(f"{t} {len(written[t]):,}" for t in TABLES))
    print(f"import (validate, allocate, sign, self-check, store): {import_s:7.1f} s = {n / import_s:8.0f} permits/s")
    print(f"bare sqlite-utils insert of the same rows:            {bare_s:7.1f} s = {n / bare_s:8.0f} permits/s")
    print(f"database file: {size / 1e6:.1f} MB ({size / n:.0f} bytes per permit)")
    print(f"ratio (bare / import, target >= 0.5): {bare_s / import_s:.2f}")


if __name__ == "__main__":
    main()
