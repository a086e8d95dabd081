"""The ASGI layer that answers GET and HEAD from responses prepared once per revision.

It is the innermost of the layers `api.middleware.wrap` puts around Litestar's handler
(after access log, security headers, keys and rate limits), so it answers before
Litestar routes, and a prepared answer still needs a key when keys are on. Once an answer
is prepared, the layers' fast path (api/middleware/fast.py) gives it with `lookup` and
`answer` below, in front of all the layers and of Litestar's own entry point.

Order of work for a GET or HEAD, before the framework sees it:

1. take the request's one view (api/reading.py): its query decoded as the framework
   decodes it, its list headers combined (Accept-Encoding, Accept-Language, validators);
2. ask which content revision is live (`PRAGMA data_version`, a few microseconds;
   api/http/revision.py) and whether its next transition has passed (one comparison of
   the clock with an instant: api/timeline.py); either starts a new set of answers, and
   a transition near, or a build, starts preparing answers ahead (api/http/ahead.py);
3. look the request up by (path, sorted query pairs, negotiated language) in that
   revision's prepared responses: the key comes from the view alone, so every spelling of
   one request has one key, and it names everything the answer depends on;
4. on a miss, ask the framework once (as a plain GET), keep a 200, pass anything else on
   (right after a build, a busy server may give the previous build's answer instead while
   the new one is prepared: api/http/ahead.py);
5. pick the representation (br, gzip or identity); answer 412 if If-Match or
   If-Unmodified-Since is false, 304 if the client's copy is current, else the prepared
   bytes (api/http/negotiation.py judges the validators, in RFC 9110's order).

Everything else (other methods, /health and /ready, websockets) passes through,
with CORS headers added.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from api.errors import PROBLEM_MEDIA_TYPE, problem_bytes
from api.http.ahead import Ahead
from api.http.cors import Cors
from api.http.negotiation import IDENTITY, allow_with_head, precondition_status, preferred_codings
from api.http.prepared import Entry, Header, Key, Prepared, preparable
from api.http.revision import Revision, RevisionWatch
from api.reading import PLAIN, RequestReader, RequestView, view_of
from api.settings import Settings
from api.storage.reads import Reads, recording
from api.timeline import Window, window_at

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: What the framework answered: status, headers, body, the route it matched, and what the
#: answer read of the content.
Made = tuple[int, list[Header], bytes, str | None, Reads]
#: Any ASGI app; typed loosely because frameworks declare their own narrower scope types.
ASGIApp = Callable[..., Awaitable[None]]

#: Paths never prepared: liveness, readiness and metrics must reflect this moment, and the
#: /docs page's Content-Security-Policy allows its inline script by a hash of the page as
#: sent (api/middleware/security.py), which a compressed body, a HEAD or a 304 would not carry.
#: The event log grows without a build (at transitions), so no content revision dates it.
NO_STORE_PATHS = frozenset({"/health", "/ready", "/metrics", "/docs", "/docs/", "/v1/events"})
#: The kiosk app's files (api/controllers/kiosk_app.py) have a Content-Security-Policy of
#: their own, which prepared answers (carrying the API's) would not have; its service worker
#: keeps them, so they are never prepared either.
KIOSK_PREFIX = "/kiosk"
#: Seconds a request waits for its own answer right after a build, while other clients are
#: being answered, before it is given the previous build's instead (api/http/ahead.py). A
#: client alone always waits, and sees the build at once.
PATIENCE = 0.02
NO_STORE: Header = (b"cache-control", b"no-store")
#: Request headers the framework must not see when a response is prepared: the answer is
#: the full identity representation, whatever this client already has or accepts.
_NOT_FORWARDED = frozenset(
    {b"accept-encoding", b"if-none-match", b"if-modified-since", b"if-match",
     b"if-unmodified-since", b"range", b"if-range"}
)  # fmt: skip
_IDENTITY_ONLY = (IDENTITY,)
#: The answer when If-Match or If-Unmodified-Since is false (RFC 9110, 13.1.1, 13.1.4).
PRECONDITION_DETAIL = (
    "A precondition is false: the current representation does not have an entity tag"
    " named in If-Match, or it changed after the date in If-Unmodified-Since."
)
PRECONDITION_FAILED = problem_bytes(412, PRECONDITION_DETAIL)


class Delivery:
    """Prepared responses, validators, compression and CORS in front of `app`."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        *,
        static_headers: Iterable[Header] = (),
        reader: RequestReader = PLAIN,
    ) -> None:
        """`static_headers` are carried by every prepared answer (e.g. the security headers
        an outer layer would add), so the answer needs no more work per request. `reader`
        reads a request no outer layer has read yet."""
        self.app = app
        self.settings = settings
        self.static_headers = list(static_headers)
        self.reader = reader
        self.watch = RevisionWatch(settings.db_path, settings.review_policy)
        self.lifetimes = (
            settings.cache_max_age,
            settings.cache_stale_while_revalidate,
            settings.cache_stale_if_error,
        )
        self.cors = Cors(settings.cors_origins)
        names = ["Accept-Encoding", *(["Origin"] if self.cors.vary_origin else [])]
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
        self.ahead = Ahead(settings, live=lambda: self.prepared, keeps=self._keeps)
        self.precondition_failed: list[Header] = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(PRECONDITION_FAILED)).encode()),
            NO_STORE,
            *self.static_headers,
        ]
        #: Answers given from prepared bytes, and times the framework was asked to prepare
        #: one for a request (for /metrics).
        self.hits = 0
        self.misses = 0
        #: Answers given from the previous build's prepared bytes while the new ones were
        #: prepared (api/http/ahead.py).
        self.stale_hits = 0

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

        request = view_of(scope, self.reader)
        found = self.lookup(scope, request)
        if found is None:
            await self._forward(scope, receive, send, request.origin)
            return
        prepared, key, entry = found
        if entry is None:
            made = await self._prepare(prepared, key, scope, receive, send, request.origin)
            if made is None:
                return  # answered already: an error, or a response that is not to be kept
            prepared, entry = made
        else:
            self.hits += 1
        if entry.route is not None:
            scope["path_template"] = entry.route  # for the access log and metrics outside
        status, headers, body = self.answer(prepared, entry, method, request)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def lookup(
        self, scope: Scope, request: RequestView, now: float | None = None
    ) -> tuple[Prepared, Key, Entry | None] | None:
        """The prepared answer to this GET or HEAD, if there is one yet: (the live
        revision's prepared answers, the request's key, the entry or None). None when the
        request is never answered from prepared bytes (no content yet, or a path that must
        reflect this moment). `now` is the clock's time, if the caller has read it."""
        path: str = scope["path"]
        if path in NO_STORE_PATHS or path.startswith(KIOSK_PREFIX):
            return None
        revision = self.watch.current()
        if revision is None:
            return None
        prepared = self.prepared
        if now is None:
            now = time.time()
        if prepared is None or prepared.revision is not revision or now >= prepared.until:
            prepared = self._begin(prepared, revision, now)
        elif now >= prepared.ahead_from:
            # The next transition is near: prepare its window's answers before it.
            window = window_at(revision.transitions, prepared.until)
            self.ahead.before_transition(prepared, self._new_set(revision, window))
        language = prepared.languages.get(request.accept_language)  # as `language`, inline
        if language is None:
            language = prepared.language(request.accept_language)
        key: Key = (path, request.query_key, language)
        entry = prepared.get(key)
        if entry is None and self.ahead.previous is not None:
            entry = self.ahead.carry(prepared, key, now)
            if entry is not None:
                return prepared, key, entry
            stale = self.ahead.stale(key, now)
            if stale is not None:
                self.stale_hits += 1
                return stale[0], key, stale[1]
        return prepared, key, entry

    def _begin(self, old: Prepared | None, revision: Revision, now: float) -> Prepared:
        """A build went live, or a transition passed: answer as if a build had landed."""
        new = self._new_set(revision, window_at(revision.transitions, now))
        if old is not None and old.revision is revision:
            new = self.ahead.after_transition(new)
        else:
            self.ahead.after_build(old, new, now)
        self.ahead.starts(new)
        self.prepared = new
        return new

    def _new_set(self, revision: Revision, window: Window) -> Prepared:
        return Prepared(
            revision,
            window,
            max_bytes=self.settings.cache_max_bytes,
            cache_control=self.cache_control,
            vary=self.vary,
            static_headers=self.static_headers,
            lifetimes=self.lifetimes,
        )

    def _keeps(self, prepared: Prepared) -> bool:
        """Whether an answer just made may be kept in `prepared`: no build went live, and
        no transition passed, while the framework was making it."""
        return self.watch.current() is prepared.revision and time.time() < prepared.until

    def answer(
        self, prepared: Prepared, entry: Entry, method: str, request: RequestView
    ) -> tuple[int, list[Header], bytes]:
        """Status, headers (a new list) and body for a prepared entry: the representation
        the client accepts, 304 when its validator matches, or 412 when its If-Match or
        If-Unmodified-Since is false."""
        status, headers, body = self.respond(prepared, entry, method, request, time.time())
        # A copy: layers outside may add headers, and the prepared lists are shared.
        return status, list(headers), body

    def respond(
        self, prepared: Prepared, entry: Entry, method: str, request: RequestView, now: float
    ) -> tuple[int, list[Header], bytes]:
        """As `answer`, at `now`, but the headers may be the entry's own list, shared by
        every answer of it: the caller copies it before anything is added."""
        coding = IDENTITY
        if entry.compressible:
            coding = preferred_codings(request.accept_encoding)[0]
        variant = entry.variants.get(coding) or prepared.variant(entry, coding)
        if_none_match = request.if_none_match
        unconditional = request.if_match is None and request.if_unmodified_since is None
        if unconditional and if_none_match is None and request.if_modified_since is None:
            status = 200
        elif unconditional and if_none_match == variant.quoted:
            status = 304  # the usual revalidation, judged before anything is parsed
        else:
            status = precondition_status(
                variant.tag,
                entry.last_modified_at,
                if_match=request.if_match,
                if_unmodified_since=request.if_unmodified_since,
                if_none_match=if_none_match,
                if_modified_since=request.if_modified_since,
            )
        if status == 304:
            headers, body = variant.not_modified, b""
        elif status == 200:
            headers = variant.headers
            body = variant.body if method == "GET" else b""
        else:
            headers = self.precondition_failed
            body = PRECONDITION_FAILED if method == "GET" else b""
        if status != 412 and now >= prepared.cap_from:
            capped = prepared.cache_control_at(now)
            headers = [(n, capped if n == b"cache-control" else v) for n, v in headers]
        origin = request.origin
        if origin:
            headers = headers + self.cors.response_headers(origin)
        return status, headers, body

    async def _prepare(
        self,
        prepared: Prepared,
        key: Key,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: bytes | None,
    ) -> tuple[Prepared, Entry] | None:
        """The answer to a request none is prepared for yet, and the set it is of: made
        for it (and kept, where it may be), or the previous build's (ahead.py); None when
        it was answered here already (an error, or a response not to be kept)."""
        ahead = self.ahead
        ahead.seen(scope)
        if ahead.refreshing(prepared):
            # Right after a build, while the previous build's answers are prepared again:
            # made in the preparing process, so the clients answered from the loop meanwhile
            # (with the previous build's answers, where one waits) are not held up.
            making = ahead.prepare_now(prepared, key)
            answered = self.hits + self.stale_hits
            while not (await asyncio.wait((making,), timeout=PATIENCE))[0]:
                if self.hits + self.stale_hits != answered:
                    # Others are being answered meanwhile: the server is busy, and this
                    # client is given the previous build's answer, as they are, while its
                    # own is made.
                    stale = ahead.stale(key, time.time())
                    if stale is not None:
                        self.stale_hits += 1
                        return stale
                    break
            made = await asyncio.shield(making)
            if made is not None:
                self.misses += 1
                return prepared, made
        waiting = prepared.pending.get(key)
        if waiting is not None:
            # Many clients asking for the same new response at once: the framework answers
            # once; if that answer was not kept, each asks for itself.
            entry = await asyncio.shield(waiting)
            if entry is not None:
                return prepared, entry
        future: asyncio.Future[Entry | None] | None = None
        if waiting is None:
            future = asyncio.get_running_loop().create_future()
            prepared.pending[key] = future
        entry = None
        ahead.waiting += 1
        try:
            self.misses += 1
            try:
                status, headers, body, route, reads = await self._call_app(scope, receive)
            finally:
                ahead.waiting -= 1
            if route is not None:
                scope["path_template"] = route
            if preparable(status, headers):
                entry = prepared.make(key, headers, body, reads=reads)
                entry.route = route
                if self._keeps(prepared):
                    prepared.store(entry)
                    ahead.also(prepared, key)
                return prepared, entry
            await self._send_passed(scope, send, status, headers, body, origin)
            return None
        finally:
            if future is not None:
                prepared.pending.pop(key, None)
                future.set_result(entry)

    async def render(self, scope: Scope) -> Made:
        """`_call_app` for a request made here, not by a client (api/http/preparer.py)."""
        return await self._call_app(scope, _no_body)

    async def _call_app(self, scope: Scope, receive: Receive) -> Made:
        """Ask the framework for the full GET response, collected into memory, the route it
        matched, and what it read of the content (api/storage/reads.py)."""
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

        with recording() as reads:
            await self.app(child, receive_request, collect)
        return status, headers, b"".join(chunks), child.get("path_template"), tuple(reads)

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
            origin = view_of(scope, self.reader).origin
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
                    (n, allow_with_head(v) if n.lower() == b"allow" else v)
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

    @property
    def prepared_ahead(self) -> int:
        return self.ahead.prepared

    @property
    def carried(self) -> int:
        return self.ahead.carried

    def prepared_size(self) -> tuple[int, int]:
        """(answers kept, bytes they take) in the live revision."""
        prepared = self.prepared
        return (len(prepared.lru), prepared.size) if prepared is not None else (0, 0)

    def open(self) -> None:
        """Open the database now rather than on the first request (at start-up)."""
        self.watch.current()

    async def close(self) -> None:
        """Let go of the database, the prepared answers and the preparing process (at
        shutdown)."""
        await self.ahead.close()
        self.watch.close()
        self.prepared = None


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
