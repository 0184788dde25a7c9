"""Scale: a registry of N permits (default 1,000,000), built with two `registry import` processes in
parallel (one per core), then the office's everyday operations timed on it: issuing the next permit,
a lookup, a revocation, and a publish (first in full, then after the revocation, when only the changed
status list is signed again). Baseline in the same run: the same operations on an empty registry.

    python bench/scale_registry.py [N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from issue_batch import bench_office, generate

from registry import lifecycle, store
from registry.home import Home
from registry.office.operators import authenticate
from registry.office.setup import office_for
from registry.publish import publish
from registry.validation import validate_application

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "benchmark passphrase"
APPLICANT = {"surname": "NEWCOMER", "given_names": "ALEX", "sex": "F", "birth_date": "1991-07-14",
             "nationality": "CAN", "province": "44", "category": "talent", "passport_number": "NEW0000001",
             "passport_country": "CAN"}
TOKENS: dict[str, str] = {}


def registry(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "registry.cli", "--home", str(home), *args], cwd=ROOT,
                            env={**os.environ, "PERMIT_REGISTRY_PASSPHRASE": PASSPHRASE,
                                 "PERMIT_REGISTRY_TOKEN": TOKENS.get(str(home), "")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def operations(home_dir: Path, out: Path) -> dict[str, float]:
    home = Home(home_dir, lambda: PASSPHRASE.encode())
    db = store.open_store(home.db_path)
    office, op = office_for(home, db), authenticate(db, TOKENS[str(home_dir)])
    now = int(time.time())
    app = validate_application(APPLICANT, now)
    office.issue(op, validate_application({**APPLICANT, "sex": "M", "passport_number": "NEW0000002"}, now))  # warm-up
    ms: dict[str, float] = {}
    ms["issue the next permit"], outcome = timed(lambda: office.issue(op, app))
    number = outcome.number  # type: ignore[attr-defined]
    ms["look up a permit"], _ = timed(lambda: (lifecycle.get_permit(db, number), lifecycle.current_card(db, number)))
    ms["publish (first, every list signed)"], _ = timed(lambda: publish(home, out, now))
    # revocation is under four eyes: the bench times the approval, which carries it out
    proposal = office.transition(op, number, "revoke", "fraud").proposal
    second = authenticate(db, TOKENS[str(home_dir) + ":officer"])
    ms["revoke"], _ = timed(lambda: office.approve(second, proposal))
    ms["publish (after the revocation)"], _ = timed(lambda: publish(home, out, now))
    return ms


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        empty, full = base / "empty", base / "full"
        for home in (empty, full):
            assert registry(home, "init").wait() == 0
            TOKENS[str(home)] = bench_office(home)["PERMIT_REGISTRY_TOKEN"]
            added = subprocess.run([sys.executable, "-m", "registry.cli", "--home", str(home), "operators", "add",
                                    "--name", "bench-officer", "--role", "officer", "--person", "BENCH-0002"],
                                   cwd=ROOT, capture_output=True, text=True, check=True,
                                   env={**os.environ, "PERMIT_REGISTRY_TOKEN": TOKENS[str(home)]})
            TOKENS[str(home) + ":officer"] = added.stdout.strip()
        baseline = operations(empty, base / "pub-empty")
        half = n // 2
        generate(base / "a.csv", half)
        generate(base / "b.csv", n - half)
        with (base / "b.csv").open() as f:  # distinct references for the second half
            rows = f.read().replace("APP", "APQ")  # references and passports
        (base / "b.csv").write_text(rows)
        start = time.perf_counter()
        imports = [registry(full, "import", str(base / name), "--batch-size", "2000") for name in ("a.csv", "b.csv")]
        for proc in imports:
            _, err = proc.communicate()
            assert proc.returncode == 0, err[-2000:]
        build_s = time.perf_counter() - start
        at_scale = operations(full, base / "pub-full")
        size = (full / "registry.db").stat().st_size
        lists = len(list((base / "pub-full" / "status").glob("*.cwt")))
    print(f"registry of {n:,} permits built in {build_s:.0f} s ({n / build_s:.0f} permits/s, two imports); "
          f"database {size / 1e6:.0f} MB; {lists} status lists")
    print(f"{'operation':40} {'empty registry':>15} {'at ' + format(n, ','):>15}")
    for name in baseline:
        print(f"{name:40} {baseline[name]:12.1f} ms {at_scale[name]:12.1f} ms")
    worst = max(at_scale[k] / max(baseline[k], 0.01) for k in baseline if not k.startswith("publish"))
    print(f"ratio (worst slowdown of issue/lookup/revoke at scale vs empty): {worst:.2f}")


if __name__ == "__main__":
    main()
