"""Read-only queries over the built database. Returns stored JSON bytes; never speaks HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

#: Columns a list may be sorted by, by the name clients use. Keys of this mapping are the
#: only column names that ever reach SQL text.
SORT_COLUMNS = {
    "published_at": "published_at",
    "updated_at": "updated_at",
    "title": "sort_title",
    "order": "position",
}


class DatabaseUnavailable(Exception):
    """No built database at the configured path (run `python -m api build`)."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    type: str
    locale: str
    sort: str
    descending: bool
    limit: int
    links: Sequence[tuple[str, str]] = ()
    updated_since: str | None = None
    after: tuple[Any, str] | None = None


@dataclass(slots=True)
class Page:
    rows: list[bytes]
    total: int
    last_key: tuple[Any, str] | None
    has_more: bool


@dataclass(slots=True)
class Store:
    db: aiosqlite.Connection
    meta: dict[str, str] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(cls, path: Path) -> Store:
        if not path.is_file():
            raise DatabaseUnavailable(str(path))
        db = await aiosqlite.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        await db.execute("PRAGMA query_only = 1")
        store = cls(db)
        await store.refresh_meta()
        return store

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Store]:
        """Run a request's queries in one read transaction, so they all see one build.

        A build commits while the server reads (WAL); without this, a list's count and its
        page could come from two different builds.
        """
        async with self._lock:
            await self.db.execute("BEGIN")
            try:
                yield self
            finally:
                await self.db.execute("COMMIT")

    async def refresh_meta(self) -> dict[str, str]:
        try:
            async with self.db.execute("SELECT key, value FROM meta") as cur:
                self.meta = {k: v async for k, v in cur}
        except aiosqlite.OperationalError:  # opened before the first build finished
            self.meta = {}
        return self.meta

    async def detail(self, type_: str, slug: str, locale: str) -> bytes | None:
        async with self.db.execute(
            "SELECT detail_json FROM items WHERE type = ? AND slug = ? AND locale = ?"
            " AND deleted = 0",
            (type_, slug, locale),
        ) as cur:
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def summaries(self, type_: str, slugs: Sequence[str], locale: str) -> list[bytes]:
        """Summaries of the given slugs, in the order given; missing ones are skipped."""
        if not slugs:
            return []
        marks = ",".join("?" * len(slugs))
        async with self.db.execute(
            f"SELECT slug, summary_json FROM items WHERE type = ? AND locale = ? AND deleted = 0"
            f" AND slug IN ({marks})",
            (type_, locale, *slugs),
        ) as cur:
            found = {slug: bytes(doc) async for slug, doc in cur}
        return [found[s] for s in slugs if s in found]

    async def linked(self, type_: str, rel: str, target: str, locale: str) -> list[bytes]:
        """Summaries of every item of a type that links to target (e.g. FAQs of a condition)."""
        async with self.db.execute(
            "SELECT i.summary_json FROM links l JOIN items i USING (type, slug, locale)"
            " WHERE l.type = ? AND l.rel = ? AND l.target = ? AND l.locale = ? AND i.deleted = 0"
            " ORDER BY i.position, i.slug",
            (type_, rel, target, locale),
        ) as cur:
            return [bytes(doc) async for (doc,) in cur]

    async def list_page(self, q: ListQuery) -> Page:
        column = SORT_COLUMNS[q.sort]
        where = ["type = ?", "locale = ?", "deleted = 0"]
        params: list[Any] = [q.type, q.locale]
        for rel, target in q.links:
            where.append(
                "EXISTS (SELECT 1 FROM links l WHERE l.type = items.type AND l.slug = items.slug"
                " AND l.locale = items.locale AND l.rel = ? AND l.target = ?)"
            )
            params += [rel, target]
        if q.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(q.updated_since)
        async with self.db.execute(
            f"SELECT count(*) FROM items WHERE {' AND '.join(where)}", params
        ) as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0

        if q.after is not None:
            where.append(f"({column}, slug) {'<' if q.descending else '>'} (?, ?)")
            params += list(q.after)
        order = "DESC" if q.descending else "ASC"
        async with self.db.execute(
            f"SELECT summary_json, {column}, slug FROM items WHERE {' AND '.join(where)}"
            f" ORDER BY {column} {order}, slug {order} LIMIT ?",
            [*params, q.limit + 1],
        ) as cur:
            rows = list(await cur.fetchall())
        has_more = len(rows) > q.limit
        rows = rows[: q.limit]
        last = (rows[-1][1], rows[-1][2]) if rows and has_more else None
        return Page([bytes(r[0]) for r in rows], total, last, has_more)
