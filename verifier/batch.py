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
import sys
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


def chunks(text: Iterable[str], size: int = CHUNK, longest: int | None = None) -> Iterator[Chunk]:
    """Text given in pieces of any length (a file's lines, or `pieces` of a stream) -> chunks of `size`
    whole lines (the last one: what is left), each with the number of its first line, counted from 1.
    Lines end at "\\n", as sys.stdin and files opened with newline="\\n" split them. With `longest`, a line
    still unfinished after more than `longest` characters is cut (`cut`) and the rest of it is read and
    dropped, never held: one endless line costs no more memory than a short one."""
    number, held, count = 1, [], 0  # held: pieces not yet in a chunk, holding `count` newlines
    tail = 0  # characters held of the line being read (after the last newline)
    dropping = marked = False  # the line being read was cut; its kept part is not blank
    for piece in text:
        if dropping:
            newline = piece.find("\n")
            if not marked and (piece if newline < 0 else piece[:newline]).strip():
                held.append((piece if newline < 0 else piece[:newline]).lstrip()[:1])
                marked = True
            if newline < 0:
                continue
            dropping, piece, tail = False, piece[newline:], 0
        held.append(piece)
        newlines = piece.count("\n")
        count += newlines
        tail = tail + len(piece) if not newlines else len(piece) - 1 - piece.rindex("\n")
        if longest is not None and tail > longest:
            joined = "".join(held)
            kept = cut(joined[len(joined) - tail:], longest)
            held, tail = [joined[:len(joined) - tail], kept], len(kept)
            dropping, marked = True, bool(kept.strip())
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


def cut(line: str, longest: int) -> str:
    """`line` cut to its first `longest` characters; if those are blank and the rest is not, the rest's
    first non-blank character stays after them (a cut line is blank only if the whole line was)."""
    kept = line[:longest]
    return kept if kept.strip() else kept + line[longest:].lstrip()[:1]


def _work(render: Render, longest: int, chunk: Chunk) -> tuple[str, frozenset]:
    number, text = chunk
    lines = text.split("\n")
    last = lines.pop()  # after the chunk's last newline: "" unless the input ends without one
    out: list[str] = []
    seen = set()
    for line in lines:
        if line.strip():
            line += "\n"
            rendered, outcome = render(number, line if len(line) <= longest else cut(line, longest))
            out.append(rendered)
            seen.add(outcome)
        number += 1
    if last.strip():
        rendered, outcome = render(number, last if len(last) <= longest else cut(last, longest))
        out.append(rendered)
        seen.add(outcome)
    return ("\n".join(out) + "\n" if out else ""), frozenset(seen)


def run_batch(text: Iterable[str], render: Render, jobs: int,
              longest: int | None = None) -> Iterator[tuple[str, frozenset]]:
    """Render every non-blank line of `text` (pieces of any length: a file's lines, or `pieces(stream)`),
    numbered from 1 as in the input, with `render`; yields, per chunk of CHUNK input lines and in input
    order, the chunk's output text ("" if all its lines were blank) and the set of outcomes in it. With
    `longest`, render sees no more of a line than `cut(line, longest)` (its newline counted), and memory
    stays bounded even for a line that never ends."""
    work = partial(_work, render, sys.maxsize if longest is None else longest)  # forked workers inherit it
    if jobs <= 1:
        yield from map(work, chunks(text, longest=longest))
        return
    from verifier.workers import imap  # only here: a one-job batch starts without it

    yield from imap(work, chunks(text, longest=longest), jobs)
