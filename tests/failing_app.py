"""The real HTTP layers and their guard around a test-only app that fails: every request
reaches the app through the access log, security headers, keys, rate limits and the
delivery layer (which asks it for the answer to prepare), and the app raises there. A
POST to `/after-start` (passed through, not prepared) fails once its response has begun.
Lives in tests/, never in production."""

from __future__ import annotations

from typing import Any

from api.metrics import Metrics
from api.middleware import wrap
from api.middleware.guard import Guard
from api.settings import Settings

#: The exception's text: a newline and what would look like a log line of its own.
FAILURE = 'injected failure\n{"ts":"forged","event":"request","status":200}'


async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["path"] == "/after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError(FAILURE)


layers = wrap(failing, Settings.from_env(), Metrics())
app = Guard(layers.stack, layers.fast.log, layers.fast)
