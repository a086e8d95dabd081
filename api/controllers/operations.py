"""The operations endpoints: liveness, readiness and Prometheus metrics.

All three answer whatever the `Host`, for probes and scrapes by address, and /health and
/ready need no key (api/middleware).
"""

from __future__ import annotations

import logging
import sqlite3

from litestar import get
from litestar.datastructures import State

from api.controllers.events import EventLog
from api.controllers.responses import BAD_REQUEST, UNAVAILABLE
from api.controllers.store import provide_store
from api.metrics import CONTENT_TYPE_LATEST, Metrics
from api.storage.reader import DatabaseUnavailable
from schemas.resources import Health

log = logging.getLogger("api.metrics")


@get("/health", operation_id="getHealth", summary="Liveness", tags=["operations"],
     responses={400: BAD_REQUEST})  # fmt: skip
async def health() -> Health:
    """Answers while the process is alive."""
    return Health(status="ok")


@get("/ready", operation_id="getReady", summary="Readiness", tags=["operations"],
     responses={400: BAD_REQUEST, 503: UNAVAILABLE})  # fmt: skip
async def ready(state: State) -> Health:
    """Answers 200 once the database is open and content is loaded, 503 before."""
    store = await provide_store(state)
    meta = await store.refresh_meta()
    if "content_revision" not in meta:
        raise DatabaseUnavailable("no build yet")
    return Health(status="ok", content_revision=int(meta["content_revision"]))


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE_LATEST)
async def metrics(state: State) -> bytes:
    """Prometheus metrics: requests and latency by route and status, content revision,
    prepared answers, webhook deliveries."""
    registry: Metrics = state.metrics
    try:
        store = await provide_store(state)
        registry.observe_content({**await store.refresh_meta(), **await store.build_stats()})
    except DatabaseUnavailable:
        registry.observe_content({})
    events: EventLog | None = state.get("events")
    try:
        webhooks = await events.webhook_stats() if events is not None else {}
    except sqlite3.Error as exc:  # the rest of the figures still answer
        log.warning("metrics: cannot read the state store: %s", exc)
        webhooks = {}
    registry.observe_webhooks(webhooks)
    return registry.render()
