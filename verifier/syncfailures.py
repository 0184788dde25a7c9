"""A count of failed syncs kept beside the cache (sync-failures.json, outside the generations a sync swaps),
so the online service's /metrics can report them: `verifier sync` runs from a timer in its own process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE = "sync-failures.json"


def record_sync_failure(cache_dir: Path, reason: str, at: int) -> None:
    """Add one failure (best effort: a cache directory that cannot be written is the failure itself)."""
    path = Path(cache_dir) / FILE
    counts = sync_failures(cache_dir)
    counts["total"] += 1
    counts["by_reason"][reason] = counts["by_reason"].get(reason, 0) + 1
    counts["last_failure_at"] = at
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(counts), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def sync_failures(cache_dir: Path) -> dict[str, Any]:
    """{"total": n, "by_reason": {reason: n}, "last_failure_at": epoch seconds or None}."""
    try:
        data = json.loads((Path(cache_dir) / FILE).read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("total"), int) and isinstance(data.get("by_reason"), dict):
            return {"total": data["total"], "by_reason": dict(data["by_reason"]),
                    "last_failure_at": data.get("last_failure_at")}
    except (OSError, ValueError):
        pass
    return {"total": 0, "by_reason": {}, "last_failure_at": None}
