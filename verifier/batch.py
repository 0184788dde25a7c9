"""Checking a stream of payloads across cores (`verifier check - --jobs N`), answers in input order.

The parent reads the input in chunks of CHUNK lines and keeps at most 2 x jobs chunks in flight (memory stays
flat for any input size); forked workers inherit the loaded trust list and status lists (nothing is
re-read or re-verified per worker) and return each chunk's rendered lines; the parent writes the chunks in
the order they were read. With one job everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import islice

CHUNK = 512

Render = Callable[[int, str], tuple[str, Hashable]]
"""(line number, line text) -> (output text, its outcome: the verdict)."""

_render: Render | None = None  # set in the parent before the fork; the workers inherit it


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    return ((number, line) for number, line in enumerate(lines, start=1) if line.strip())


def _work(chunk: list[tuple[int, str]]) -> tuple[str, frozenset]:
    assert _render is not None
    out: list[str] = []
    seen = set()
    for number, line in chunk:
        text, outcome = _render(number, line)
        out.append(text)
        seen.add(outcome)
    return "\n".join(out) + "\n", frozenset(seen)


def run_batch(lines: Iterable[str], render: Render, jobs: int) -> Iterator[tuple[str, frozenset]]:
    """Render every non-blank line (numbered from 1 as in the input) with `render`; yields, per chunk and in
    input order, the chunk's output text and the set of outcomes in it."""
    global _render
    numbered = _numbered(lines)
    chunks = iter(lambda: list(islice(numbered, CHUNK)), [])
    _render = render
    if jobs <= 1:
        yield from map(_work, chunks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_work, (chunk,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
