"""Request ids, one JSON access-log line per request, and request metrics.

The outermost layer: it sees every request, including those the inner layers refuse.
An `X-Request-ID` the client sends is kept when it is sane (1-128 characters of letters,
digits and `-_.:`); otherwise one is generated. Either way it is returned on the response
and written in the log line. The route is the matched path template (e.g.
`/v1/articles/{slug:str}`), never the raw path, so log fields and metric labels stay few.
Query strings and headers are not logged: keys travel in headers and are never written.

Lines go to stderr, not through `logging`: a LogRecord, a formatter and a flushed write per
request cost twice what answering a prepared request does. `AccessLines`
collects the lines of one event-loop turn and writes them with one call at its end, so a
line is out microseconds after its answer, and nothing waits for the next request.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import sys
import time
from typing import TextIO

import msgspec

from api.metrics import Metrics
from api.middleware.types import ASGIApp, Message, Receive, Scope, Send, context, header

# Generated ids need to be unique, not secret: a random per-process prefix and a counter
# cost far less than uuid4 on every request.
_ID_PREFIX = secrets.token_hex(8)
_ids = itertools.count(1)
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # whole value: fullmatch, not `$`
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
UNMATCHED = "<unmatched>"


def request_id(scope: Scope) -> str:
    return new_request_id(header(scope, b"x-request-id"))


def new_request_id(offered: bytes | None) -> str:
    """The client's `X-Request-ID` if it is sane, else a new one."""
    if offered is not None and _SANE_ID.fullmatch(offered):
        return offered.decode("ascii")
    return f"{_ID_PREFIX}{next(_ids):016x}"


#: One access-log line is a JSON object with these fields, in this order:
#: {"ts":…,"event":"request","request_id":…,"method":…,"path":…,"route":…,"status":…,
#:  "duration_ms":…,"bytes":…,"channel":…}
#: Distinct (method, path, route, channel) are few; their JSON is kept rather than made again.
_MAX_REMEMBERED = 4096


class AccessLines:
    """Writes access-log lines to a stream, those of one event-loop turn together.

    A request leaves its fields; the turn's lines are formatted and written when it ends,
    from a template: the request id and method need no escaping (ids are checked against
    `_SANE_ID` or generated; methods are from `_METHODS`), and the JSON of each distinct
    path, route and channel is made once. `ts` is the second the line is written, within
    microseconds of the answer.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.pending: list[tuple[str, str, str, str, int, float, int, str | None]] = []
        #: (method, path, route, channel) -> the line's text from after the request id to
        #: the status, and from after the byte count to its end.
        self._fixed: dict[tuple[str, str, str, str | None], tuple[str, str]] = {}

    def _fix(self, key: tuple[str, str, str, str | None]) -> tuple[str, str]:
        method, path, route, channel = key
        quoted = msgspec.json.encode
        middle = (
            f'","method":"{method}","path":{quoted(path).decode()},'
            f'"route":{quoted(route).decode()},"status":'
        )
        found = (middle, f',"channel":{quoted(channel).decode()}}}\n')
        if len(self._fixed) >= _MAX_REMEMBERED:
            self._fixed.clear()
        self._fixed[key] = found
        return found

    def write(
        self,
        request_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        sent: int,
        channel: str | None,
    ) -> None:
        if not self.pending:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop: write at once
                self.pending.append(
                    (request_id, method, path, route, status, duration_ms, sent, channel)
                )
                self.flush()
                return
        self.pending.append((request_id, method, path, route, status, duration_ms, sent, channel))

    def flush(self) -> None:
        if not self.pending:
            return
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        head = f'{{"ts":"{ts}","event":"request","request_id":"'
        fixed = self._fixed
        lines = []
        for rid, method, path, route, status, ms, sent, channel in self.pending:
            key = (method, path, route, channel)
            middle, tail = fixed.get(key) or self._fix(key)
            lines.append(f'{head}{rid}{middle}{status},"duration_ms":{ms:.3f},"bytes":{sent}{tail}')
        text = "".join(lines)
        self.pending.clear()
        stream = self.stream or sys.stderr  # looked up late: servers may redirect stderr
        stream.write(text)
        stream.flush()


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, *, lines: AccessLines | None = None) -> None:
        """`lines` receives one line per request; None writes none (metrics still count)."""
        self.app = app
        self.metrics = metrics
        self.lines = lines
        self._observe = metrics.requests.observe  # one call fewer per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        shared = context(scope)
        shared["request_id"] = rid
        status = 0
        sent = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        handed_over = False
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Failed before anything was sent: the guard in front (api/middleware/guard.py)
            # answers it, and writes its line with what it sent.
            handed_over = status == 0
            raise
        finally:
            if not handed_over:
                route = scope.get("path_template") or UNMATCHED
                self.record(scope, route, status or 500, started, rid, sent, shared.get("channel"))

    def record(
        self,
        scope: Scope,
        route: str,
        status: int,
        started: float,
        rid: str,
        sent: int,
        channel: str | None,
    ) -> None:
        """Count the request in the metrics and, if asked to, write its access-log line."""
        seconds = time.perf_counter() - started
        method = scope["method"]
        if method not in _METHODS:
            method = "OTHER"
        self._observe(route, method, status, seconds)
        if self.lines is not None:
            self.lines.write(
                rid, method, scope["path"][:512], route, status, seconds * 1000, sent, channel
            )
