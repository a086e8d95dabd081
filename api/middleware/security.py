"""Security headers on every response but a 304 (which updates a stored 200 that has them).

JSON answers get a policy that lets a browser run nothing (`default-src 'none'`). The
interactive docs at /docs load only their self-hosted assets; their one inline script
(the Swagger UI set-up, which embeds the document) is allowed by its SHA-256 hash,
computed from the page as sent, so no 'unsafe-inline' is needed for scripts. The kiosk app
at /kiosk has no inline script or style at all: everything from this origin, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re

from api.middleware.types import ASGIApp, Headers, Message, PathSet, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'none'"
)
DOCS_PAGES = ("/docs", "/docs/")
#: The kiosk app (api/controllers/kiosk_app.py): its scripts, style sheet, worker, icon and
#: manifest from this origin, requests to this origin only, nothing inline, no frames.
KIOSK_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'none'"
)
KIOSK_PATHS = PathSet("/kiosk")
COMMON: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_HEADERS: Headers = [*COMMON, (b"content-security-policy", API_POLICY.encode())]
KIOSK_HEADERS: Headers = [*COMMON, (b"content-security-policy", KIOSK_POLICY.encode())]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_policy(html: bytes) -> bytes:
    """The /docs policy for this page: its inline scripts allowed by hash, nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(html)
    )
    return DOCS_POLICY.format(hashes=hashes).encode()


def _merge(headers: Headers, extra: Headers) -> Headers:
    """`headers` plus those of `extra` it does not set already (ASGI names are lower-case)."""
    present = {name for name, _ in headers}
    return [*headers, *((n, v) for n, v in extra if n not in present)]


class SecurityHeadersMiddleware:
    """Adds nosniff, Referrer-Policy, framing and Content-Security-Policy headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in DOCS_PAGES:
            await self._docs(scope, receive, send)
            return
        extra = KIOSK_HEADERS if scope["path"] in KIOSK_PATHS else API_HEADERS

        async def send_with_headers(message: Message) -> None:
            # Not on a 304: it updates a stored 200 that has them (RFC 9110, 15.4.5).
            if message["type"] == "http.response.start" and message["status"] != 304:
                message["headers"] = _merge(list(message.get("headers", [])), extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the page back until its body is known, to hash its inline scripts."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(bytes(message.get("body", b"")))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            policy = (b"content-security-policy", docs_policy(body))
            start["headers"] = _merge(list(start.get("headers", [])), [*COMMON, policy])
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffer)
