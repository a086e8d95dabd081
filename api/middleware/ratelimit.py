"""Rate limits per key and per client address.

A request with a valid key counts against that key's own budget (`CLINIC_RATE_LIMIT_KEY`):
not its channel's, so one kiosk device, or one leaked kiosk key, cannot spend the budget of
every kiosk key. Any other request, with no key or a wrong one, counts against its client
address (`CLINIC_RATE_LIMIT`). This layer sits outside the key layer and counts before the
key is refused: otherwise a 401 would come before any count, and guessing keys would be
unlimited. The key was judged when the request was read (api/reading.py).

Windows are fixed (`requests` per `seconds`), which keeps the state to one counter per
client and makes `RateLimit-Reset` exact. Every counted response carries `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`
(draft-ietf-httpapi-ratelimit-headers); a refused one is 429 problem+json with `Retry-After`.

The client address is the connection's peer. Behind a proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy>` so that it is the real client's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

from api.middleware.problems import send_problem
from api.middleware.types import ASGIApp, Headers, Message, PathSet, Receive, Scope, Send
from api.reading import RequestReader, RequestView, view_of
from api.settings import RateLimit

#: Probes and scrapes are not limited: an orchestrator must never be told to back off.
UNLIMITED_PATHS = PathSet("/health", "/ready", "/metrics")


class FixedWindow:
    """Counts requests per client in the current window; forgets older windows."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self.window = -1
        self.counts: dict[str, int] = {}
        self.limit_header = str(limit.requests).encode()
        self.policy_header = f"{limit.requests};w={limit.seconds}".encode()

    def hit(self, client: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        now = self.clock()
        window = int(now // self.limit.seconds)
        if window != self.window:
            self.window, self.counts = window, {}  # old windows go: memory stays bounded
        reset = max(1, math.ceil((window + 1) * self.limit.seconds - now))
        used = self.counts.get(client, 0)
        if used >= self.limit.requests:
            return False, 0, reset
        self.counts[client] = used + 1
        return True, self.limit.requests - used - 1, reset


class Counted(NamedTuple):
    """One counted request: whether it is allowed, the RateLimit headers its answer
    carries, the seconds until its window resets, and the limit it counted against."""

    allowed: bool
    headers: Headers
    reset: int
    limit: RateLimit


class RateLimiter:
    """The two budgets, and which one a request counts against."""

    def __init__(self, per_address: RateLimit, per_key: RateLimit) -> None:
        self.address = FixedWindow(per_address) if per_address.enabled else None
        self.key = FixedWindow(per_key) if per_key.enabled else None

    def count(self, scope: Scope, view: RequestView) -> Counted | None:
        """Count one request: None if it is not limited."""
        if scope["path"] in UNLIMITED_PATHS:
            return None
        if view.key_channel is not None:
            counter, client = self.key, f"key:{view.key_id}"
        else:
            peer = scope.get("client")
            counter, client = self.address, f"addr:{peer[0] if peer else 'unknown'}"
        if counter is None:
            return None
        allowed, remaining, reset = counter.hit(client)
        headers: Headers = [
            (b"ratelimit-limit", counter.limit_header),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
            (b"ratelimit-policy", counter.policy_header),
        ]
        return Counted(allowed, headers, reset, counter.limit)


class RateLimitMiddleware:
    """Answers 429 with Retry-After once a client has spent its window's budget."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, reader: RequestReader) -> None:
        self.app = app
        self.limiter = limiter
        self.reader = reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = None
        if scope["type"] == "http":
            counted = self.limiter.count(scope, view_of(scope, self.reader))
        if counted is None:
            await self.app(scope, receive, send)
            return
        if not counted.allowed:
            await send_refusal(send, scope["path"], counted)
            return
        headers = counted.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def send_refusal(send: Send, path: str, counted: Counted) -> None:
    """429 problem+json with Retry-After."""
    limit, reset = counted.limit, counted.reset
    detail = (
        f"Too many requests: the limit is {limit.requests} every {limit.seconds} s."
        f" Try again in {reset} s."
    )
    retry = [(b"retry-after", str(reset).encode()), *counted.headers]
    await send_problem(send, 429, detail, path, retry)
