"""Reading the content database where a statement is asked, for answers made in the
background, in a process of their own (api/http/preparer.py).

The store reads through aiosqlite (api/storage/reader.py): each statement runs in a
connection's thread and its answer comes back through the event loop. In the server that
is what lets other requests be served meanwhile. The preparing process makes one answer
at a time and has nothing to serve meanwhile: there the round trip through a thread and
back, for each statement, is only a cost.

So the answers made there read here instead, each statement to its end where it is
asked: the whole answer is made in one go, without waiting for any turn. The interface is
the part of aiosqlite's the store uses (`await db.execute(...)`, `async with
db.execute(...) as cur`, `async for row in cur`, `execute_fetchall`, `commit`), so the
store's code reads the same either way; the errors are sqlite3's, which aiosqlite's are
too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any

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
        return self._db.execute(sql, tuple(params)).fetchall()

    async def commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def close(self) -> None:
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
