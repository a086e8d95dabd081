"""The ASGI layer that answers GET and HEAD from responses prepared once per revision.

It is the innermost of the layers `api.middleware.wrap` puts around Litestar's handler
(after access log, security headers, keys and rate limits), so it answers before
Litestar routes, and a prepared answer still needs a key when keys are on. Once an answer
is prepared, the layers' fast path (api/middleware/fast.py) gives it with `lookup` and
`answer` below, in front of all the layers and of Litestar's own entry point.

Order of work for a GET or HEAD, before the framework sees it:

1. read the few request headers that matter (Accept-Encoding, validators, Origin);
2. ask which content revision is live (`PRAGMA data_version`, a few microseconds;
   api/http/revision.py) and which day it is (answers carry `review_status`);
3. look the request up by (path, query string, negotiated language) in that revision's
   prepared responses;
4. on a miss, ask the framework once (as a plain GET), keep a 200, pass anything else on;
5. pick the representation (br, gzip or identity), answer 304 if the client's validator
   matches, else the prepared bytes.

Everything else (other methods, /health and /ready, websockets) passes through,
with CORS headers added.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, NamedTuple

from api.http.cors import Cors
from api.http.negotiation import IDENTITY, etag_matches, http_date_seconds, preferred_codings
from api.http.prepared import SECONDS_A_DAY, Entry, Header, Key, Prepared, normalize_query
from api.http.revision import RevisionWatch
from api.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: Any ASGI app; typed loosely because frameworks declare their own narrower scope types.
ASGIApp = Callable[..., Awaitable[None]]

#: Paths never prepared: liveness, readiness and metrics must reflect this moment, and the
#: /docs page's Content-Security-Policy allows its inline script by a hash of the page as
#: sent (api/middleware/security.py), which a compressed body, a HEAD or a 304 would not carry.
NO_STORE_PATHS = frozenset({"/health", "/ready", "/metrics", "/docs", "/docs/"})
NO_STORE: Header = (b"cache-control", b"no-store")
#: Request headers the framework must not see when a response is prepared: the answer is
#: the full identity representation, whatever this client already has or accepts.
_NOT_FORWARDED = frozenset(
    {b"accept-encoding", b"if-none-match", b"if-modified-since", b"if-match",
     b"if-unmodified-since", b"range", b"if-range"}
)  # fmt: skip
_IDENTITY_ONLY = (IDENTITY,)


class RequestHeaders(NamedTuple):
    """The request headers the layers look at, read in one pass."""

    accept_encoding: bytes | None = None
    accept_language: bytes | None = None
    if_none_match: bytes | None = None
    if_modified_since: bytes | None = None
    origin: bytes | None = None
    request_id: bytes | None = None
    api_key: bytes | None = None
    authorization: bytes | None = None


def read_request(headers: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """One pass over the request's headers (ASGI names are lower-case). Several
    If-None-Match headers are one list; of the request id and the key the first counts, of
    any other header the last."""
    accept_encoding = accept_language = if_none_match = if_modified_since = origin = None
    request_id = api_key = authorization = None
    for name, value in headers:
        if name == b"accept-encoding":
            accept_encoding = value
        elif name == b"if-none-match":
            if_none_match = value if if_none_match is None else if_none_match + b"," + value
        elif name == b"if-modified-since":
            if_modified_since = value
        elif name == b"accept-language":
            accept_language = value
        elif name == b"origin":
            origin = value
        # The first of these, as the layers read them (api.middleware.types.header).
        elif name == b"x-request-id":
            request_id = value if request_id is None else request_id
        elif name == b"x-api-key":
            api_key = value if api_key is None else api_key
        elif name == b"authorization":
            authorization = value if authorization is None else authorization
    return RequestHeaders(
        accept_encoding,
        accept_language,
        if_none_match,
        if_modified_since,
        origin,
        request_id,
        api_key,
        authorization,
    )


class Delivery:
    """Prepared responses, validators, compression and CORS in front of `app`."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        *,
        vary: Iterable[str] = (),
        static_headers: Iterable[Header] = (),
    ) -> None:
        """`vary` names request headers that change the response (e.g. a channel key):
        they become part of the lookup key and of the `Vary` header. `static_headers` are
        carried by every prepared answer (e.g. the security headers an outer layer would
        add), so the answer needs no more work per request."""
        self.app = app
        self.settings = settings
        self.static_headers = list(static_headers)
        self.watch = RevisionWatch(settings.db_path)
        self.cors = Cors(settings.cors_origins)
        self.varying = tuple(h.lower().encode("latin-1") for h in vary)
        names = ["Accept-Encoding", *(["Origin"] if self.cors.vary_origin else []), *vary]
        if settings.api_keys:
            # With channel keys on, an answer depends on the key sent (api/middleware/keys.py
            # refuses it without one), so shared caches must not hand it to another client.
            names += ["X-API-Key", "Authorization"]
        self.vary = ", ".join(names).encode("latin-1")
        self.cache_control = (
            f"public, max-age={settings.cache_max_age},"
            f" stale-while-revalidate={settings.cache_stale_while_revalidate},"
            f" stale-if-error={settings.cache_stale_if_error}"
        ).encode("latin-1")
        self.prepared: Prepared | None = None
        #: Answers given from prepared bytes, and times the framework was asked to prepare
        #: one (for /metrics).
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            if method == "OPTIONS" and self.cors.enabled and await self._preflight(scope, send):
                return
            await self._forward(scope, receive, send, None)
            return

        request = read_request(scope["headers"])
        found = self.lookup(scope, request.accept_language)
        if found is None:
            await self._forward(scope, receive, send, request.origin)
            return
        prepared, key, entry = found
        if entry is None:
            entry = await self._prepare(prepared, key, scope, receive, send, request.origin)
            if entry is None:
                return  # answered already: an error, or a response that is not to be kept
        else:
            self.hits += 1
        if entry.route is not None:
            scope["path_template"] = entry.route  # for the access log and metrics outside
        status, headers, body = self.answer(prepared, entry, method, request)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def lookup(
        self, scope: Scope, accept_language: bytes | None
    ) -> tuple[Prepared, Key, Entry | None] | None:
        """The prepared answer to this GET or HEAD, if there is one yet: (the live
        revision's prepared answers, the request's key, the entry or None). None when the
        request is never answered from prepared bytes (no content yet, or a path that must
        reflect this moment)."""
        path: str = scope["path"]
        if path in NO_STORE_PATHS:
            return None
        revision = self.watch.current()
        if revision is None:
            return None
        prepared = self.prepared
        day = int(time.time()) // SECONDS_A_DAY
        if prepared is None or prepared.revision is not revision or prepared.day != day:
            prepared = self.prepared = Prepared(
                revision,
                day,
                self.settings.cache_max_bytes,
                self.cache_control,
                self.vary,
                self.static_headers,
            )
        language = prepared.language(accept_language)
        key: Key
        if self.varying:
            request_headers = dict(scope["headers"])
            varying = [request_headers.get(name, b"") for name in self.varying]
            key = (path, scope["query_string"], language, *varying)
        else:
            key = (path, scope["query_string"], language)
        return prepared, key, prepared.get(key)

    def answer(
        self, prepared: Prepared, entry: Entry, method: str, request: RequestHeaders
    ) -> tuple[int, list[Header], bytes]:
        """Status, headers (a new list) and body for a prepared entry: the representation
        the client accepts, or 304 when its validator matches."""
        coding = IDENTITY
        if entry.compressible:
            coding = preferred_codings(request.accept_encoding)[0]
        variant = entry.variants.get(coding) or prepared.variant(entry, coding)
        if_none_match = request.if_none_match
        if if_none_match is not None:
            fresh = if_none_match == variant.quoted or etag_matches(if_none_match, variant.tag)
        elif request.if_modified_since is not None:
            since = http_date_seconds(request.if_modified_since)
            fresh = since is not None and entry.last_modified_at <= since
        else:
            fresh = False
        if fresh:
            status, headers, body = 304, variant.not_modified, b""
        else:
            status, headers = 200, variant.headers
            body = variant.body if method == "GET" else b""
        origin = request.origin
        # A copy: layers outside may add headers, and these lists are shared.
        headers = headers + self.cors.response_headers(origin) if origin else list(headers)
        return status, headers, body

    async def _prepare(
        self,
        prepared: Prepared,
        key: Key,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: bytes | None,
    ) -> Entry | None:
        normal: Key = (key[0], normalize_query(key[1]), *key[2:])  # type: ignore[arg-type]
        entry = prepared.get_normalized(key, normal)
        if entry is not None:
            return entry
        waiting = prepared.pending.get(normal)
        if waiting is not None:
            # Many clients asking for the same new response at once: the framework answers
            # once; if that answer was not kept, each asks for itself.
            entry = await asyncio.shield(waiting)
            if entry is not None:
                return entry
        future: asyncio.Future[Entry | None] | None = None
        if waiting is None:
            future = asyncio.get_running_loop().create_future()
            prepared.pending[normal] = future
        entry = None
        try:
            self.misses += 1
            status, headers, body, route = await self._call_app(scope, receive)
            if route is not None:
                scope["path_template"] = route
            keep = status == 200 and not any(
                n.lower() == b"cache-control" and b"no-store" in v.lower() for n, v in headers
            )
            if keep:
                entry = prepared.make(normal, headers, body)
                entry.route = route
                # Kept only if no build went live while the framework was reading.
                if self.watch.current() is prepared.revision:
                    prepared.store(key, entry)
                return entry
            await self._send_passed(scope, send, status, headers, body, origin)
            return None
        finally:
            if future is not None:
                prepared.pending.pop(normal, None)
                future.set_result(entry)

    async def _call_app(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[Header], bytes, str | None]:
        """Ask the framework for the full GET response, collected into memory, and the
        route it matched."""
        child = dict(scope)
        child["method"] = "GET"
        child["headers"] = [(n, v) for n, v in scope["headers"] if n not in _NOT_FORWARDED]
        extensions = dict(scope.get("extensions") or {})
        extensions.pop("http.response.pathsend", None)
        extensions.pop("http.response.zerocopysend", None)
        child["extensions"] = extensions
        status = 500
        headers: list[Header] = []
        chunks: list[bytes] = []
        complete = asyncio.Event()
        request_read = False

        async def collect(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    complete.set()

        async def receive_request() -> Message:
            # A streaming response listens for the client leaving until it has been sent.
            # The server's receive would wait for the real response, which is sent only
            # after this one is collected: say "disconnected" once it is complete instead.
            nonlocal request_read
            if not request_read:
                message = await receive()
                request_read = message["type"] != "http.request" or not message.get("more_body")
                return message
            await complete.wait()
            return {"type": "http.disconnect"}

        await self.app(child, receive_request, collect)
        return status, headers, b"".join(chunks), child.get("path_template")

    async def _send_passed(
        self,
        scope: Scope,
        send: Send,
        status: int,
        headers: list[Header],
        body: bytes,
        origin: bytes | None,
    ) -> None:
        """Send a response the framework gave that is not kept: errors are never cached."""
        headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"] + [NO_STORE]
        if origin:
            headers += self.cors.response_headers(origin)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""}
        )

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, origin: bytes | None
    ) -> None:
        """Pass a request through, adding CORS headers; GET and HEAD answers are not stored."""
        method = scope["method"]
        if origin is None and self.cors.enabled:
            origin = next((v for n, v in scope["headers"] if n == b"origin"), None)
        extra = self.cors.response_headers(origin) if origin else []
        readonly = method in ("GET", "HEAD")
        if readonly:
            extra = [*extra, NO_STORE]
        outer = scope
        if method == "HEAD":
            scope = dict(scope)
            scope["method"] = "GET"  # the framework routes GET; HEAD is GET without the body

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (n, v + b", HEAD" if n.lower() == b"allow" and b"GET" in v else v)
                    for n, v in message.get("headers") or []
                    if not (readonly and n.lower() == b"cache-control")
                ]
                message = {**message, "headers": headers + extra}
            elif message["type"] == "http.response.body" and method == "HEAD":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_wrapped)
        if scope is not outer and "path_template" in scope:
            outer["path_template"] = scope["path_template"]

    async def _preflight(self, scope: Scope, send: Send) -> bool:
        """Answer a CORS preflight; False when the OPTIONS request is not one."""
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        method = headers.get(b"access-control-request-method")
        if origin is None or method is None:
            return False
        status, response_headers, body = self.cors.preflight(
            origin, method, headers.get(b"access-control-request-headers"), scope["path"]
        )
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def prepared_size(self) -> tuple[int, int]:
        """(answers kept, bytes they take) in the live revision."""
        prepared = self.prepared
        return (len(prepared.lru), prepared.size) if prepared is not None else (0, 0)

    def open(self) -> None:
        """Open the database now rather than on the first request (at start-up)."""
        self.watch.current()

    def close(self) -> None:
        """Let go of the database and the prepared answers (at shutdown)."""
        self.watch.close()
        self.prepared = None
