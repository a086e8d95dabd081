"""The plain ASGI types the layers share (Litestar's own are stricter than these need)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

#: Where the layers leave what they learnt for the ones inside (and for the access log).
SCOPE_KEY = "clinic"


def context(scope: Scope) -> dict[str, Any]:
    """The per-request dict the layers share, created on first use."""
    found: dict[str, Any] | None = scope.get(SCOPE_KEY)
    if found is None:
        found = scope[SCOPE_KEY] = {}
    return found


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first request header called `name` (lower-case), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class PathSet:
    """Paths and everything under them, matched without building strings per request."""

    def __init__(self, *paths: str) -> None:
        self.exact = frozenset(paths)
        self.under = tuple(p.rstrip("/") + "/" for p in paths)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (path in self.exact or path.startswith(self.under))
