"""Prometheus metrics of the verification service, at GET /metrics (text exposition; safe under gunicorn's
worker processes, see keys/ops.py):

- permit_verifier_checks_total{endpoint, verdict, reason}: every check answered (counted where it is audited)
- permit_verifier_request_seconds{endpoint}: latency histogram of the /v1/ calls
- permit_verifier_requests_total{endpoint, status}: /v1/ calls by HTTP status (429s, 401s, ...)
- permit_verifier_status_list_age_seconds{list}: age of each status list held, read at scrape time
- permit_verifier_trust_list_expires_in_seconds, permit_verifier_last_sync_timestamp_seconds
- permit_verifier_sync_failures_total{reason}: failed `verifier sync` runs (recorded by the CLI beside the cache)

No label holds personal data or an organisation's name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from keys.ops import CONTENT_TYPE, exposition
from verifier.cache import epoch
from verifier.holdings import holdings
from verifier.syncfailures import sync_failures

CHECKS = Counter("permit_verifier_checks_total", "Checks answered, by endpoint, verdict and reason",
                 ["endpoint", "verdict", "reason"])
LATENCY = Histogram("permit_verifier_request_seconds", "Time to answer a /v1/ call", ["endpoint"],
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
REQUESTS = Counter("permit_verifier_requests_total", "/v1/ calls answered, by endpoint and HTTP status",
                   ["endpoint", "status"])


_children: dict[tuple, Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """metric.labels(*labels), looked up once (labels() takes a lock and builds a key each call)."""
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


class CountingAudit:
    """The audit log, counting each check it records by verdict and reason."""

    def __init__(self, audit: Any) -> None:
        self._audit = audit

    def record(self, org: str, endpoint: str, number: str | None, verdict: str, reason: str) -> None:
        self._audit.record(org, endpoint, number, verdict, reason)
        _child(CHECKS, endpoint, verdict, reason).inc()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._audit, name)


class HoldingsCollector:
    """Ages and sync failures, read from the cache when scraped."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        state = self._state
        now = int(state.clock())
        sector = state.policy.sectors.get("other") or next(iter(state.policy.sectors.values()))
        trust, status = state.lists(sector)
        info = holdings(state.cache, now, (trust, status.lists if status else {}))
        ages = GaugeMetricFamily("permit_verifier_status_list_age_seconds",
                                 "Seconds since the newest timestamp that vouched for each status list held",
                                 labels=["list"])
        for entry in info["status_lists"]:
            ages.add_metric([str(entry["id"])], entry["age_seconds"])
        yield ages
        if info["trust_list_expires"]:
            yield GaugeMetricFamily("permit_verifier_trust_list_expires_in_seconds",
                                    "Seconds until the trust list held expires",
                                    value=epoch(info["trust_list_expires"]) - now)
        if info["last_sync"]:
            yield GaugeMetricFamily("permit_verifier_last_sync_timestamp_seconds", "When the last sync succeeded",
                                    value=epoch(info["last_sync"]))
        failures = sync_failures(state.cache.dir)
        family = CounterMetricFamily("permit_verifier_sync_failures", "Failed `verifier sync` runs, by reason",
                                     labels=["reason"])
        for reason, count in sorted(failures["by_reason"].items()):
            family.add_metric([reason], count)
        yield family


def install(app: Flask, state: Any) -> None:
    """Count checks through the audit, time the /v1/ calls and serve GET /metrics."""
    state.audit = CountingAudit(state.audit)
    collector = HoldingsCollector(state)

    @app.before_request
    def _start() -> None:
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        if request.path.startswith("/v1/") and "metrics_start" in g:
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
            _child(LATENCY, endpoint).observe(time.perf_counter() - g.metrics_start)
            _child(REQUESTS, endpoint, str(resp.status_code)).inc()
        return resp

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(exposition([collector]), content_type=CONTENT_TYPE)
