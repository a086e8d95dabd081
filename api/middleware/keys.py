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
from urllib.parse import parse_qsl

from api.middleware.problems import send_problem
from api.middleware.types import ASGIApp, PathSet, Receive, Scope, Send, context, header

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

    def forbidden(self, query_string: bytes, channel: str) -> str | None:
        """Why a key of `channel` may not make this request, or None if it may."""
        if b"channel" not in query_string:
            return None
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if name == "channel" and value in self.privileged and value != channel:
                return f"channel={value} needs a key of the {value} channel."
        return None

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
        key = offered_key(scope)
        if key is None:
            detail = "An API key is required: send it as X-API-Key or Authorization: Bearer."
            await send_problem(send, 401, detail, path, CHALLENGE)
            return
        channel = self.channel(key)
        if channel is None:
            await send_problem(send, 401, "The API key is not valid.", path, CHALLENGE)
            return
        refusal = self.forbidden(scope["query_string"], channel)
        if refusal is not None:
            await send_problem(send, 403, refusal, path)
            return
        context(scope)["channel"] = channel
        await self.app(scope, receive, send)
