"""api.app:app with one test-only addition: a request carrying `X-Test-Delay: <seconds>`
is held that long before the app answers it, so a test can have requests in flight when
it stops the server. Lives in tests/, never in the production app."""

from __future__ import annotations

import asyncio
from typing import Any

from api.app import app as clinic_app


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        for name, value in scope["headers"]:
            if name == b"x-test-delay":
                await asyncio.sleep(float(value))
    await clinic_app(scope, receive, send)
