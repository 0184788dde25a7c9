"""Checking a stream of payloads across cores (`verifier check - --jobs N`), answers in input order.

The parent does almost no work per line: it reads the input in pieces of READ characters (`pieces`), cuts
them into chunks of CHUNK whole lines, each with the number of its first line (`chunks`: a few str.count
and str.index calls, no string per line), and keeps at most 2 x jobs chunks in flight (memory
stays flat for any number of lines). A worker splits its chunk into lines, numbers them, skips the blank
ones and renders the others; it returns the chunk's output text, and the parent writes the chunks in the
order they were read. Workers are forked (verifier.workers), so they inherit the loaded trust list and
status lists: nothing is re-read or re-verified per worker. With one job the same chunks are rendered in
this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from functools import partial
from typing import TextIO

CHUNK = 512  # lines per chunk, blank ones included
READ = 1 << 16  # characters read from a stream at a time

Render = Callable[[int, str], tuple[str, Hashable]]
"""(line number, line text as read, its newline included) -> (output text, its outcome: the verdict)."""

Chunk = tuple[int, str]
"""(number of its first line, the text of its lines, each ending in a newline but perhaps the input's last)."""


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pieces(stream: TextIO) -> Iterator[str]:
    """The text of `stream` in pieces of up to READ characters, cut anywhere (`chunks` re-cuts at newlines)."""
    return iter(partial(stream.read, READ), "")


def chunks(text: Iterable[str], size: int = CHUNK) -> Iterator[Chunk]:
    """Text given in pieces of any length (a file's lines, or `pieces` of a stream) -> chunks of `size`
    whole lines (the last one: what is left), each with the number of its first line, counted from 1.
    Lines end at "\\n", as sys.stdin and files opened with newline="\\n" split them."""
    number, held, count = 1, [], 0  # held: pieces not yet in a chunk, holding `count` newlines
    for piece in text:
        held.append(piece)
        count += piece.count("\n")
        if count < size:
            continue
        joined, start = "".join(held), 0
        while count >= size:
            end = start
            for _ in range(size):
                end = joined.index("\n", end) + 1
            yield number, joined[start:end]
            number, count, start = number + size, count - size, end
        held = [joined[start:]]
    rest = "".join(held)
    if rest:
        yield number, rest


def _work(render: Render, chunk: Chunk) -> tuple[str, frozenset]:
    number, text = chunk
    lines = text.split("\n")
    last = lines.pop()  # after the chunk's last newline: "" unless the input ends without one
    out: list[str] = []
    seen = set()
    for line in lines:
        if line.strip():
            rendered, outcome = render(number, line + "\n")
            out.append(rendered)
            seen.add(outcome)
        number += 1
    if last.strip():
        rendered, outcome = render(number, last)
        out.append(rendered)
        seen.add(outcome)
    return ("\n".join(out) + "\n" if out else ""), frozenset(seen)


def run_batch(text: Iterable[str], render: Render, jobs: int) -> Iterator[tuple[str, frozenset]]:
    """Render every non-blank line of `text` (pieces of any length: a file's lines, or `pieces(stream)`),
    numbered from 1 as in the input, with `render`; yields, per chunk of CHUNK input lines and in input
    order, the chunk's output text ("" if all its lines were blank) and the set of outcomes in it."""
    work = partial(_work, render)  # forked workers inherit it: nothing to pickle
    if jobs <= 1:
        yield from map(work, chunks(text))
        return
    from verifier.workers import imap  # only here: a one-job batch starts without it

    yield from imap(work, chunks(text), jobs)
