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
from hypothesis import given, settings
from hypothesis import strategies as st
from test_server import _cache

from keys.permit import MAX_TEXT
from verifier import batch
from verifier.batch import run_batch
from verifier.check import check

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
    assert len(out) == -(-len(lines) // batch.CHUNK)  # chunks of CHUNK input lines, blank ones included


def test_run_batch_with_one_job_stays_in_this_process() -> None:
    out = list(run_batch(["a\n", "b\n"], lambda n, line: (str(os.getpid()), 0), jobs=1))
    assert out == [(f"{os.getpid()}\n{os.getpid()}\n", frozenset({0}))]


def _render_number(number: int, line: str) -> tuple[str, str]:
    return f"{number}:{line!r}", line[:1]


@pytest.mark.parametrize("jobs", [1, 3])
def test_lines_cut_anywhere_across_reads_keep_their_numbers(jobs: int) -> None:
    """The stream is read in pieces that end anywhere (mid-line, mid-CRLF, several chunks at once): every
    line is still rendered whole, with its newline, under its number; blank lines (spaces, CR) are skipped."""
    lines = [f"p{i}\n" if i % 5 else ("  \r\n" if i % 2 else "\n") for i in range(1, 2 * batch.CHUNK + 40)]
    lines.append("last-without-newline")
    text = "".join(lines)
    expected = [f"{n}:{line!r}" for n, line in enumerate(lines, start=1) if line.strip()]
    for size in (1, 7, 100, batch.CHUNK * 3, len(text)):
        pieces = [text[i:i + size] for i in range(0, len(text), size)]
        out = list(run_batch(pieces, _render_number, jobs))
        assert "".join(rendered for rendered, _ in out).splitlines() == expected, size
        assert frozenset().union(*(seen for _, seen in out)) == {"p", "l"}


def test_a_chunk_of_only_blank_lines_prints_nothing() -> None:
    lines = ["\n"] * batch.CHUNK + ["  \t\r\n"] * batch.CHUNK + ["x\n"]
    out = list(run_batch(lines, _render_number, jobs=2))
    assert out == [("", frozenset()), ("", frozenset()), (f"{2 * batch.CHUNK + 1}:'x\\n'\n", frozenset({"x"}))]


def test_pieces_of_a_stream_read_everything_in_bounded_reads(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line {i}\n" for i in range(50_000)) + "tail")
    with path.open(newline="\n") as stream:
        pieces = list(batch.pieces(stream))
    assert "".join(pieces) == path.read_text() and max(map(len, pieces)) == batch.READ and len(pieces) > 1
    numbered = list(batch.chunks(pieces))
    assert [number for number, _ in numbered] == list(range(1, 50_002, batch.CHUNK))
    assert all(text.count("\n") == batch.CHUNK for _, text in numbered[:-1])


def test_worker_error_reaches_the_caller() -> None:
    def render(number: int, line: str) -> tuple[str, int]:
        if number == 700:
            raise ValueError("line 700 is cursed")
        return str(number), 0

    with pytest.raises(ValueError, match="line 700 is cursed"):
        list(run_batch([f"{i}\n" for i in range(1, 2000)], render, jobs=2))


def test_odd_input_gives_the_same_answers_with_every_job_count(payload_file) -> None:
    """CRLF line endings, a lone CR inside a line, bytes that are not UTF-8, an over-long line and a last
    line without a newline: --jobs 1 and --jobs 3 print the same lines, numbered as in the input."""
    cache_dir, _, _, at = payload_file
    valid = _check(cache_dir, payload_file[1], at, "--jobs", "1").stdout
    assert valid
    path = payload_file[1].parent / "odd.bin"
    first = payload_file[1].read_text().splitlines()[0]
    path.write_bytes(b"".join([first.encode() + b"\r\n", b"\n", b"PR1:AB\rCD\n", b"\xff\xfe garbage\n",
                               b"PR1:" + b"A" * 9000 + b"\n", b"PR1:" + b"A" * 3388 + b"\n", b"   \n",
                               first.encode()]))
    one = _check(cache_dir, path, at, "--jobs", "1")
    three = _check(cache_dir, path, at, "--jobs", "3")
    assert one.stdout == three.stdout and one.returncode == three.returncode == 1
    answers = [json.loads(line) for line in one.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 3, 4, 5, 6, 8]
    assert [a["reason"] for a in answers] == ["VALID", "MALFORMED", "MALFORMED", "MALFORMED", "MALFORMED", "VALID"]
    assert "payload is 3393 characters" in answers[3]["detail"]  # read up to MAX_TEXT + 2 characters


def test_bytes_the_locale_cannot_decode_are_a_misread_line_not_a_crash(payload_file) -> None:
    """Under a strict UTF-8 locale a stray byte used to end the batch with a traceback and exit 1 (the
    code for INVALID); it is a misread line (MALFORMED) and the lines after it are checked."""
    cache_dir, path, _, at = payload_file
    first = path.read_text().splitlines()[0]
    odd = path.parent / "latin1.bin"
    odd.write_bytes(first.encode() + b"\n" + b"M\xfcller\xff\n" + first.encode() + b"\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    outs = []
    for jobs in ("1", "2"):
        with odd.open() as stdin:
            proc = subprocess.run([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "check", "-",
                                   "--json", "--at", str(at), "--jobs", jobs], stdin=stdin, capture_output=True,
                                  text=True, cwd=ROOT, timeout=120, env=env)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        outs.append(proc.stdout)
        assert [(a["line"], a["reason"]) for a in map(json.loads, proc.stdout.splitlines())] == [
            (1, "VALID"), (2, "MALFORMED"), (3, "VALID")]
    assert outs[0] == outs[1]


def _whole_line_answers(text: str, longest: int) -> list[str]:
    """What run_batch must give, from whole lines: each non-blank line, its newline kept, through batch.cut."""
    lines = text.split("\n")
    last = lines.pop()
    full = [line + "\n" for line in lines] + [last]
    return [f"{n}:{batch.cut(line, longest) if len(line) > longest else line!r}"
            for n, line in enumerate(full, start=1) if line.strip()]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=" \t\r\naé", max_size=400) | st.lists(
           st.sampled_from(["a", " ", "\n", "\t\t\t\t\t\t\t\t\t", "b" * 30, " " * 30]), max_size=60).map("".join),
       sizes=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20),
       longest=st.integers(min_value=1, max_value=12))
