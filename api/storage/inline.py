"""Reading the content database in the event loop's own thread, for answers made in the
background (api/http/ahead.py).

The store reads through aiosqlite (api/storage/reader.py): each statement runs in a
connection's thread and its answer comes back through the event loop. A request waiting
for one is not what costs: other requests are served meanwhile. But an answer made in the
background while the server is busy waits a whole turn of the loop, many answers long,
for each of its statements, and is made at a few dozen a second, far too few to prepare a
new window's answers before its instant.

There, the statements run where they are asked, each to its end, and the whole answer is
made in one go: a few milliseconds of the loop, between two turns, instead of a turn per
statement. Nothing else runs meanwhile, which is why the requests of clients keep using
aiosqlite, and why a statement that takes long (a search ranking most of the index, a page
of sync, the sitemap) runs in a thread instead, once it has been seen to (over 10 ms), at
the cost of one turn. The interface is the part of aiosqlite's the store uses (`await
db.execute(...)`, `async with db.execute(...) as cur`, `async for row in cur`,
`execute_fetchall`, `commit`), so the store's code reads the same either way; the errors
are sqlite3's, which aiosqlite's are too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any

#: A statement that took longer than this inline runs in a thread from then on: a page of
#: sync or the sitemap, not a list page (a turn of the loop under load costs more than that).
SLOW_SECONDS = 0.010
#: The statements (their text, with placeholders) seen taking longer, for every connection.
_SLOW: set[str] = set()
_MAX_SLOW = 1024
#: The inline connection of the answer being made, if it is made in the background.
_CURRENT: ContextVar[Connection | None] = ContextVar("clinic_inline_reads", default=None)


class Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class _Statement:
    """`db.execute(...)`: awaited for its cursor, or entered to close the cursor after."""

    __slots__ = ("_cursor", "_db", "_params", "_sql")

    def __init__(self, db: sqlite3.Connection, sql: str, params: Iterable[Any]) -> None:
        self._db = db
        self._sql = sql
        self._params = params
        self._cursor: Cursor | None = None

    def _run(self) -> Cursor:
        self._cursor = Cursor(self._db.execute(self._sql, tuple(self._params)))
        return self._cursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._run()
        yield  # a generator that finishes at once: the statement has run

    async def __aenter__(self) -> Cursor:
        return self._run()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class Connection:
    """A read-only connection to the content database, in autocommit: the store opens each
    answer's read transaction itself."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @classmethod
    def open(cls, path: Path, cache_kib: int) -> Connection:
        db = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        db.execute("PRAGMA query_only = 1")
        db.execute(f"PRAGMA cache_size = -{cache_kib}")
        return cls(db)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Statement:
        return _Statement(self._db, sql, params)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """The rows, read here; in a thread for a statement that took long before (a page of
        sync, the sitemap), so the loop serves requests meanwhile."""
        values = tuple(params)
        if sql in _SLOW:
            return await asyncio.to_thread(self._fetch, sql, values)
        started = time.perf_counter()
        rows = self._fetch(sql, values)
        if time.perf_counter() - started > SLOW_SECONDS and len(_SLOW) < _MAX_SLOW:
            _SLOW.add(sql)
        return rows

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._db.execute(sql, params).fetchall()

    def fetch_now(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """Run statements one after the other, here and now (in whatever thread calls)."""
        return [self._db.execute(sql, tuple(params)).fetchall() for sql, params in statements]

    async def commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    async def close(self) -> None:
        self._db.close()


def current() -> Connection | None:
    """The inline connection to read with, when the answer is made in the background."""
    return _CURRENT.get()


@contextmanager
def reading(connection: Connection) -> Iterator[None]:
    """Make the answers asked for inside read with `connection`, in this thread."""
    token = _CURRENT.set(connection)
    try:
        yield
    finally:
        _CURRENT.reset(token)


async def apart(db: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
    """The rows of statements that may take long (a search of a common word ranks most of
    the index: tens of milliseconds). Inline they run in a thread (SQLite lets other threads
    run meanwhile), so the loop serves requests while they do; with aiosqlite they are
    queued at once on its connection, as `together` does."""
    if isinstance(db, Connection):
        return await asyncio.to_thread(db.fetch_now, statements)
    return list(await asyncio.gather(*(db.execute_fetchall(sql, p) for sql, p in statements)))


async def together(*awaitables: Awaitable[Any]) -> list[Any]:
    """The results of statements that do not depend on each other. With aiosqlite they are
    queued at once (its thread runs them in order, and the answers come back in one turn
    of the loop); inline each runs to its end as it is awaited, without a turn of the loop
    that `gather` would take."""
    if _CURRENT.get() is None:
        return list(await asyncio.gather(*awaitables))
    results = []
    try:
        for each in awaitables:
            results.append(await each)
    finally:
        for each in awaitables[len(results) + 1 :]:
            if asyncio.iscoroutine(each):
                each.close()  # not run after an error: say so to nobody
    return results
