"""The process answers are prepared ahead in (api/http/ahead.py), apart from the server's.

A thread of the server's would share its interpreter: while it made an answer (a page of
sync is tens of milliseconds of Python) the server's loop got its turn only every few
milliseconds, and under load every client waited for that, tens of milliseconds at the
99th percentile after a build (bench/README.md). This process has an interpreter of its
own, the app of its own (the same settings, so the same answers, byte for byte), and its
own connection to the content database; it runs at a lower priority than the server, so
the operating system gives it the time the server does not use. The server sends it a
request, as a scope without the server's objects, and receives the answer made, its body
compressed where the previous answer's was and the bytes changed.

Nothing runs here but the framework's handlers: not the lifespan's background work (the
transitions recorder, webhook delivery), which stays in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import threading
from typing import Any, cast

import aiosqlite

from api.http.prepared import MIN_COMPRESS_BYTES, Header, compress_all, entity_tag
from api.preview import VIEWPOINT, Viewpoint
from api.settings import Settings
from api.storage import inline
from api.storage.reader import CACHE_KIB, Store

#: Added to the server's nice value: under load the server's loop comes first, and the
#: answers are prepared in the time it leaves (there is some on any machine with two
#: cores; on one, a build's answers are given stale until CLINIC_PREPARE_AHEAD ends, and
#: the rest are made for the requests that ask, as without preparing ahead).
NICE = 10
#: What a made answer comes back as: status, headers, body, the route the framework
#: matched, and the body compressed in each coding asked for (empty when unchanged).
Made = tuple[int, list[Header], bytes, str | None, dict[str, bytes]]

_loop: asyncio.AbstractEventLoop | None = None
_app: Any = None
_reader: inline.Connection | None = None


def start(settings: Settings) -> None:
    """In the new process, before anything is asked: the app, as the server has it."""
    global _loop, _app, _reader
    _end_with_the_server()
    with contextlib.suppress(OSError):  # not allowed here: it works, sharing evenly
        os.nice(NICE)
    from api.app import create_app  # the app's module imports this one's parent

    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    _app = create_app(settings)
    _reader = inline.Connection.open(settings.db_path, CACHE_KIB)
    # The store reads with that connection alone: an aiosqlite connection's thread would
    # keep this process from ending when the pool ends it.
    store = Store(settings.db_path, [cast(aiosqlite.Connection, _reader)])
    store.review_policy = settings.review_policy
    _loop.run_until_complete(store.refresh_meta())
    _app.state.settings = settings
    _app.state.store = store
    gc.freeze()  # the app lives as long as the process: no full pass walks it


def _end_with_the_server() -> None:
    """End this process when the server's ends, however it ends: the pool stops it when the
    server shuts down, but a server killed outright cannot say so, and this process holds
    its end of the pool's queue too (so never reads an end of it)."""
    server = multiprocessing.parent_process()
    if server is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([server.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="end-with-the-server", daemon=True).start()


def ready() -> bool:
    """Asked once, to know that `start` has run."""
    return _app is not None


def make(
    scope: dict[str, Any], at: float | None, old_tag: bytes | None, codings: list[str]
) -> Made:
    """The framework's answer to `scope` (made by api/http/ahead.py) as of `at` (None: now),
    compressed in `codings` unless its entity tag is `old_tag`."""
    assert _loop is not None, "start() runs first"
    return _loop.run_until_complete(_make(scope, at, old_tag, codings))


async def _make(
    scope: dict[str, Any], at: float | None, old_tag: bytes | None, codings: list[str]
) -> Made:
    scope.update(app=_app, litestar_app=_app, state={})
    token = VIEWPOINT.set(Viewpoint(at=at)) if at is not None else None
    try:
        assert _reader is not None
        with inline.reading(_reader):
            status, headers, body, route = await _app.fast_path.delivery.render(scope)
    finally:
        if token is not None:
            VIEWPOINT.reset(token)
    compressed: dict[str, bytes] = {}
    changed = status == 200 and len(body) >= MIN_COMPRESS_BYTES and entity_tag(body) != old_tag
    if changed and codings:
        compressed = compress_all(body, codings)
    return status, headers, body, route, compressed
