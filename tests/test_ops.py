"""keys/ops.py: the per-run metrics directory and the JSON log lines."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from keys.ops import MULTIPROC_ENV, JsonFormatter, gunicorn_logconfig, prepare_multiprocess


def test_stale_metric_files_from_an_earlier_run_are_not_added_in(tmp_path: Path, monkeypatch) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1234.db").write_bytes(b"old values")
    (directory / "keep.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    assert prepare_multiprocess("test") == directory
    assert not list(directory.glob("*.db")) and (directory / "keep.txt").exists()


def test_a_run_without_a_directory_gets_its_own_and_removes_it_at_exit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    code = ("import os; from keys.ops import prepare_multiprocess; d = prepare_multiprocess('t'); "
            "assert os.environ['PROMETHEUS_MULTIPROC_DIR'] == str(d) and d.is_dir(); print(d)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert not Path(proc.stdout.strip()).exists()


def test_json_log_lines_are_one_object_each_with_the_exception() -> None:
    record = logging.LogRecord("registry.api", logging.ERROR, __file__, 1, "failed: %s", ("x\ny",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["message"] == "failed: x\ny" and "boom" in entry["exception"]
    assert entry["time"].endswith("Z") and entry["logger"] == "registry.api"
    assert gunicorn_logconfig("text") is None and gunicorn_logconfig("json")["root"]["handlers"] == ["stderr"]
