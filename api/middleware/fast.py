"""The layers' work for a prepared answer, done in one pass in front of the framework.

`wrap` (api/middleware/__init__.py) stacks the layers as separate ASGI middleware, each
clear on its own. For a GET or HEAD whose answer is already prepared, the work of all of
them comes to a few look-ups, and the calls between the layers, their `send` wrappers and
Litestar's own entry point would cost more than those look-ups do (the figures are in
bench/README.md). `FastPath` does the same work with the layers' own parts:

- the delivery layer's look-up and answer (api/http/delivery.py), whose prepared answers
  already carry the security headers (api/middleware/security.py);
- the key check (api/middleware/keys.py) and the rate-limit count (ratelimit.py);
- the request id, the metrics and the access-log line (access_log.py).

`answer` does no I/O and awaits nothing: it reads the request once (api/reading.py), leaves
that view in the scope and gives the two messages to send, which the guard in front
(api/middleware/guard.py) sends; `record` then counts and logs the answer. So a prepared
answer costs no coroutine and no `send` wrapper of its own (every microsecond of this path
shows in the 304's figures, bench/README.md).

Whenever a layer would answer anything but a prepared 200 or 304 (a request that cannot be
read, nothing prepared yet, a missing or wrong key, a channel the key may not ask for, a
spent budget) it declines, and the request goes through the layers, which give that
answer. Nothing is counted twice: a refused request does not count against its budget, and
an answered one never reaches the layers.
"""

from __future__ import annotations

import time

from api.http.delivery import Delivery
from api.middleware.access_log import UNMATCHED, AccessLogMiddleware, new_request_id
from api.middleware.keys import OPEN_PATHS, ApiKeyMiddleware, Refusal
from api.middleware.preview import is_preview_request
from api.middleware.ratelimit import RateLimiter
from api.middleware.types import Headers, Message, Scope
from api.reading import VIEW, RequestReader

#: A prepared answer ready to send: (the start message, the body message, the status, the
#: bytes of the body, the route for the access log and metrics, the request id, the
#: channel of the key). A plain tuple: one is made per answered request.
Ready = tuple[Message, Message, int, int, str, str, str | None]
_NO_HEADERS: Headers = []


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

    def answer(self, scope: Scope) -> Ready | None:
        """The prepared answer to an HTTP request, ready to send; None if the layers must
        answer it. Counts the request against its budget when it is answered here."""
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            return None
        # Read once, here; when this path declines, the layers take the same view.
        request = scope[VIEW] = self.reader.read(scope)
        if request.problem is not None or is_preview_request(request):
            return None  # a preview is never answered from shared, prepared bytes
        delivery = self.delivery
        now = time.time()
        found = delivery.lookup(scope, request, now)
        if found is None:
            return None
        prepared, _, entry = found
        if entry is None:
            return None
        channel = None
        if self.keys is not None and scope["path"] not in OPEN_PATHS:
            admitted = self.keys.admit(request)
            if isinstance(admitted, Refusal):
                return None
            channel = admitted
        limits = _NO_HEADERS
        if self.limiter is not None:
            counted = self.limiter.count(scope, request)
            if counted is not None:
                if not counted.allowed:
                    return None
                limits = counted.headers
        delivery.hits += 1
        status, headers, body = delivery.respond(prepared, entry, method, request, now)
        rid = new_request_id(request.request_id)
        # One new list: the prepared ones are shared by every answer of this entry.
        headers = [*headers, *limits, (b"x-request-id", rid.encode())]
        start = {"type": "http.response.start", "status": status, "headers": headers}
        sent = {"type": "http.response.body", "body": body}
        return start, sent, status, len(body), entry.route or UNMATCHED, rid, channel

    def record(self, scope: Scope, ready: Ready, started: float) -> None:
        """Count an answer given from `answer` in the metrics, and write its log line."""
        _, _, status, size, route, rid, channel = ready
        self.log.record(scope, route, status, started, rid, size, channel)
