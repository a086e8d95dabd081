"""Channel API keys (issue 6).

Keys are optional. When `CLINIC_API_KEYS` names any, every request outside the open paths
must carry one, as `X-API-Key: <key>` or `Authorization: Bearer <key>`. Only SHA-256
digests of keys are configured and held; the digest of the key offered is compared with
every configured digest in constant time (`hmac.compare_digest`), and neither the key nor
its digest is ever logged or echoed. The channel a key belongs to is passed inward, so rate
limits and the access log can use it.

A key also bounds the `channel` a request may name: a channel that is served items whose
clinical review is overdue (CLINIC_SERVE_OVERDUE, by default only `editor`) needs a key of
that channel; anyone else asking for it gets 403. Other channels are renditions (the
kiosk's plain text, say) and any key may ask for them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple
from urllib.parse import parse_qsl

from api.middleware.problems import send_problem
from api.middleware.types import ASGIApp, Headers, PathSet, Receive, Scope, Send, context, header

#: Reachable without a key: probes must work before keys are handed out, and the
#: documentation (including the OpenAPI document) is what integrators read first.
OPEN_PATHS = PathSet("/health", "/ready", "/docs")
CHALLENGE = [(b"www-authenticate", b'Bearer realm="clinic-content-api"')]


def offered_key(scope: Scope) -> bytes | None:
    """The key the request carries, from X-API-Key or an Authorization Bearer token."""
    return key_from(header(scope, b"x-api-key"), header(scope, b"authorization"))


def key_from(key: bytes | None, authorization: bytes | None) -> bytes | None:
    """The key given these X-API-Key and Authorization header values."""
    if key is not None:
        return key.strip()
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(b" ")
        if scheme.lower() == b"bearer" and token.strip():
            return token.strip()
    return None


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
        keys: tuple[tuple[str, bytes], ...],
        privileged: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.keys = keys
        self.privileged = privileged

    def admit(self, key: bytes | None, query_string: bytes) -> str | Refusal:
        """The channel of the key offered, or why the request is refused."""
        if key is None:
            detail = "An API key is required: send it as X-API-Key or Authorization: Bearer."
            return Refusal(401, detail, CHALLENGE)
        channel = self.channel(key)
        if channel is None:
            return Refusal(401, "The API key is not valid.", CHALLENGE)
        if b"channel" in query_string:
            for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
                if name == "channel" and value in self.privileged and value != channel:
                    return Refusal(403, f"channel={value} needs a key of the {value} channel.")
        return channel

    def channel(self, key: bytes) -> str | None:
        digest = hashlib.sha256(key).digest()
        found = None
        for channel, expected in self.keys:  # no early exit: every digest is compared
            if hmac.compare_digest(digest, expected) and found is None:
                found = channel
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in OPEN_PATHS or scope["method"] == "OPTIONS":
            # CORS preflights carry no custom headers; the request that follows does.
            await self.app(scope, receive, send)
            return
        admitted = self.admit(offered_key(scope), scope["query_string"])
        if isinstance(admitted, Refusal):
            await send_problem(send, admitted.status, admitted.detail, path, admitted.headers)
            return
        context(scope)["channel"] = admitted
        await self.app(scope, receive, send)