def test_long_lines_are_cut_the_same_wherever_the_reads_end(text: str, sizes: list[int], longest: int) -> None:
    """The parent cuts a long line while it is still being read (its rest never held), a worker cuts the
    long lines it finds whole: the answers are the same as cutting every whole line, for any read sizes,
    and a line is skipped as blank exactly when the whole line was blank."""
    pieces, position = [], 0
    while position < len(text):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(text[position:position + size])
        position += size
    out = list(run_batch(pieces, lambda n, line: (f"{n}:{line!r}", 0), jobs=1, longest=longest))
    assert "".join(rendered for rendered, _ in out).splitlines() == _whole_line_answers(text, longest)


def test_a_line_that_never_ends_is_read_in_bounded_memory(payload_file) -> None:
    """300 MB without a newline (then a valid payload): the batch answers both lines, MALFORMED for the endless
    one, without ever holding it (the process stays far below the line's size)."""
    cache_dir, path, _, at = payload_file
    first = path.read_text().splitlines()[0]
    feeder = ("import sys\nout = sys.stdout.buffer\nout.write(b'PR1:')\nfor _ in range(300):\n"
              "    out.write(b'A' * (1 << 20))\n" f"out.write(b'\\n' + {first.encode()!r} + b'\\n')\n")
    script = ("import resource, subprocess, sys\n"
              f"feed = subprocess.Popen([sys.executable, '-c', {feeder!r}], stdout=subprocess.PIPE)\n"
              f"proc = subprocess.run([sys.executable, '-m', 'verifier.cli', '--cache', {str(cache_dir)!r}, 'check', "
              f"'-', '--json', '--at', '{at}', '--jobs', '2'], stdin=feed.stdout, capture_output=True, text=True)\n"
              "feed.wait()\n"
              "print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
              "print(proc.stdout, end='')\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    status, *answers = run.stdout.splitlines()
    code, max_rss_kb = map(int, status.split())
    assert code == 1, run.stderr
    assert [(a["line"], a["reason"]) for a in map(json.loads, answers)] == [(1, "MALFORMED"), (2, "VALID")]
    assert "payload is 3393 characters" in json.loads(answers[0])["detail"]
    assert max_rss_kb < 150 * 1024  # the line alone is 300 MB


def test_a_full_qr_codes_text_is_not_too_long_because_of_its_line_end(payload_file) -> None:
    """A payload of exactly MAX_TEXT characters (a full QR code) read with the CR LF a scanner or a file adds
    was refused as "3393 characters, more than a QR code holds" in a batch, and accepted as one argument."""
    cache_dir, path, _, at = payload_file
    full = "PR1:" + "A" * (MAX_TEXT - 4)
    batch = path.parent / "full.txt"
    batch.write_bytes(full.encode() + b"\r\n" + ("PR1:" + "A" * (MAX_TEXT - 3)).encode() + b"\r\n")
    answers = [json.loads(line) for line in _check(cache_dir, batch, at, "--jobs", "1").stdout.splitlines()]
    assert "more than a QR code holds" not in answers[0]["detail"]
    assert f"payload is {MAX_TEXT + 1} characters" in answers[1]["detail"]  # one more is too long, CR LF or not
    assert "more than a QR code holds" not in check(full + "\r\n", None, at).detail


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_reader_that_stops_early_is_not_told_invalid(payload_file, jobs: str) -> None:
    """`verifier check - | head -1` used to exit 1, the code for INVALID, though most lines were never
    answered: a closed output is operational (4), said on stderr, with no traceback and no worker left."""
    cache_dir, path, _, at = payload_file
    with path.open() as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "--cache", str(cache_dir), "check", "-",
                                 "--at", str(at), "--jobs", jobs], stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"1: ")
        proc.stdout.close()  # as head does after its line
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 4
    assert "output was closed" in err and "Traceback" not in err
