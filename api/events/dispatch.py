"""The webhook sender: a task in each server process that empties the outbox.

Every `poll` seconds (sooner when a retry falls due) it fans new events out to the
configured endpoints, claims the due deliveries (api/events/outbox.py), and sends each as
a signed POST, at most `MAX_IN_FLIGHT` at once, each within `timeout`. Its database work
is a few small statements on its own connection (aiosqlite's thread) and its HTTP is
asynchronous, so requests being served never wait on it. Several processes on one state
store share the work through leases; none of them sends an attempt another holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import aiosqlite
import httpx

from api.events import log, outbox, webhooks

logger = logging.getLogger("api.events")
# httpx logs each request with its URL at INFO, and the app's logging configuration shows
# INFO: a URL may carry a receiver's token, so only the sender's own lines are logged.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

MAX_IN_FLIGHT = 16
#: How long past the timeout a claim is held, for the outcome to be written: a worker that
#: dies mid-attempt delays that delivery's next attempt by the timeout and this at most.
LEASE_MARGIN = 5.0


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP-date: the schedule's delay is used
    return seconds if seconds >= 0 else None


class Dispatcher:
    def __init__(
        self,
        state_path: Path,
        endpoints: Sequence[webhooks.Endpoint],
        *,
        schedule: Sequence[float] = outbox.DEFAULT_SCHEDULE,
        timeout: float = 10.0,
        poll: float = 0.5,
    ) -> None:
        self.state_path = state_path
        self.endpoints = {e.name: e for e in endpoints}
        self.wanted = {e.name: e.events for e in endpoints}
        self.names = sorted(self.endpoints)
        self.schedule = tuple(schedule)
        self.timeout = timeout
        self.poll = poll
        self.lease = timeout + LEASE_MARGIN
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.task: asyncio.Task[None] | None = None
        self.in_flight: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()
        self.db: aiosqlite.Connection | None = None
        #: One transaction at a time on the connection: the loop and the attempts ending
        #: share it, and two BEGINs interleaved on one connection would commit each other.
        self.lock = asyncio.Lock()
        self.client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="webhooks")

    async def stop(self) -> None:
        tasks = [t for t in (self.task, *self.in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                async with self.lock:
                    await outbox.release(self.db, self.owner)
            await self.db.close()
        if self.client is not None:
            await self.client.aclose()

    async def run(self) -> None:
        self.db = db = await log.connect(self.state_path)
        await db.execute("BEGIN IMMEDIATE")
        await outbox.register(db, [(e.name, e.url) for e in self.endpoints.values()])
        await db.execute("COMMIT")
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False
        )
        while True:
            wait = self.poll
            try:
                async with self.lock:
                    now = time.time()
                    await outbox.fan_out(db, self.wanted, now)
                    free = MAX_IN_FLIGHT - len(self.in_flight)
                    claims = await outbox.claim(db, self.names, self.owner, now, self.lease, free)
                    due = await outbox.next_due(db, self.names)
                for claim in claims:
                    task = asyncio.create_task(self.attempt(claim))
                    self.in_flight.add(task)
                    task.add_done_callback(self._done)
                if due is not None and len(self.in_flight) < MAX_IN_FLIGHT:
                    # (With every slot taken, an attempt ending wakes the loop instead.)
                    wait = min(wait, max(0.0, due - time.time()))
            except sqlite3.Error as exc:  # e.g. a long build holding the write lock
                logger.warning(json.dumps({"event": "webhook_outbox", "error": str(exc)}))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(wait, 0.01))

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.wake.set()

    async def attempt(self, claim: outbox.Claim) -> None:
        assert self.client is not None
        assert self.db is not None
        endpoint = self.endpoints[claim.endpoint]
        stamp = int(time.time())
        sent = webhooks.headers(endpoint, claim.event_id, stamp, claim.payload)
        started = time.perf_counter()
        try:
            # The answer's body is not read: a 2xx says it all, and nothing from the
            # receiver is kept but its status.
            # The whole attempt within the timeout (httpx's bounds each read on its own,
            # so a receiver answering a byte at a time could hold the lease past it).
            async with (
                asyncio.timeout(self.timeout),
                self.client.stream(
                    "POST", endpoint.url, content=claim.payload, headers=sent
                ) as response,
            ):
                status = response.status_code
                retry_after = _retry_after(response.headers.get("retry-after"))
            error = None if 200 <= status < 300 else f"HTTP {status}"
            outcome = outbox.Outcome(status, error, time.perf_counter() - started, retry_after)
        except (TimeoutError, httpx.TimeoutException):
            outcome = outbox.Outcome(
                None, f"no answer within {self.timeout:g} s", time.perf_counter() - started
            )
        except Exception as exc:
            # httpx's errors, and whatever its transport lets through (with uvloop, a
            # refused connection has been seen to end in an AttributeError in anyio): a
            # failed attempt either way, recorded and retried like any other.
            text = f"{type(exc).__name__}: {exc}"[:300]
            outcome = outbox.Outcome(None, text, time.perf_counter() - started)
        result = "unrecorded"
        for pause in (0.1, 0.5, 1.0, 2.0, 5.0):
            try:
                async with self.lock:
                    result = await outbox.finish(
                        self.db, claim, self.owner, outcome, self.schedule, time.time()
                    )
                break
            except sqlite3.Error:
                await asyncio.sleep(pause)
        if result != "delivered":
            # The endpoint's name only: a URL may carry a token of the receiver's.
            logger.warning(
                json.dumps(
                    {
                        "event": "webhook",
                        "endpoint": claim.endpoint,
                        "event_id": claim.event_id,
                        "attempt": claim.tries,
                        "status": outcome.status,
                        "error": outcome.error,
                        "result": result,
                    }
                )
            )
