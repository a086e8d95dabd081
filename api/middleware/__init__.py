"""The HTTP layers around the Litestar application, each a plain ASGI middleware.

`wrap` composes them, outermost first:

    access log & request id → security headers → channel keys → rate limit
    → delivery (prepared responses, validators, compression, CORS; api/http) → (app)

so every answer, including a refusal by an inner layer, carries a request id and the
security headers and is logged and counted, and a prepared answer still needs a key.
"""

from __future__ import annotations

from api.http import Delivery
from api.metrics import Metrics
from api.middleware.access_log import AccessLogMiddleware, configure_access_log
from api.middleware.keys import ApiKeyMiddleware
from api.middleware.ratelimit import RateLimitMiddleware
from api.middleware.security import SecurityHeadersMiddleware
from api.middleware.types import ASGIApp
from api.settings import Settings

__all__ = ["wrap"]


def wrap(app: ASGIApp, settings: Settings, metrics: Metrics) -> ASGIApp:
    """`app` inside the layers, configured from `settings`."""
    app = Delivery(app, settings)
    # A layer that would only pass requests through is left out: each ASGI layer costs a
    # few microseconds on every request, which the prepared-response path cannot spare.
    if settings.rate_limit_address.enabled or settings.rate_limit_key.enabled:
        app = RateLimitMiddleware(app, settings.rate_limit_address, settings.rate_limit_key)
    if settings.api_keys:
        app = ApiKeyMiddleware(app, settings.api_keys)
    app = SecurityHeadersMiddleware(app)
    if settings.access_log:
        configure_access_log()
    return AccessLogMiddleware(app, metrics, log_requests=settings.access_log)
