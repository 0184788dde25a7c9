"""`verifier check - --jobs N`: a file of payloads checked across processes, every answer in input order,
the same answers as one process, and the batch's exit code the worst verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import Issuer, make_permit
from test_server import _cache

from verifier import batch
from verifier.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def payload_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str], int]:
    issuer = Issuer()
    directory = tmp_path_factory.mktemp("jobs")
    now = int(time.time())
    cache = _cache(issuer, directory, revoked=[5], now=now)
    valid, revoked = issuer.sign(), issuer.sign(make_permit(status_index=5))
    lines, expected = [], []
    for i in range(1500):
        kind = i % 4
        lines.append([valid, revoked, "garbage", ""][kind])
        if kind != 3:
            expected.append(["VALID", "REVOKED", "MALFORMED"][kind])
    path = directory / "payloads.txt"
    path.write_text("\n".join(lines) + "\n")
    return cache.dir, path, expected, now


def _check(cache_dir: Path, path: Path, at: int, *options: str) -> subprocess.CompletedProcess:
    with path.open() as stdin:
        return subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "check", "-",
                               "--json", "--at", str(at), *options], stdin=stdin, capture_output=True, text=True,
                              cwd=ROOT, timeout=300)


def test_jobs_answer_in_input_order_as_one_process_does(payload_file) -> None:
    cache_dir, path, expected, at = payload_file
    one = _check(cache_dir, path, at, "--jobs", "1")
    three = _check(cache_dir, path, at, "--jobs", "3")
    default = _check(cache_dir, path, at)
    assert one.returncode == three.returncode == default.returncode == 1  # the worst verdict: invalid
    assert [json.loads(line)["reason"] for line in three.stdout.splitlines()] == expected
    assert three.stdout == one.stdout == default.stdout


def test_jobs_zero_is_a_usage_error(payload_file) -> None:
    cache_dir, path, _, at = payload_file
    assert _check(cache_dir, path, at, "--jobs", "0").returncode == 3


def test_run_batch_uses_several_processes_and_keeps_order() -> None:
    lines = [f"line {i}\n" if i % 7 else "\n" for i in range(1, 5000)]

    def render(number: int, line: str) -> tuple[str, int]:
        return f"{number}:{line.strip()}:{os.getpid()}", int(number % 3 == 0)

    out = list(run_batch(lines, render, jobs=3))
    rendered = [row for text, _ in out for row in text.splitlines()]
    numbers = [int(row.split(":")[0]) for row in rendered]
    assert numbers == [i for i in range(1, 5000) if i % 7]
    assert all(row.split(":")[1] == f"line {row.split(':')[0]}" for row in rendered)
    pids = {row.split(":")[2] for row in rendered}
    assert len(pids) >= 2 and str(os.getpid()) not in pids
    assert frozenset().union(*(seen for _, seen in out)) == {0, 1}  # every outcome reaches the parent
    assert len(out) == -(-len(numbers) // batch.CHUNK)


def test_run_batch_with_one_job_stays_in_this_process() -> None:
    out = list(run_batch(["a\n", "b\n"], lambda n, line: (str(os.getpid()), 0), jobs=1))
    assert out == [(f"{os.getpid()}\n{os.getpid()}\n", frozenset({0}))]
