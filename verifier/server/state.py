"""What one worker of the verification service holds between requests (app.extensions["verifier"]): the
cached lists, the organisations' keys, the sector policy, the rate buckets and the audit log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from flask import current_app

from keys.trustlist import TrustList
from verifier.cache import Cache
from verifier.server import orgs
from verifier.server.audit import AuditLog
from verifier.server.limits import CheckLimiter, DecodeSlots, burst_for
from verifier.server.sectors import Policy, Sector
from verifier.status import CachedStatus


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
        # (key hash -> active organisation, key presented since the read -> organisation), swapped as one
        self._keys: tuple[dict[str, orgs.Org], dict[str, orgs.Org]] = ({}, {})
        self._checked_keys = 0.0
        self.limiter = CheckLimiter()
        self.decoders = DecodeSlots()

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

    def caller(self, key: str) -> Caller | None:
        """The caller presenting API key `key`, or None if no active organisation has it. What a key found
        gives (organisation, sector, rate) is remembered until the next refresh, so a revocation or a policy
        change still takes effect within a second; a key not found is not remembered."""
        now = time.monotonic()
        if now - self._checked_keys >= 1.0:
            with self._lock:
                self._keys, self._checked_keys = (orgs.active_keys(self._conn), {}), now
                self.policy.refresh()
        active, known = self._keys
        caller = known.get(key)
        if caller is None:
            org = active.get(orgs.key_hash(key))
            if org is None:
                return None
            caller = known[key] = Caller.of(org, key, self.policy.sectors.get(org.sector))
        return caller

    def admit(self, caller: Caller, cost: int = 1, paid: int = 0) -> float | None:
        """Take `cost` checks from the key's bucket (per worker process; see limits.py): None if admitted,
        else seconds to wait."""
        return self.limiter.take(caller.key, cost, caller.rate, caller.burst, paid)


class Caller(NamedTuple):
    """An authenticated caller: its organisation, the API key it presented (its rate account), its sector
    (None if the policy no longer has it) and its rate: the organisation's own if it has one, else its
    sector's, with a burst that follows that rate."""

    org: orgs.Org
    key: str
    sector: Sector | None
    rate: float
    burst: float

    @classmethod
    def of(cls, org: orgs.Org, key: str, sector: Sector | None) -> Caller:
        if sector is None:
            return cls(org, key, None, 0.0, 0.0)
        rate = org.rate or sector.rate
        return cls(org, key, sector, rate, burst_for(rate, sector.rate, sector.burst))


def service_state() -> ServiceState:
    """The state of the app serving the current request."""
    return current_app.extensions["verifier"]
