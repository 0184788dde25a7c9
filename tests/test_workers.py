"""verifier.workers.imap: forked workers that answer in task order, whatever the order they finish in, with
messages larger than a pipe holds, and that never outlive the batch (errors, a dead worker, a caller that
stops reading)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from verifier.workers import imap


def _children() -> set[int]:
    """The pids of this process's children still running or not yet reaped (Linux /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.add(int(entry))
    return found


def _slow_first(task: int) -> tuple[int, int]:
    time.sleep(0.05 if task % 3 == 0 else 0)
    return task, os.getpid()


def test_answers_come_in_task_order_when_workers_finish_out_of_order() -> None:
    out = list(imap(_slow_first, range(40), workers=3))
    assert [task for task, _ in out] == list(range(40))
    assert len({pid for _, pid in out}) == 3 and os.getpid() not in {pid for _, pid in out}


def _echo_big(task: str) -> str:
    return task * 3


def test_messages_far_larger_than_a_pipe_do_not_deadlock() -> None:
    tasks = [chr(65 + i) * 3_000_000 for i in range(6)]  # 3 MB out, 9 MB back, a pipe holds 64 KB
    out = list(imap(_echo_big, tasks, workers=2))
    assert out == [task * 3 for task in tasks]


def test_text_that_is_not_valid_unicode_survives_the_trip() -> None:
    """Lines read with surrogateescape hold lone surrogates: they reach the worker and come back intact."""
    tasks = ["\udcff\udcfe garbage", "\ud800", "全角 ok"]
    assert list(imap(_echo_big, tasks, workers=2)) == [task * 3 for task in tasks]


def _fail_on_five(task: int) -> int:
    if task == 5:
        raise KeyError("task five")
    time.sleep(0.01)
    return task


def test_error_in_a_worker_is_raised_here_and_no_worker_is_left() -> None:
    before = _children()
    with pytest.raises(KeyError, match="task five"):
        list(imap(_fail_on_five, range(50), workers=3))
    assert _children() == before


def _die_on_three(task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return task


def test_a_worker_killed_mid_batch_is_an_os_error_naming_its_exit() -> None:
    before = _children()
    with pytest.raises(ChildProcessError, match=r"ended before answering \(exit status -9\)"):
        list(imap(_die_on_three, range(20), workers=2))
    assert _children() == before


def test_a_caller_that_stops_reading_leaves_no_worker_behind() -> None:
    before = _children()
    answers = imap(_slow_first, range(1000), workers=2)
    assert next(answers) == (0, pytest.approx(0, abs=1 << 30))
    answers.close()
    assert _children() == before


def _count(task: int) -> int:
    return task


def test_tasks_are_taken_from_the_stream_only_as_answers_are_read() -> None:
    """At most 2 x workers tasks ahead of the answers read: a stream of any length uses bounded memory."""
    taken = []

    def tasks():
        for i in range(100):
            taken.append(i)
            yield i

    answers = imap(_count, tasks(), workers=2)
    for expected in range(10):
        assert next(answers) == expected
        assert len(taken) <= expected + 1 + 2 * 2
    answers.close()


def test_one_worker_and_no_tasks() -> None:
    assert list(imap(_count, [], workers=1)) == []
    assert list(imap(_count, [7], workers=1)) == [7]


class _Unpicklable(Exception):
    def __init__(self, what: str, extra: int) -> None:  # args do not rebuild it: unpickling would fail
        super().__init__(f"{what} {extra}")


def _raise_unpicklable(task: int) -> int:
    raise _Unpicklable("odd error", task)


def test_an_error_that_cannot_travel_arrives_by_name() -> None:
    with pytest.raises(RuntimeError, match="_Unpicklable: odd error 0"):
        list(imap(_raise_unpicklable, range(3), workers=2))


def _exit_mid_task(task: str) -> int:
    os._exit(3)


def test_a_worker_that_exits_mid_task_is_named() -> None:
    with pytest.raises(ChildProcessError, match=r"ended before answering \(exit status 3\)"):
        list(imap(_exit_mid_task, ["x" * 1_000_000] * 4, workers=2))


def _answer_then_leave(task: int) -> int:
    threading.Timer(0.05, os._exit, (3,)).start()  # gone once idle, before its next task comes
    return task


def test_a_worker_gone_before_its_next_task_is_named() -> None:
    def tasks():
        yield 0
        time.sleep(0.5)
        yield 1

    before = _children()
    with pytest.raises(ChildProcessError, match=r"exit status 3"):
        list(imap(_answer_then_leave, tasks(), workers=1))
    assert _children() == before


def _storage_fault(task: int) -> int:
    from keys.errors import Cause, PermitError, Reason

    raise PermitError("log file unreadable", Reason.STORE, cause=Cause.STORAGE)


def test_a_project_error_keeps_its_reason_and_cause_for_the_exit_code() -> None:
    from keys.errors import Cause, PermitError, Reason

    with pytest.raises(PermitError) as raised:
        list(imap(_storage_fault, range(2), workers=2))
    assert (raised.value.reason, raised.value.cause, raised.value.message) == (
        Reason.STORE, Cause.STORAGE, "log file unreadable")


def test_no_process_to_be_had_leaves_no_descriptor_or_worker_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second fork fails (EAGAIN: a process limit): the error reaches the caller, the first worker is
    reaped and every pipe is closed."""
    real_fork, forks = os.fork, []

    def fork() -> int:
        if forks:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", fork)
    fds, before = set(os.listdir("/proc/self/fd")), _children()
    with pytest.raises(BlockingIOError):
        list(imap(_count, range(10), workers=2))
    assert set(os.listdir("/proc/self/fd")) == fds and _children() == before


def _slow_first_error(task: int) -> int:
    if task == 0:
        time.sleep(0.5)  # the second task's error is ready long before this one's
    raise ValueError(f"task {task}")


def test_errors_arrive_in_task_order_whatever_finishes_first() -> None:
    """The same input fails with the same error on every run: a later task's error that is ready first waits
    for the earlier task's."""
    with pytest.raises(ValueError, match="task 0"):
        list(imap(_slow_first_error, range(2), workers=2))
