"""Prometheus metrics of the registry's admin API, at GET /metrics (text exposition; safe under gunicorn's
worker processes, see keys/ops.py):

- permit_registry_requests_total{route, method, status}: every call, by route template (never a permit number)
- permit_registry_request_seconds{route}: latency histogram
- permit_registry_publish_seconds: how long each successful POST /admin/v1/publish took
- permit_registry_acts_total{kind}: the office's acts, by kind, counted in the append-only `events` log at
  scrape time (so acts done from the CLI count too, and every worker answers the same)
- permit_registry_status_list_age_seconds{list}, permit_registry_trust_list_age_seconds: seconds since each
  published list was signed (HOME/published/state.json), at scrape time

Serve /metrics to the monitoring network only (a proxy rule): it needs no token, and holds no personal data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from keys.ops import CONTENT_TYPE, exposition
from registry import store
from registry.api.state import app_state, get_db

REQUESTS = Counter("permit_registry_requests_total", "Admin API and published-file calls, by route and status",
                   ["route", "method", "status"])
LATENCY = Histogram("permit_registry_request_seconds", "Time to answer a call", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
PUBLISH = Histogram("permit_registry_publish_seconds", "Time a successful publish took (POST /admin/v1/publish)",
                    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0))
PUBLISH_ENDPOINT = "admin.publish_now"


class StoreCollector:
    """Acts by kind and the published lists' ages, read once per scrape."""

    def __init__(self, acts: list[tuple[str, int]], published: dict[str, Any], now: int) -> None:
        self._acts, self._published, self._now = acts, published, now

    def collect(self) -> Iterator[Any]:
        acts = CounterMetricFamily("permit_registry_acts", "Acts of the office recorded in the events log, by kind",
                                   labels=["kind"])
        for kind, count in self._acts:
            acts.add_metric([kind], count)
        yield acts
        ages = GaugeMetricFamily("permit_registry_status_list_age_seconds",
                                 "Seconds since each published status list was signed", labels=["list"])
        for list_id, entry in sorted(self._published.get("lists", {}).items(), key=lambda kv: int(kv[0])):
            ages.add_metric([str(list_id)], self._now - int(entry["iat"]))
        yield ages
        trust = self._published.get("trust")
        if trust:
            yield GaugeMetricFamily("permit_registry_trust_list_age_seconds",
                                    "Seconds since the published trust list was signed", value=self._now - trust["iat"])


def _published_state() -> dict[str, Any]:
    try:
        data = json.loads((app_state().home.path / "published" / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def install(app: Flask) -> None:
    """Time and count every call and serve GET /metrics."""

    @app.before_request
    def _start() -> None:
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        if "metrics_start" not in g or request.path == "/metrics":
            return resp
        elapsed = time.perf_counter() - g.metrics_start
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route, request.method, str(resp.status_code)).inc()
        LATENCY.labels(route).observe(elapsed)
        if request.endpoint == PUBLISH_ENDPOINT and resp.status_code < 400:
            PUBLISH.observe(elapsed)
        return resp

    @app.get("/metrics")
    def metrics() -> Response:
        try:
            acts = [(row["action"], row["n"]) for row in store.rows(
                get_db(), "SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY action")]
        except store.StoreError:
            acts = []
        collector = StoreCollector(acts, _published_state(), int(current_app.config["CLOCK"]()))
        return Response(exposition([collector]), content_type=CONTENT_TYPE)
