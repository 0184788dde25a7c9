"""What one worker of the verification service holds between requests (app.extensions["verifier"]): the
cached lists, the organisations' keys, the sector policy, the rate buckets and the audit log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from keys.trustlist import TrustList
from verifier.cache import Cache
from verifier.server import orgs
from verifier.server.audit import AuditLog
from verifier.server.sectors import Policy, Sector
from verifier.status import CachedStatus


@dataclass
class _Bucket:
    tokens: float
    at: float


class ServiceState:
    """Per worker: the cached lists (reloaded when a sync swaps the cache), the organisations' keys and the
    sector policy (re-read at most once a second, so a revocation or a policy change takes effect within a
    second), rate buckets, audit."""

    def __init__(self, cache_dir: Path, clock: Callable[[], float]) -> None:
        self.cache = Cache(cache_dir)
        self.clock = clock
        self.audit = AuditLog(cache_dir)
        self._conn = orgs.connect(cache_dir)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._checked_lists = 0.0
        self.trust: TrustList | None = None
        self._held: dict = {}
        self._status: dict[int, CachedStatus] = {}
        self.policy = Policy(cache_dir)
        self._keys: dict[str, orgs.Org] = {}
        self._checked_keys = 0.0
        self._buckets: dict[str, _Bucket] = {}

    def lists(self, sector: Sector) -> tuple[TrustList | None, CachedStatus | None]:
        now = time.monotonic()
        if now - self._checked_lists >= 1.0:
            with self._lock:
                self._checked_lists = now
                generation = self.cache.generation()
                if generation != self._generation:
                    trust = self.cache.trust_list()
                    self._held = self.cache.status_lists(trust) if trust is not None else {}
                    self._status = {}
                    self.trust, self._generation = trust, generation
        status = self._status.get(sector.max_status_age)
        if status is None:
            status = self._status[sector.max_status_age] = CachedStatus(self._held, sector.max_status_age)
        return self.trust, status

    def org_for(self, key: str) -> orgs.Org | None:
        now = time.monotonic()
        if now - self._checked_keys >= 1.0:
            with self._lock:
                self._keys, self._checked_keys = orgs.active_keys(self._conn), now
                self.policy.refresh()
        return self._keys.get(orgs.key_hash(key))

    def admit(self, key: str, org: orgs.Org, sector: Sector) -> float | None:
        """Token bucket per key (per worker process): None if admitted, else seconds to wait. The rate is
        the organisation's own if it has one, else its sector's."""
        rate = org.rate or sector.rate
        burst = max(float(sector.burst), 2 * rate)
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(burst, now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate


def service_state() -> ServiceState:
    """The state of the app serving the current request."""
    return current_app.extensions["verifier"]
