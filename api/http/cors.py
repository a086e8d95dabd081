"""CORS for the configured origins only (CLINIC_CORS_ORIGINS), preflights included."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from api.errors import PROBLEM_MEDIA_TYPE, problem_type
from schemas.resources import Problem

Header = tuple[bytes, bytes]

ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
#: Request headers a browser may send cross-origin: content negotiation, validators, and the
#: API key and request id of the layers outside this one.
ALLOW_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "cache-control",
    "content-type",
    "if-modified-since",
    "if-none-match",
    "x-api-key",
    "x-request-id",
)
#: Response headers a browser script may read beyond the CORS-safelisted ones.
EXPOSE_HEADERS = (
    "ETag",
    "Link",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-Id",
)
PREFLIGHT_MAX_AGE = 600

_encoder = msgspec.json.Encoder()


class Cors:
    def __init__(
        self,
        origins: Iterable[str],
        allow_headers: Iterable[str] = ALLOW_HEADERS,
        expose_headers: Iterable[str] = EXPOSE_HEADERS,
    ) -> None:
        configured = [o.strip().rstrip("/") for o in origins if o.strip()]
        self.enabled = bool(configured)
        self.any_origin = "*" in configured
        self.origins = frozenset(o.encode("latin-1") for o in configured if o != "*")
        #: A response differs by Origin unless every origin gets the same `*`.
        self.vary_origin = self.enabled and not self.any_origin
        self.allow_headers = frozenset(h.lower() for h in allow_headers)
        self._expose = (b"access-control-expose-headers", ", ".join(expose_headers).encode())
        self._by_origin: dict[bytes, list[Header]] = {}

    def allows(self, origin: bytes) -> bool:
        return self.enabled and (self.any_origin or origin in self.origins)

    def response_headers(self, origin: bytes) -> list[Header]:
        """Headers for an actual (not preflight) response to `origin`; none if refused."""
        found = self._by_origin.get(origin)
        if found is None:
            if not self.allows(origin):
                return []
            allowed = b"*" if self.any_origin else origin
            found = [(b"access-control-allow-origin", allowed), self._expose]
            if len(self._by_origin) < 1024:
                self._by_origin[origin] = found
        return found

    def preflight(
        self, origin: bytes, method: bytes, request_headers: bytes | None, path: str
    ) -> tuple[int, list[Header], bytes]:
        """The answer to an OPTIONS preflight: 204 with the grants, or 403 saying why not."""
        vary = (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
        if not self.allows(origin):
            return _refuse(f"Origin {origin.decode('latin-1')} may not call this API.", path, vary)
        wanted = method.decode("latin-1").strip().upper()
        if wanted not in ALLOW_METHODS:
            return _refuse(
                f"{wanted} is not allowed; allowed: {', '.join(ALLOW_METHODS)}.", path, vary
            )
        asked = [
            h.strip().lower()
            for h in (request_headers or b"").decode("latin-1").split(",")
            if h.strip()
        ]
        refused = [h for h in asked if h not in self.allow_headers]
        if refused:
            return _refuse(
                f"Header(s) {', '.join(refused)} not allowed;"
                f" allowed: {', '.join(sorted(self.allow_headers))}.",
                path,
                vary,
            )
        headers = [
            (b"access-control-allow-origin", b"*" if self.any_origin else origin),
            (b"access-control-allow-methods", ", ".join(ALLOW_METHODS).encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
            vary,
        ]
        if asked:
            headers.append((b"access-control-allow-headers", ", ".join(asked).encode()))
        return 204, headers, b""


def _refuse(detail: str, path: str, vary: Header) -> tuple[int, list[Header], bytes]:
    body = _encoder.encode(
        Problem(
            type=problem_type(403),
            title="Forbidden",
            status=403,
            detail=f"CORS preflight refused. {detail}",
            instance=path,
        )
    )
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        vary,
    ]
    return 403, headers, body
