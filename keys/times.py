"""Times as every command, file and answer of the project prints them: ISO 8601 in UTC with `Z`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@overload
def iso(value: int | float) -> str: ...
@overload
def iso(value: None) -> None: ...
def iso(value: int | float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC with `Z` (None stays None)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).strftime(ISO_FORMAT)
