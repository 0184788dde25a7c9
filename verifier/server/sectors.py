"""The sector policy: what each sector of caller may see, how old a status list it accepts, and its rate.

The policy is a file the operator reads and changes: `sectors.json` in the verifier cache, created from the
packaged defaults (verifier/server/sectors.json) the first time it is needed. Every sector the 2016
Opinion names has a default: bank, insurer, hotel, rail, civil-aviation, telecom, hospital, school,
employer, social-insurance, property-registration, court, and `other`. A file that is not valid is refused
whole with a clear error naming the sector and the field; nothing is half-applied. Running servers re-read
the file when it changes (checked at most once a second).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from keys.errors import Cause, PermitError, Reason
from keys.files import write_atomic

POLICY_FILE = "sectors.json"
HOLDER = frozenset({"number", "card", "surname", "given_names", "chinese_name", "sex", "birth_date", "nationality",
                    "category", "authority", "issue_date", "expiry_date"})
_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
_KEYS = {"fields", "max_status_age", "rate", "burst"}
MAX_RATE = 100_000.0


class PolicyError(PermitError):
    """The sector policy file is unreadable or not valid: a configuration fault."""

    reason = Reason.USAGE
    cause = Cause.CONFIG


@dataclass(frozen=True)
class Sector:
    name: str
    fields: frozenset[str]
    max_status_age: int  # seconds
    rate: float  # requests per second per key, sustained
    burst: int


def default_policy_bytes() -> bytes:
    return resources.files("verifier.server").joinpath(POLICY_FILE).read_bytes()


def parse_policy(data: bytes, where: str = POLICY_FILE) -> dict[str, Sector]:
    """Policy bytes -> sectors by name. Raises PolicyError naming what is wrong."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sectors"), dict) or not doc["sectors"]:
        raise PolicyError(f"{where} must be an object with a non-empty object 'sectors'")
    sectors: dict[str, Sector] = {}
    for name, spec in doc["sectors"].items():
        bad = f"{where}: sector {name!r}"
        if not _NAME.fullmatch(name):
            raise PolicyError(f"{bad}: a sector name is lower-case letters, digits and hyphens")
        if not isinstance(spec, dict) or set(spec) != _KEYS:
            raise PolicyError(f"{bad} must have exactly the fields {', '.join(sorted(_KEYS))}")
        fields, age, rate, burst = spec["fields"], spec["max_status_age"], spec["rate"], spec["burst"]
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise PolicyError(f"{bad}: 'fields' must be a list of field names")
        unknown = sorted(set(fields) - HOLDER)
        if unknown:
            raise PolicyError(f"{bad}: unknown field(s) {', '.join(unknown)}; the fields are "
                              f"{', '.join(sorted(HOLDER))}")
        if type(age) is not int or age < 0:
            raise PolicyError(f"{bad}: 'max_status_age' must be whole seconds, 0 or more")
        if type(rate) not in (int, float) or not 0.1 <= rate <= MAX_RATE:
            raise PolicyError(f"{bad}: 'rate' must be a number of requests per second from 0.1 to {MAX_RATE:g}")
        if type(burst) is not int or not 1 <= burst <= 10 * MAX_RATE:
            raise PolicyError(f"{bad}: 'burst' must be a whole number of requests, 1 or more")
        sectors[name] = Sector(name, frozenset(fields), age, float(rate), burst)
    return sectors


def policy_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / POLICY_FILE


def load_policy(cache_dir: Path) -> dict[str, Sector]:
    """The cache's policy file, created from the packaged defaults if absent."""
    path = policy_path(cache_dir)
    if not path.exists():
        write_atomic(path, default_policy_bytes())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_policy(data, str(path))


class Policy:
    """The policy as a running server sees it: re-read when the file's size or time changes. A file made
    invalid while running is reported and the last valid policy kept (the server never runs without one)."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = policy_path(cache_dir)
        self.sectors = load_policy(cache_dir)
        self._stamp = self._stat()
        self.error: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.sectors = load_policy(self.path.parent)
            self.error = None
        except PermitError as exc:
            self.error = exc.message
