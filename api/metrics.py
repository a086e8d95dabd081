"""Prometheus metrics, served at /metrics (issue 6).

Each app has its own registry, so tests can build many apps in one process. With several
uvicorn workers each process counts its own requests; run one worker per container (or
scrape each) to see them all.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "clinic_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "clinic_http_request_duration_seconds",
            "Time to answer a request, by route template and status.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
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

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # Looking up labelled children takes a lock and builds tuples; the set of
        # (route, method, status) is small and bounded, so keep the children at hand.
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, str(status)),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_content(self, meta: dict[str, str]) -> None:
        self.content_revision.set(float(meta.get("content_revision", 0)))
        self.build_seconds.set(float(meta.get("build_seconds", 0)))
        self.built_at.set(float(meta.get("built_at", 0)))

    def render(self) -> bytes:
        return generate_latest(self.registry)
