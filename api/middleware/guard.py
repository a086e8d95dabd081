"""The outermost guard: whatever raises in front of the framework, the client gets a problem.

Litestar turns an exception in a handler into an answer itself (api/errors.py), but the
layers around it (api/middleware, api/http) and the fast path in front of it run outside
its reach: an exception there would reach the server, which answers a bare text 500 with
none of our headers, and nothing is logged or counted. The guard wraps all of them. When a
request fails before its response began, the client gets a problem+json 500 with the
security headers and its request id, and the failure is written to the error log (escaped,
api.errors.log_failure) and, like every request, to the access log and the metrics. When
the response had already begun, nothing more can be said to the client: the failure is
logged, and the server closes the unfinished response.

It also sends the prepared answers the fast path (api/middleware/fast.py) readies, so that
such an answer needs no coroutine or `send` wrapper of its own.
"""

from __future__ import annotations

import time

from api.errors import FAILURE_DETAIL, PROBLEM_MEDIA_TYPE, log_failure, problem_bytes
from api.middleware.access_log import UNMATCHED, AccessLogMiddleware, request_id
from api.middleware.fast import FastPath
from api.middleware.security import API_HEADERS
from api.middleware.types import ASGIApp, Message, Receive, Scope, Send, context


class Guard:
    """`fast` (if any), then `app`, for every HTTP request; any exception either raises
    becomes a problem+json 500 if the response has not begun."""

    def __init__(self, app: ASGIApp, log: AccessLogMiddleware, fast: FastPath | None = None):
        self.app = app
        self.log = log
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        began = False
        try:
            fast = self.fast
            if fast is not None:
                ready = fast.answer(scope)
                if ready is not None:
                    began = True  # as soon as the start is handed to the server
                    await send(ready[0])
                    await send(ready[1])
                    fast.record(scope, ready, started)
                    return

            async def watched(message: Message) -> None:
                nonlocal began
                began = True
                await send(message)

            await self.app(scope, receive, watched)
        except Exception as exc:
            await self.failed(scope, send, exc, began, started)

    async def failed(
        self, scope: Scope, send: Send, exc: Exception, began: bool, started: float
    ) -> None:
        shared = context(scope)
        # The access-log layer chose the request's id if the request got that far.
        rid: str = shared.get("request_id") or request_id(scope)
        method = str(scope.get("method", ""))
        path = str(scope.get("path", ""))
        log_failure(exc, method, path, rid)
        if began:
            # Its access line, with the status that was sent, is written by whoever began
            # it: the access-log layer, or the fast path.
            return
        body = problem_bytes(500, FAILURE_DETAIL, instance=path)
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *API_HEADERS,
            (b"x-request-id", rid.encode()),
        ]
        if method == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        route = scope.get("path_template") or UNMATCHED
        self.log.record(scope, route, 500, started, rid, len(body), shared.get("channel"))
