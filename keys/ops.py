"""What both services share to be operated: Prometheus exposition that is safe under gunicorn's worker
processes, and structured JSON logs. prometheus-client (the `server` extra) is imported only when used.

Multi-process: prometheus-client keeps one file of values per process in PROMETHEUS_MULTIPROC_DIR and adds
them up at scrape time. `serve` calls `prepare_multiprocess()` before anything imports prometheus_client
(the choice is made at import): it uses the directory the environment names (emptied first: values from
an earlier run would be added in) or else a new per-run directory removed at exit, and gunicorn's
`child_exit` hook marks a dead worker's live gauges gone (`worker_exited`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prepare_multiprocess(prefix: str) -> Path:
    """Set up PROMETHEUS_MULTIPROC_DIR for this run (see the module's doc) and return it."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    directory = Path(tempfile.mkdtemp(prefix=f"{prefix}-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    master = os.getpid()
    atexit.register(lambda: os.getpid() == master and shutil.rmtree(directory, ignore_errors=True))
    return directory


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: forget a dead worker's live-process gauges."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def exposition(extra: Iterable[Any] = ()) -> bytes:
    """The text exposition of every metric: all worker processes' values when PROMETHEUS_MULTIPROC_DIR is
    set (else this process's), plus `extra` collectors computed now (ages read at scrape time)."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    now = CollectorRegistry()
    for collector in extra:
        now.register(collector)
    return generate_latest(registry) + generate_latest(now)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
            "pid": record.process}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


LOG_FORMATS = ("text", "json")


def gunicorn_logconfig(log_format: str) -> dict[str, Any] | None:
    """gunicorn's `logconfig_dict` for `--log-format` (None: gunicorn's own text logs). JSON sends gunicorn's
    and the application's records to stderr, one object per line."""
    if log_format == "text":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                    "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
    }
