"""Channel API keys.

Keys are optional. When `CLINIC_API_KEYS` names any, every request outside the open paths
must carry one, as `X-API-Key: <key>` or `Authorization: Bearer <key>`. Only SHA-256
digests of keys are configured and held; the digest of the key offered is compared with
every configured digest in constant time (`hmac.compare_digest`), and neither the key nor
its digest is ever logged or echoed. The key is judged once, when the request is read
(api/reading.py); this layer decides on that judgement, and passes the channel inward for
the access log.

A key also bounds the `channel` a request may name: a channel that is served items whose
clinical review is overdue (CLINIC_SERVE_OVERDUE, by default only `editor`) needs a key of
that channel; anyone else asking for it gets 403. Other channels are renditions (the
kiosk's plain text, say) and any key may ask for them. The `channel` parameter is the one
the handler reads: its name and value decoded as the framework decodes them, so
`?chan%6eel=editor` is `channel=editor` here too.
"""

from __future__ import annotations

from typing import NamedTuple

from api.middleware.problems import send_problem
from api.middleware.types import ASGIApp, Headers, PathSet, Receive, Scope, Send, context
from api.reading import RequestReader, RequestView, view_of

#: Reachable without a key: probes must work before keys are handed out, the
#: documentation (including the OpenAPI document) is what integrators read first, and the
#: kiosk app's files hold no content (its set-up screen is where the kiosk key is entered).
OPEN_PATHS = PathSet("/health", "/ready", "/docs", "/kiosk")
CHALLENGE = [(b"www-authenticate", b'Bearer realm="clinic-content-api"')]


class Refusal(NamedTuple):
    """A request the key layer answers itself: 401 or 403 problem+json."""

    status: int
    detail: str
    headers: Headers | None = None


class ApiKeyMiddleware:
    """Answers 401 problem+json to a missing or wrong key when keys are configured, and 403
    to a key asking for a channel that sees overdue items and is not its own."""

    def __init__(
        self,
        app: ASGIApp,
        reader: RequestReader,
        privileged: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.reader = reader
        self.keys = reader.keys
        self.privileged = privileged

    def admit(self, view: RequestView) -> str | Refusal:
        """The channel of the key offered, or why the request is refused."""
        if not view.key_offered:
            detail = "An API key is required: send it as X-API-Key or Authorization: Bearer."
            return Refusal(401, detail, CHALLENGE)
        channel = view.key_channel
        if channel is None:
            return Refusal(401, "The API key is not valid.", CHALLENGE)
        for value in view.channels:
            if value in self.privileged and value != channel:
                return Refusal(403, f"channel={value} needs a key of the {value} channel.")
        return channel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in OPEN_PATHS or scope["method"] == "OPTIONS":
            # CORS preflights carry no custom headers; the request that follows does.
            await self.app(scope, receive, send)
            return
        admitted = self.admit(view_of(scope, self.reader))
        if isinstance(admitted, Refusal):
            await send_problem(send, admitted.status, admitted.detail, path, admitted.headers)
            return
        context(scope)["channel"] = admitted
        await self.app(scope, receive, send)
