"""Scale: verification throughput with 1, 2 and N gunicorn workers (default N = 2 x cores), each run
by bench/verify_api.py for the same time in this one run. The service holds no shared state, so
throughput should grow with workers until the cores (shared here with the load generator) are busy.
Prints req/s and p99 per worker count and, last, the ratio of the 2-worker to the 1-worker rate.

    python bench/scale_workers.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(workers: int, seconds: int) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, str(HERE / "verify_api.py"), "--seconds", str(seconds), "--workers",
                          str(workers)], capture_output=True, text=True, timeout=seconds * 4 + 120).stdout
    verify = re.search(r"verify \(auth, audit\):\s+([\d.]+) req/s, p50 ([\d.]+) ms, p99 ([\d.]+) ms", out)
    bare = re.search(r"bare \(returns 200\):\s+([\d.]+) req/s", out)
    assert verify and bare, out
    return float(verify.group(1)), float(verify.group(3)), float(bare.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    counts = sorted({1, 2, 2 * cores})
    rates = {}
    print(f"{cores} cores (shared with wrk, the load generator)")
    for workers in counts:
        rps, p99, bare = run(workers, args.seconds)
        rates[workers] = rps
        print(f"{workers} workers: POST /v1/verify {rps:7.0f} req/s, p99 {p99:.2f} ms (bare endpoint {bare:.0f} req/s)")
    print(f"ratio (2 workers / 1 worker req/s; 2.0 is linear): {rates[2] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
