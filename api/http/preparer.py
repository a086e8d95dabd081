"""The process answers are prepared ahead in (api/http/ahead.py), apart from the server's.

A thread of the server's would share its interpreter: while it made an answer (a page of
sync is tens of milliseconds of Python) the server's loop got its turn only every few
milliseconds, and under load every client waited for that, tens of milliseconds at the
99th percentile after a build (bench/README.md). This process has an interpreter of its
own, the app of its own (the same settings, so the same answers, byte for byte), and its
own connection to the content database; it runs at a lower priority than the server, so
the operating system gives it the time the server does not use.

It is the server's child, started with `python -c` (`command`) and spoken to over its
standard input and output, in frames: an 8-byte length, then a pickle. The first frame in
is the settings; the first out says it is ready. Then each frame in is a request, as a
scope without the server's objects, and the frame out is the answer made, its body
compressed where the previous answer's was and the bytes changed (or the exception that
stopped it). One at a time, in order. When the server ends, however it ends, its end of
the pipe closes, and this process reads that and ends too.

Nothing runs here but the framework's handlers: not the lifespan's background work (the
transitions recorder, webhook delivery), which stays in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO, cast

import aiosqlite

from api.http.prepared import MIN_COMPRESS_BYTES, Header, compress_all, entity_tag
from api.preview import VIEWPOINT, Viewpoint
from api.settings import Settings
from api.storage import inline
from api.storage.reader import Store
from api.storage.reads import Reads

#: Added to the server's nice value: under load the server's loop comes first, and the
#: answers are prepared in the time it leaves (there is some on any machine with two
#: cores; on one, a build's answers are given stale until CLINIC_PREPARE_AHEAD ends, and
#: the rest are made for the requests that ask, as without preparing ahead). Not idle
#: scheduling (SCHED_IDLE): on a machine kept busy it prepared a build's answers two to
#: three times slower, and the requests waiting for one waited that much longer, with no
#: gain in the 99th percentile of the others (bench/README.md).
NICE = 10
#: KiB of SQLite's page cache for the one connection here (the server's have CACHE_KIB
#: each): it makes one answer at a time, and the operating system caches the file anyway.
CHILD_CACHE_KIB = 4 * 1024
#: A frame's length, before its pickle.
FRAME = struct.Struct("!Q")
#: What a made answer comes back as: status, headers, body, the route the framework
#: matched, the body compressed in each coding asked for (empty when unchanged), the
#: body's entity tag (worked out here, not in the server's loop), and what the answer read
#: of the content (api/storage/reads.py).
Made = tuple[int, list[Header], bytes, str | None, dict[str, bytes], bytes, Reads]
#: What is asked of it: a scope, as of when (None: now), the previous answer's entity tag
#: and the codings it had.
Request = tuple[dict[str, Any], float | None, bytes | None, list[str]]


def command() -> tuple[list[str], dict[str, str]]:
    """How the server starts this process: the same interpreter, and the same copy of the
    code as its own (first on the path), whatever the working folder."""
    code = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([code, *filter(None, [os.environ.get("PYTHONPATH")])])
    program = "from api.http.preparer import main; main()"
    return [sys.executable, "-c", program], {**os.environ, "PYTHONPATH": path}


def frame(thing: object) -> bytes:
    data = pickle.dumps(thing, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


class _Maker:
    """The app, as the server has it, and its one connection to the content database."""

    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        from api.app import create_app  # the app's module imports this one's parent

        self.loop = loop
        self.app = create_app(settings)
        assert self.app.fast_path is not None
        self.render = self.app.fast_path.delivery.render
        self.reader = inline.Connection.open(settings.db_path, CHILD_CACHE_KIB)
        # The store reads with that connection alone: nothing here waits on another.
        store = Store(settings.db_path, [cast(aiosqlite.Connection, self.reader)])
        store.review_policy = settings.review_policy
        loop.run_until_complete(store.refresh_meta())
        self.app.state.settings = settings
        self.app.state.store = store

    def make(self, request: Request) -> Made:
        return self.loop.run_until_complete(self._make(*request))

    async def _make(
        self, scope: dict[str, Any], at: float | None, old_tag: bytes | None, codings: list[str]
    ) -> Made:
        scope.update(app=self.app, litestar_app=self.app, state={})
        token = VIEWPOINT.set(Viewpoint(at=at, ahead=True)) if at is not None else None
        try:
            with inline.reading(self.reader):
                status, headers, body, route, reads = await self.render(scope)
        finally:
            if token is not None:
                VIEWPOINT.reset(token)
        compressed: dict[str, bytes] = {}
        tag = entity_tag(body)
        if status == 200 and codings and len(body) >= MIN_COMPRESS_BYTES and tag != old_tag:
            compressed = compress_all(body, codings)
        return status, headers, body, route, compressed, tag, reads


def _read(source: BinaryIO) -> Any:
    head = source.read(FRAME.size)
    if len(head) < FRAME.size:
        return None  # the server's end closed: it ended
    (size,) = FRAME.unpack(head)
    data = source.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def main() -> None:
    """Serve the server that started this process, until it ends."""
    with contextlib.suppress(OSError):  # not allowed here: it works, sharing evenly
        os.nice(NICE)
    source = sys.stdin.buffer
    # The frames go out on a copy of standard output; anything else written there (a stray
    # print, a warning) goes to standard error, with the server's own.
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    settings = _read(source)
    if not isinstance(settings, Settings):
        return
    maker = _Maker(settings, asyncio.new_event_loop())
    gc.freeze()  # the app lives as long as the process: no full pass walks it
    sink.write(frame(True))
    sink.flush()
    while (request := _read(source)) is not None:
        try:
            answer: object = maker.make(request)
        except Exception as exc:  # said to the server, which logs it; the next may do
            answer = exc
        try:
            out = frame(answer)
        except Exception:  # an exception that does not pickle: its words do
            out = frame(RuntimeError(repr(answer)))
        try:
            sink.write(out)
            sink.flush()
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main()
