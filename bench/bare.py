"""The yardstick: a bare ASGI callable answering fixed bytes, under the same server.

`GET /<n>` answers n bytes of JSON-typed filler; bodies are made once and kept, so the
request path is a dictionary look-up, like the API's prepared responses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

_bodies: dict[str, tuple[list[tuple[bytes, bytes]], bytes]] = {}


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Any]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        return
    found = _bodies.get(scope["path"])
    if found is None:
        size = int(scope["path"].strip("/") or 0)
        body = b"x" * size
        headers = [(b"content-type", b"application/json"), (b"content-length", str(size).encode())]
        found = _bodies[scope["path"]] = (headers, body)
    await send({"type": "http.response.start", "status": 200, "headers": list(found[0])})
    await send({"type": "http.response.body", "body": found[1]})
