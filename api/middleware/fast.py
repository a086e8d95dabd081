"""The layers' work for a prepared answer, done in one pass in front of the framework.

`wrap` (api/middleware/__init__.py) stacks the layers as separate ASGI middleware, each
clear on its own. For a GET or HEAD whose answer is already prepared, the work of all of
them comes to a few look-ups, and the calls between the layers, their `send` wrappers and
Litestar's own entry point would cost more than those look-ups do (issue 5; the figures
are in bench/README.md). `FastPath` does the same work with the layers' own parts:

- the delivery layer's look-up and answer (api/http/delivery.py), whose prepared answers
  already carry the security headers (api/middleware/security.py);
- the key check (api/middleware/keys.py) and the rate-limit count (ratelimit.py);
- the request id, the metrics and the access-log line (access_log.py).

It reads the request once (api/reading.py) and leaves that view in the scope. Whenever a
layer would answer anything but a prepared 200 or 304 (a request that cannot be read,
nothing prepared yet, a missing or wrong key, a channel the key may not ask for, a spent
budget) it declines, and
the request goes through the layers, which give that answer. Nothing is counted twice: a
refused request does not count against its budget, and an answered one never reaches the
layers.
"""

from __future__ import annotations

import time

from api.http.delivery import Delivery
from api.middleware.access_log import UNMATCHED, AccessLogMiddleware, new_request_id
from api.middleware.keys import OPEN_PATHS, ApiKeyMiddleware, Refusal
from api.middleware.preview import is_preview_request
from api.middleware.ratelimit import RateLimiter
from api.middleware.types import Headers, Scope, Send
from api.reading import VIEW, RequestReader


class FastPath:
    def __init__(
        self,
        delivery: Delivery,
        log: AccessLogMiddleware,
        keys: ApiKeyMiddleware | None,
        limiter: RateLimiter | None,
        reader: RequestReader,
    ) -> None:
        self.delivery = delivery
        self.log = log
        self.keys = keys
        self.limiter = limiter
        self.reader = reader

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer an HTTP request from a prepared response; False if the layers must."""
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            return False
        started = time.perf_counter()
        # Read once, here; when this path declines, the layers take the same view.
        request = scope[VIEW] = self.reader.read(scope)
        if request.problem is not None or is_preview_request(request):
            return False  # a preview is never answered from shared, prepared bytes
        found = self.delivery.lookup(scope, request)
        if found is None:
            return False
        prepared, _, entry = found
        if entry is None:
            return False
        channel = None
        if self.keys is not None and scope["path"] not in OPEN_PATHS:
            admitted = self.keys.admit(request)
            if isinstance(admitted, Refusal):
                return False
            channel = admitted
        limits: Headers = []
        if self.limiter is not None:
            counted = self.limiter.count(scope, request)
            if counted is not None:
                if not counted.allowed:
                    return False
                limits = counted.headers
        self.delivery.hits += 1
        status, headers, body = self.delivery.answer(prepared, entry, method, request)
        rid = new_request_id(request.request_id)
        headers += limits
        headers.append((b"x-request-id", rid.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.log.record(scope, entry.route or UNMATCHED, status, started, rid, len(body), channel)
        return True
