"""Forked worker processes that apply one function to a stream of tasks, results in task order.

Lighter than multiprocessing.Pool for `verifier check - --jobs N` (no module to import, no handler threads,
no per-task bookkeeping): each worker has a pipe for its tasks and one for its results, messages are
pickled with a length in front, and the parent gives a task only to an idle worker (one task in flight
per worker: neither side can block the other for good, whatever the message sizes). Results that come
back early wait for the earlier ones; at most 2 x workers tasks are taken from the stream before their
results are yielded, so memory stays flat. A task that raises in a worker raises the same exception
here, in its turn among the results; a worker that dies is an OSError (ChildProcessError) naming its exit status.

Workers are forked, so they run the function with everything the parent had loaded; they leave with
os._exit, never running the parent's exit handlers or flushing its buffers.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_LENGTH = struct.Struct("<Q")


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> tuple[bool, Any]:
    """(True, the message) or (False, None) at end of file before a whole message."""
    head = _read(fd, _LENGTH.size)
    if head is None:
        return False, None
    data = _read(fd, _LENGTH.unpack(head)[0])
    return (False, None) if data is None else (True, pickle.loads(data))


def _read(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _serve(function: Callable[[Any], Any], tasks: int, results: int) -> None:
    while True:
        received, task = _receive(tasks)
        if not received:
            return  # the parent closed the pipe: no more tasks
        try:
            answer = (True, function(task))
        except Exception as exc:  # handed to the parent, which raises it
            answer = (False, _portable(exc))
        _send(results, answer)


def _portable(exc: Exception) -> Exception:
    """`exc` if it survives pickling (most do), else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _Worker:
    def __init__(self, function: Callable[[Any], Any], inherited: list[int]) -> None:
        task_read, self.tasks = os.pipe()
        self.results, result_write = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): leave no descriptor behind
            for fd in (task_read, self.tasks, self.results, result_write):
                os.close(fd)
            raise
        if self.pid == 0:  # the worker
            code = 1
            try:
                for fd in (self.tasks, self.results, *inherited):  # the parent's ends, its other workers' pipes
                    os.close(fd)
                _serve(function, task_read, result_write)
                code = 0
            finally:
                os._exit(code)
        os.close(task_read)
        os.close(result_write)

    def stop(self) -> None:
        os.close(self.tasks)
        os.close(self.results)

    def died(self) -> ChildProcessError:
        pid, (_, status) = self.pid, os.waitpid(self.pid, 0)
        self.pid = 0
        return ChildProcessError(f"batch worker {pid} ended before answering "
                                 f"(exit status {os.waitstatus_to_exitcode(status)})")


def imap(function: Callable[[Any], Any], tasks: Iterable[Any], workers: int) -> Iterator[Any]:
    """function(task) for every task, computed in `workers` forked processes, yielded in task order."""
    pool: list[_Worker] = []
    finished = False
    try:
        for _ in range(workers):
            pool.append(_Worker(function, [fd for w in pool for fd in (w.tasks, w.results)]))
        yield from _run(pool, iter(tasks))
        finished = True
    finally:
        for worker in pool:
            worker.stop()  # the end of its task pipe: an idle worker leaves
            if worker.pid and not finished:  # an error, or the caller stopped early: no result is wanted
                os.kill(worker.pid, signal.SIGKILL)
        for worker in pool:
            if worker.pid:
                os.waitpid(worker.pid, 0)


def _run(pool: list[_Worker], tasks: Iterator[Any]) -> Iterator[Any]:
    idle = list(reversed(pool))
    busy: dict[int, tuple[_Worker, int]] = {}  # results fd -> (worker, number of its task)
    poll = select.poll()
    done: dict[int, Any] = {}
    given = wanted = 0  # tasks given out; the number of the next result to yield
    exhausted = False
    while True:
        while idle and not exhausted and given < wanted + 2 * len(pool):
            task = next(tasks, _END)
            if task is _END:
                exhausted = True
                break
            worker = idle.pop()
            try:
                _send(worker.tasks, task)
            except BrokenPipeError:
                raise worker.died() from None
            busy[worker.results] = (worker, given)
            poll.register(worker.results, select.POLLIN)
            given += 1
        while wanted in done:  # in task order, errors too: the same inputs fail with the same error
            ok, value = done.pop(wanted)
            if not ok:
                raise value
            yield value
            wanted += 1
        if not busy:  # every task given has been answered (and yielded)
            if exhausted:
                return
            continue  # the window was full: give out the next tasks
        for fd, _ in poll.poll():
            poll.unregister(fd)
            worker, number = busy.pop(fd)
            received, answer = _receive(fd)
            if not received:
                raise worker.died()
            done[number] = answer
            idle.append(worker)


_END = object()
