"""The HTTP layers around the Litestar application, each a plain ASGI middleware.

`wrap` composes them, outermost first:

    access log & request id → security headers → request reading → rate limit
    → preview gate → channel keys → delivery (prepared responses, validators,
    compression, CORS; api/http) → (app)

so every answer, including a refusal by an inner layer, carries a request id and the
security headers and is logged and counted, and a prepared answer still needs a key. The
request is read once (api/reading.py) and every layer, the fast path and the handlers use
that one view. Rate limits come before keys, so a request with no key or a wrong one is
counted (against its address) before it is refused. The preview gate judges every request
that asks for content not live yet (api/middleware/preview.py) and sends it to the app
directly, past the keys and the prepared answers, so nothing it answers is shared.

It also returns the same layers' `FastPath` (api/middleware/fast.py), which answers a
request whose response is prepared in one pass, in front of the framework.
"""

from __future__ import annotations

from typing import NamedTuple

from api.http import Delivery
from api.metrics import Metrics
from api.middleware.access_log import AccessLines, AccessLogMiddleware
from api.middleware.fast import FastPath
from api.middleware.keys import ApiKeyMiddleware
from api.middleware.preview import PreviewGate
from api.middleware.ratelimit import RateLimiter, RateLimitMiddleware
from api.middleware.reading import RequestReadingMiddleware
from api.middleware.security import API_HEADERS, SecurityHeadersMiddleware
from api.middleware.types import ASGIApp
from api.reading import RequestReader
from api.settings import Settings

__all__ = ["Layers", "wrap"]


class Layers(NamedTuple):
    #: The layers around the app, for every request.
    stack: ASGIApp
    #: The same layers' work for a prepared answer, in one pass.
    fast: FastPath


def wrap(app: ASGIApp, settings: Settings, metrics: Metrics) -> Layers:
    """`app` inside the layers, configured from `settings`."""
    reader = RequestReader(settings.api_keys, settings.allowed_hosts)
    framework = app
    delivery = Delivery(app, settings, static_headers=API_HEADERS, reader=reader)
    metrics.watch_prepared(delivery)
    app = delivery
    # A layer that would only pass requests through is left out: each ASGI layer costs a
    # few microseconds on every request.
    keys = None
    if settings.public_keys:
        # A preview key alone does not make the other channels need keys.
        app = keys = ApiKeyMiddleware(app, reader, settings.serve_overdue)
    # Always there: without a preview key configured, previews are refused, not served.
    app = PreviewGate(app, framework, reader, settings, delivery.cors)
    limiter = None
    # Without keys no request has a key, so only the per-address limit can apply.
    per_key = settings.rate_limit_key.enabled and bool(settings.api_keys)
    if settings.rate_limit_address.enabled or per_key:
        limiter = RateLimiter(settings.rate_limit_address, settings.rate_limit_key)
        app = RateLimitMiddleware(app, limiter, reader)
    app = RequestReadingMiddleware(app, reader)
    app = SecurityHeadersMiddleware(app)
    lines = AccessLines() if settings.access_log else None
    log = AccessLogMiddleware(app, metrics, lines=lines)
    return Layers(log, FastPath(delivery, log, keys, limiter, reader))
