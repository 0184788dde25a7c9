"""Benchmark: re-checking a file of payloads with `verifier check - --jobs N` against the physics, in one run.

Figures, all measured here on the same payload file (a mix of valid, revoked and misread lines) and the same
synced cache (a real 10M-entry status list is not needed: the lookup is O(1)):
- raw ES256 verify of one signature (cryptography), per core
- the in-process check (verifier.check.check over the cache's lists), per core: the library's ceiling
- `verifier check - --jobs 1` and `--jobs N` (N = every core), process start and output included
Per-core figures are CPU time (getrusage / process_time), not wall time: on a shared machine a process gets
a fraction of a core, and CPU time is what a core costs. Ratios printed: CLI per core / in-process (target
>= 0.8), in-process / raw ES256, and the wall-time scaling of --jobs N over --jobs 1 (limited by the cores
other load leaves free); then the time to re-check 10,000,000 payloads on this machine's cores, extrapolated
from the CPU cost per line spread over every core, and from the --jobs N wall time as measured.

    python bench/verify_batch.py [LINES]   (default 30,000)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from helpers import DAY, Issuer, make_permit
from tufsource import TufSource

from keys.cose import sig_structure
from keys.permit import MAX_TEXT, parse_text
from verifier.batch import default_jobs
from verifier.cache import Cache
from verifier.check import check

ROOT = Path(__file__).resolve().parent.parent


def prepare(base: Path, lines: int, now: int) -> tuple[Path, Path, list[str], Issuer]:
    issuer = Issuer()
    source = TufSource(issuer, base / "pub", now)
    source.publish(now - 60, entries=[(i, 1) for i in range(0, 1000, 7)], exp=now + DAY)
    cache = Cache(base / "cache")
    cache.sync(str(source.out), now, source.root_json)
    payloads = [issuer.sign(make_permit(status_index=i % 1000)) for i in range(200)]
    text = []
    for i in range(lines):
        text.append("PR1:garbled" if i % 50 == 49 else payloads[i % len(payloads)])
    path = base / "payloads.txt"
    path.write_text("\n".join(text) + "\n")
    return cache.dir, path, text, issuer


def raw_verify_us(text: str, trust) -> float:
    envelope = parse_text(text)
    data = sig_structure(envelope.protected_raw, envelope.payload)
    der = encode_dss_signature(int.from_bytes(envelope.signature[:32], "big"),
                               int.from_bytes(envelope.signature[32:], "big"))
    public, algo = trust.keys[0].public_key, ec.ECDSA(hashes.SHA256())
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(2000):
            public.verify(der, data, algo)
        best = min(best, (time.process_time() - start) / 2000)
    return best * 1e6


def in_process_us(cache_dir: Path, lines: list[str], now: int) -> float:
    """The library's check over the same lines, as the CLI loads the lists (best of 3)."""
    cache = Cache(cache_dir)
    trust, status = cache.trust_list(), cache.status_lookup(None)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for line in lines:
            check(line[: MAX_TEXT + 2], trust, now, status)
        best = min(best, (time.process_time() - start) / len(lines))
    return best * 1e6


def cli_seconds(cache_dir: Path, path: Path, jobs: int, now: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its workers), best of 2 runs each."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(2):
        with path.open() as stdin:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "check", "-",
                                   "--at", str(now), "--jobs", str(jobs)], stdin=stdin, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd=ROOT)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
        best = min(best, elapsed)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best, best_cpu


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    cores = default_jobs()
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir, path, lines, _ = prepare(Path(tmp), n, now)
        trust = Cache(cache_dir).trust_list()
        raw_us = raw_verify_us(lines[0], trust)
        inproc_us = in_process_us(cache_dir, lines, now)
        one_s, one_cpu = cli_seconds(cache_dir, path, 1, now)
        all_s, all_cpu = cli_seconds(cache_dir, path, cores, now)
        empty = Path(tmp) / "empty.txt"
        empty.write_text("")
        _, start_cpu = cli_seconds(cache_dir, empty, 1, now)
    cli1_us = one_cpu / n * 1e6
    clin_us_per_core = all_cpu / n * 1e6
    print(f"lines: {n:,} (1 in 50 misread); cores: {cores} (os.sched_getaffinity); load average "
          f"{os.getloadavg()[0]:.1f}: the machine is shared, figures vary from run to run")
    print(f"raw ES256 verify:                 {raw_us:7.1f} CPU-us/op = {1e6 / raw_us:8.0f} per core-second")
    print(f"in-process check (library):       {inproc_us:7.1f} CPU-us/op = {1e6 / inproc_us:8.0f} per core-second")
    print(f"verifier check - --jobs 1:        {cli1_us:7.1f} CPU-us/line = {1e6 / cli1_us:8.0f} per core-second "
          f"(process start included; wall {one_s:.2f} s = {n / one_s:.0f} lines/s)")
    print(f"verifier check - --jobs {cores}:        {clin_us_per_core:7.1f} CPU-us/line = "
          f"{1e6 / clin_us_per_core:8.0f} per core-second (wall {all_s:.2f} s = {n / all_s:.0f} lines/s)")
    print(f"  of which process start (python, imports, cache load; empty input): {start_cpu * 1e3:.0f} ms CPU = "
          f"{start_cpu / n * 1e6:.1f} CPU-us/line over {n:,} lines")
    print(f"ratio (in-process / raw ES256): {raw_us / inproc_us:.2f}")
    print(f"ratio (--jobs 1 per core / in-process, target >= 0.8): {inproc_us / cli1_us:.2f}")
    print(f"ratio (--jobs {cores} per core / in-process, target >= 0.8): {inproc_us / clin_us_per_core:.2f}")
    print(f"scaling (--jobs {cores} / --jobs 1 wall-time throughput, ideal {cores}): {one_s / all_s:.2f}")
    total = 10_000_000 * clin_us_per_core / 1e6 / cores
    seen = 10_000_000 * all_s / n
    print(f"10,000,000 payloads on {cores} cores (extrapolated from the CPU cost per line, cores free): "
          f"{total:.0f} s = {total / 60:.1f} min; at this run's --jobs {cores} wall rate: {seen / 60:.1f} min")


if __name__ == "__main__":
    main()
