"""The layer that reads each request once (api/reading.py) and refuses one it cannot read.

The fast path in front of the layers has usually read the request already and left its
view in the scope; otherwise this layer reads it. A request whose view names a problem (a
header that takes one value given twice, a Host not allowed) gets 400 problem+json here,
outside the rate limits and keys, so no layer inside ever has to guess what it meant.
"""

from __future__ import annotations

from api.middleware.problems import send_problem
from api.middleware.types import ASGIApp, Receive, Scope, Send
from api.reading import RequestReader, view_of


class RequestReadingMiddleware:
    def __init__(self, app: ASGIApp, reader: RequestReader) -> None:
        self.app = app
        self.reader = reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = view_of(scope, self.reader).problem
            if problem is not None:
                await send_problem(send, 400, problem, scope["path"])
                return
        await self.app(scope, receive, send)
