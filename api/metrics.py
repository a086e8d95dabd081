"""Prometheus metrics, served at /metrics.

Each app has its own registry, so tests can build many apps in one process. With several
uvicorn workers each process counts its own requests; run one worker per container (or
scrape each) to see them all.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from api.events.outbox import ATTEMPT_OUTCOMES, DELIVERY_STATES, EndpointStats

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestStats(Collector):
    """Request counts and latency histograms, kept as plain numbers per (route, method,
    status) and turned into metric families only when scraped.

    prometheus_client's own Counter and Histogram take a lock and walk the buckets on every
    observation; the server observes every request on one event-loop thread, where that
    costs more than answering a prepared response does. The exposition is the
    same: `clinic_http_requests_total{route,method,status}` and
    `clinic_http_request_duration_seconds{route,status}` with `LATENCY_BUCKETS`.
    """

    def __init__(self) -> None:
        #: (route, method, status) -> [count, sum of seconds, count per bucket (+Inf last)]
        self.series: dict[tuple[str, str, int], list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [0.0] * (len(LATENCY_BUCKETS) + 3)
        series[0] += 1
        series[1] += seconds
        series[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def collect(self) -> Iterator[Metric]:
        snapshot = [(key, list(values)) for key, values in list(self.series.items())]
        requests = CounterMetricFamily(
            "clinic_http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=["route", "method", "status"],
        )
        by_route: dict[tuple[str, str], list[float]] = {}
        for (route, method, status), values in snapshot:
            requests.add_metric([route, method, str(status)], values[0])
            merged = by_route.setdefault((route, str(status)), [0.0] * len(values))
            for i, value in enumerate(values):
                merged[i] += value
        yield requests
        latency = HistogramMetricFamily(
            "clinic_http_request_duration_seconds",
            "Time to answer a request, by route template and status.",
            labels=["route", "status"],
        )
        bounds = [*(repr(float(b)) for b in LATENCY_BUCKETS), "+Inf"]  # as Go prints them
        for labels, values in by_route.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip(bounds, values[2:], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(list(labels), buckets, values[1])
        yield latency


class PreparedStats(Protocol):
    """What the delivery layer (api/http/delivery.py) counts of its prepared answers."""

    hits: int
    misses: int
    stale_hits: int

    @property
    def prepared_ahead(self) -> int:
        """Answers prepared in the background, before a client asked (api/http/ahead.py)."""
        ...

    @property
    def carried(self) -> int:
        """Answers of the previous build that a build did not change, kept as they were."""
        ...

    def prepared_size(self) -> tuple[int, int]:
        """(answers kept, bytes they take) in the live revision."""
        ...


class PreparedCollector(Collector):
    """Prepared-answer hits and misses, and what is kept, read when scraped."""

    def __init__(self, stats: PreparedStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        entries, size = self.stats.prepared_size()
        yield CounterMetricFamily(
            "clinic_prepared_hits",
            "GET and HEAD requests answered from prepared bytes.",
            value=self.stats.hits,
        )
        yield CounterMetricFamily(
            "clinic_prepared_misses",
            "Answers the framework was asked to prepare (first requests, or after eviction).",
            value=self.stats.misses,
        )
        yield CounterMetricFamily(
            "clinic_prepared_ahead",
            "Answers prepared before any client asked: for the next transition window before"
            " its instant, and for a new build (CLINIC_PREPARE_AHEAD).",
            value=self.stats.prepared_ahead,
        )
        yield CounterMetricFamily(
            "clinic_prepared_carried",
            "Prepared answers a build did not change (it changed nothing they read), kept"
            " for it as they were instead of being made again.",
            value=self.stats.carried,
        )
        yield CounterMetricFamily(
            "clinic_prepared_stale",
            "Answers given from the previous build's prepared bytes while a busy server"
            " prepared the new build's (at most CLINIC_PREPARE_AHEAD seconds after it).",
            value=self.stats.stale_hits,
        )
        yield GaugeMetricFamily(
            "clinic_prepared_entries", "Prepared answers kept for the live revision.", entries
        )
        yield GaugeMetricFamily(
            "clinic_prepared_bytes",
            "Bytes the prepared answers take (bounded by CLINIC_CACHE_MAX_BYTES).",
            size,
        )


class WebhookCollector(Collector):
    """Webhook deliveries per endpoint, as the state store had them when last scraped: the
    outbox is shared by every worker and replica, so these are the deployment's figures,
    not one process's."""

    def __init__(self) -> None:
        self.endpoints: dict[str, EndpointStats] = {}

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        endpoints = sorted(self.endpoints.items())
        deliveries = GaugeMetricFamily(
            "clinic_webhook_deliveries",
            "Webhook deliveries by endpoint and state (pending: not delivered yet, retrying"
            " on the schedule; failed: given up, `python -m api events redeliver` sends again).",
            labels=["endpoint", "state"],
        )
        attempts = CounterMetricFamily(
            "clinic_webhook_attempts",
            "Webhook attempts by endpoint and outcome (delivered: 2xx; refused: another"
            " status; error: no answer in time, or no connection; unfinished: under way, or"
            " cut short by a restart).",
            labels=["endpoint", "outcome"],
        )
        oldest = GaugeMetricFamily(
            "clinic_webhook_oldest_pending_seconds",
            "Age of the oldest webhook delivery not yet made, by endpoint (0: none pending).",
            labels=["endpoint"],
        )
        disabled = GaugeMetricFamily(
            "clinic_webhook_endpoint_disabled",
            "1 when the endpoint answered 410 Gone and gets nothing until enabled again.",
            labels=["endpoint"],
        )
        for name, each in endpoints:
            for state in DELIVERY_STATES:
                deliveries.add_metric([name, state], each.deliveries.get(state, 0))
            for outcome in ATTEMPT_OUTCOMES:
                attempts.add_metric([name, outcome], each.attempts.get(outcome, 0))
            pending_since = each.oldest_pending
            oldest.add_metric(
                [name], max(0.0, now - pending_since) if pending_since is not None else 0.0
            )
            disabled.add_metric([name], 1.0 if each.disabled else 0.0)
        yield from (deliveries, attempts, oldest, disabled)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.webhooks = WebhookCollector()
        self.registry.register(self.webhooks)
        self.content_revision = Gauge(
            "clinic_content_revision",
            "Content revision being served (0 before the first build).",
            registry=self.registry,
        )
        self.build_seconds = Gauge(
            "clinic_content_build_duration_seconds",
            "How long the build that produced the served content took.",
            registry=self.registry,
        )
        self.built_at = Gauge(
            "clinic_content_built_timestamp_seconds",
            "When the served content was built (Unix time).",
            registry=self.registry,
        )

    def watch_prepared(self, stats: PreparedStats) -> None:
        self.registry.register(PreparedCollector(stats))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.observe(route, method, status, seconds)

    def observe_content(self, meta: dict[str, str]) -> None:
        self.content_revision.set(float(meta.get("content_revision", 0)))
        self.build_seconds.set(float(meta.get("build_seconds", 0)))
        self.built_at.set(float(meta.get("built_at", 0)))

    def observe_webhooks(self, endpoints: dict[str, EndpointStats]) -> None:
        self.webhooks.endpoints = endpoints

    def render(self) -> bytes:
        return generate_latest(self.registry)
