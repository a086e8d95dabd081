"""Read-only queries over the built database. Returns stored JSON bytes; never speaks HTTP."""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from api.review import STORED_STATUS, ReviewPolicy, ReviewWindow
from api.storage import search as fts
from api.timeline import PUBLISHED, State, live_at, publication_status, state, status_sql

#: Columns a list may be sorted by, by the name clients use. Keys of this mapping are the
#: only column names that ever reach SQL text.
SORT_COLUMNS = {
    "published_at": "published_at",
    "updated_at": "updated_at",
    "title": "sort_title",
    "order": "position",
}


_STORED_STATUS = f'"review_status":"{STORED_STATUS}"'.encode()
#: Every go-live and expiry of the indexed items: the vocabulary changes only at them.
_BOUNDS = "SELECT live_from, live_until FROM items WHERE deleted = 0 AND withdrawn IS NULL"
#: Served vocabularies kept per build (`at=` may ask for many instants).
_MAX_VOCABULARIES = 16
_decode_withdrawn = msgspec.json.Decoder(dict[str, Any])


class DatabaseUnavailable(Exception):
    """No built database at the configured path (run `python -m api build`)."""


def review_filter(window: ReviewWindow, status: str | None = None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for the items the window's channel is served at
    its instant (live, and not overdue unless the channel is served overdue items), and a
    status filter."""
    live, live_params = live_at(window)
    where: list[str] = [live]
    params: list[Any] = list(live_params)
    if not window.serve_overdue:
        where.append("(next_review_due IS NULL OR next_review_due >= ?)")
        params.append(window.today)
    if status == "overdue":
        where.append("next_review_due < ?")
        params.append(window.today)
    elif status == "due":
        where.append("next_review_due BETWEEN ? AND ?")
        params += [window.today, window.due_until]
    elif status == "current":
        where.append("(next_review_due IS NULL OR next_review_due > ?)")
        params.append(window.due_until)
    return where, params


def stamp(
    doc: bytes, next_review_due: str | None, window: ReviewWindow, published: str | None = None
) -> bytes:
    """The stored JSON with today's review_status in place of the one the build wrote, and,
    in the preview channel's window, the item's `publication_status` (`published`).

    The pattern cannot occur inside a JSON string (its quotes would be escaped there), and
    no nested object carries review_status, so the first match is the item's own field.
    """
    status = window.status(next_review_due)
    if status != STORED_STATUS:
        doc = doc.replace(_STORED_STATUS, f'"review_status":"{status}"'.encode(), 1)
    if published is not None and doc.endswith(b"}"):
        # The stored JSON is one object: the field goes in before its closing brace.
        doc = doc[:-1] + b',"publication_status":"' + published.encode() + b'"}'
    return doc


@dataclass(frozen=True, slots=True)
class ListQuery:
    type: str
    locale: str
    sort: str
    descending: bool
    limit: int
    window: ReviewWindow
    links: Sequence[tuple[str, str]] = ()
    updated_since: str | None = None
    published_since: str | None = None
    review_status: str | None = None
    after: tuple[Any, str] | None = None
    #: Return the detail JSON instead of the summary (the feeds need the full body).
    detail: bool = False
    #: Where an item has no `locale` version, serve this locale's instead (issue 3).
    fallback_locale: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One item as a detail request sees it, withdrawn or not."""

    doc: bytes
    review_status: str
    withdrawn: dict[str, Any] | None
    #: Where it stands at the window's instant: a draft or a scheduled item is not to be
    #: told apart from one that does not exist; an expired one is gone.
    state: State = "live"
    #: When it expired (POSIX seconds), for an expired one.
    expired_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicPage:
    type: str
    slug: str
    locale: str
    updated_at: str
    topic: str | None


@dataclass(slots=True)
class Page:
    rows: list[bytes]
    total: int
    last_key: tuple[Any, str] | None
    has_more: bool
    locales: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One row of the revision log: an item as it is now, or its tombstone."""

    type: str
    slug: str
    locale: str
    revision: int
    deleted: bool
    detail_json: bytes | None
    #: When the channel stops being served it (POSIX seconds): expiry or review overdue.
    hide_after: float | None = None


@dataclass(slots=True)
class Store:
    db: aiosqlite.Connection
    meta: dict[str, str] = field(default_factory=dict)
    #: Set by the app from the settings; decides review_status and what each channel gets.
    review_policy: ReviewPolicy = field(default_factory=ReviewPolicy)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _vocabulary: tuple[str, fts.Vocabulary] | None = None
    #: The build's go-lives and expiries, and the served vocabulary of each span between.
    _vocabulary_bounds: tuple[float, ...] = ()
    _served_vocabularies: dict[int, fts.Vocabulary] = field(default_factory=dict)

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
                # The build may have committed since the last request: read its meta too.
                await self.refresh_meta()
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

    async def build_stats(self) -> dict[str, str]:
        """When the served content was built and how long that took (empty if unknown)."""
        try:
            async with self.db.execute("SELECT key, value FROM build_stats") as cur:
                return {k: v async for k, v in cur}
        except aiosqlite.OperationalError:  # a database built before the table existed
            return {}

    async def content_revision(self) -> str:
        """The content revision as the current read transaction sees it ("0" before a build)."""
        async with self.db.execute("SELECT value FROM meta WHERE key = 'content_revision'") as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else "0"

    async def find(self, type_: str, slug: str, locale: str, window: ReviewWindow) -> Found | None:
        """An item's detail with the window's review status, withdrawn or not, and where it
        stands at the window's instant; None if unknown."""
        async with self.db.execute(
            "SELECT detail_json, next_review_due, withdrawn, draft, live_from, live_until"
            " FROM items WHERE type = ? AND slug = ? AND locale = ? AND deleted = 0",
            (type_, slug, locale),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        doc, due, withdrawn, draft, live_from, live_until = row
        published = None
        if window.everything:
            published = publication_status(
                withdrawn, bool(draft), live_from, live_until, window.now
            )
        return Found(
            doc=stamp(bytes(doc), due, window, published),
            review_status=window.status(due),
            withdrawn=None if withdrawn is None else _decode_withdrawn.decode(withdrawn),
            state=state(bool(draft), live_from, live_until, window.now),
            expired_at=live_until,
        )

    async def served_slugs(
        self, type_: str, slugs: Sequence[str], locales: Sequence[str], window: ReviewWindow
    ) -> set[str]:
        """Which of the slugs the window's channel is served, in any of the locales."""
        if not slugs:
            return set()
        review, review_params = review_filter(window)
        async with self.db.execute(
            f"SELECT DISTINCT slug FROM items WHERE type = ?"
            f" AND locale IN ({','.join('?' * len(locales))})"
            f" AND slug IN ({','.join('?' * len(slugs))})"
            + "".join(f" AND {cond}" for cond in review),
            (type_, *locales, *slugs, *review_params),
        ) as cur:
            return {str(row[0]) async for row in cur}

    async def vocabulary(self, window: ReviewWindow | None = None) -> fts.Vocabulary:
        """The search vocabulary of the current build, loaded once per build; for a public
        window, without the words only items not served at its instant use (so that no
        correction names a word of a scheduled item), made once per transition window."""
        build = self.meta.get("content_hash", "")
        if self._vocabulary is None or self._vocabulary[0] != build:
            vocabulary = await fts.load_vocabulary(self.db, self.meta.get("synonyms", "[]"))
            self._vocabulary = (build, vocabulary)
            self._served_vocabularies = {}
            try:
                async with self.db.execute(_BOUNDS) as cur:
                    found = {bound async for row in cur for bound in row if bound is not None}
            except aiosqlite.OperationalError:  # a database built before items had bounds
                found = set()
            self._vocabulary_bounds = tuple(sorted(found))
        full = self._vocabulary[1]
        if window is None or window.everything:
            return full
        # Between two bounds the same items are served: one vocabulary per such span.
        span = bisect.bisect_right(self._vocabulary_bounds, window.now)
        served = self._served_vocabularies.get(span)
        if served is None:
            served = full.without(await fts.unserved_words(self.db, window.now))
            if len(self._served_vocabularies) >= _MAX_VOCABULARIES:
                self._served_vocabularies.clear()
            self._served_vocabularies[span] = served
        return served

    async def search(self, query: fts.SearchQuery, window: ReviewWindow) -> fts.Hits:
        """Served items that match, with today's review status, for the window's channel."""
        review, review_params = review_filter(window)
        query = dataclasses.replace(
            query,
            conditions=[*query.conditions, *review],
            condition_params=[*query.condition_params, *review_params],
        )
        found = await fts.search(self.db, query)
        published = await self._statuses([(h.type, h.slug, h.locale) for h in found.hits], window)
        hits = [
            dataclasses.replace(
                hit,
                summary_json=stamp(
                    hit.summary_json,
                    hit.next_review_due,
                    window,
                    published.get((hit.type, hit.slug, hit.locale)),
                ),
            )
            for hit in found.hits
        ]
        return fts.Hits(hits, found.total)

    async def _statuses(
        self, keys: Sequence[tuple[str, str, str]], window: ReviewWindow
    ) -> dict[tuple[str, str, str], str]:
        """The items' publication_status in the preview channel's window (empty otherwise)."""
        if not window.everything or not keys:
            return {}
        found: dict[tuple[str, str, str], str] = {}
        for type_, slug, locale in set(keys):
            async with self.db.execute(
                f"SELECT {status_sql(window)} FROM items"
                " WHERE type = ? AND slug = ? AND locale = ? AND deleted = 0",
                (type_, slug, locale),
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                found[(type_, slug, locale)] = str(row[0])
        return found

    async def changes(
        self,
        after: int,
        limit: int,
        with_tombstones: bool,
        window: ReviewWindow,
        *,
        since: float | None = None,
        locale: str | None = None,
    ) -> tuple[list[Change], list[Change]]:
        """What an offline copy must do to show what the window's channel is served at the
        window's instant, having shown it as of revision `after` at the instant `since`.

        Two lists: (1) items of a revision up to `after` that a transition in (`since`,
        now] changed (they went live, expired, fell due or overdue), all of them; (2) items
        changed after `after`, in revision order, at most limit + 1 rows. An item the
        channel is not served now (withdrawn, a draft, scheduled, expired, overdue) is a
        deletion: the copy must stop showing it.
        """
        served, served_params = review_filter(window)
        gone = f"NOT ({' AND '.join(served)})"
        head = (
            f"SELECT type, slug, locale, revision, {gone}, detail_json, next_review_due,"
            " live_until FROM items"
        )
        where_locale = " AND locale = ?" if locale is not None else ""
        locale_params = [locale] if locale is not None else []
        moved: list[Change] = []
        if since is not None and since < window.now:
            moved = await self.transitioned(since, window, up_to=after, locale=locale)
        async with self.db.execute(
            f"{head} WHERE revision > ?{where_locale} AND (NOT ({gone}) OR ?)"
            " ORDER BY revision LIMIT ?",
            (*served_params, after, *locale_params, *served_params, with_tombstones, limit + 1),
        ) as cur:
            changed = [self._change(window, row) async for row in cur]
        return moved, changed

    async def transitioned(
        self,
        since: float,
        window: ReviewWindow,
        *,
        up_to: int | None = None,
        locale: str | None = None,
    ) -> list[Change]:
        """Items a transition in (`since`, the window's instant] changed for the window's
        channel, in revision order: gone live or fallen due (upserts), expired or, for a
        channel not served overdue items, fallen overdue (deletions). `up_to` keeps items
        of that revision or older (sync sends newer ones anyway).

        This is also what an event producer needs at each transition: the items it
        published, unpublished or made due or overdue, with no build to say so.
        """
        served, served_params = review_filter(window)
        then = dt.datetime.fromtimestamp(since, dt.UTC).date()
        today = dt.date.fromisoformat(window.today)
        days = dt.timedelta(days=self.review_policy.due_days)
        where = [PUBLISHED]
        params: list[Any] = []
        if up_to is not None:
            where.append("revision <= ?")
            params.append(up_to)
        if locale is not None:
            where.append("locale = ?")
            params.append(locale)
        # The UTC days whose start lies in (since, now]: reviews that fell due on one
        # (next_review_due - due_days) or overdue (the day after next_review_due).
        where.append(
            "((live_from > ? AND live_from <= ?) OR (live_until > ? AND live_until <= ?)"
            " OR (next_review_due > ? AND next_review_due <= ?)"
            " OR (next_review_due >= ? AND next_review_due < ?))"
        )
        params += [
            since, window.now, since, window.now,
            (then + days).isoformat(), (today + days).isoformat(),
            then.isoformat(), today.isoformat(),
        ]  # fmt: skip
        async with self.db.execute(
            f"SELECT type, slug, locale, revision, NOT ({' AND '.join(served)}), detail_json,"
            f" next_review_due, live_until FROM items WHERE {' AND '.join(where)}"
            " ORDER BY revision",
            (*served_params, *params),
        ) as cur:
            return [self._change(window, row) async for row in cur]

    async def last_transition(self, window: ReviewWindow) -> float:
        """The latest transition at or before the window's instant (0 for none): an instant
        of the content, so every replica names the same one, and the same all through a
        transition window. Nothing changes between it and the window's instant."""
        days = dt.timedelta(days=self.review_policy.due_days)
        today = dt.date.fromisoformat(window.today)
        async with self.db.execute(
            f"SELECT (SELECT max(live_from) FROM items WHERE live_from <= ? AND {PUBLISHED}),"
            f" (SELECT max(live_until) FROM items WHERE live_until <= ? AND {PUBLISHED}),"
            f" (SELECT max(next_review_due) FROM items WHERE next_review_due < ? AND {PUBLISHED}),"
            f" (SELECT max(next_review_due) FROM items WHERE next_review_due <= ? AND {PUBLISHED})",
            (window.now, window.now, today.isoformat(), (today + days).isoformat()),
        ) as cur:
            row = await cur.fetchone()
        found = [0.0]
        if row is not None:
            live_from, live_until, overdue_day, due_day = row
            found += [b for b in (live_from, live_until) if b is not None]
            # A review falls overdue the day after its date, and due `due_days` before it.
            if overdue_day is not None:
                found.append(self.review_policy.instants(overdue_day)[1])
            if due_day is not None:
                found.append(self.review_policy.instants(due_day)[0])
        return max(found)

    def _change(self, window: ReviewWindow, row: Any) -> Change:
        """A row of `type, slug, locale, revision, gone, detail_json, next_review_due,
        live_until`, as the change it records."""
        type_, slug, locale, revision, gone, doc, due, live_until = row
        deleted = bool(gone) or doc is None
        hide_after = None if deleted else live_until
        if not deleted and due is not None and not window.serve_overdue:
            overdue = self.review_policy.instants(due)[1]
            hide_after = overdue if hide_after is None else min(hide_after, overdue)
        return Change(
            type=type_,
            slug=slug,
            locale=locale,
            revision=int(revision),
            deleted=deleted,
            detail_json=None if deleted else stamp(bytes(doc), due, window),
            hide_after=hide_after,
        )

    async def summaries(
        self, type_: str, slugs: Sequence[str], locale: str, window: ReviewWindow
    ) -> list[bytes]:
        """Served summaries of the given slugs, in the order given; others are skipped."""
        if not slugs:
            return []
        marks = ",".join("?" * len(slugs))
        review, review_params = review_filter(window)
        async with self.db.execute(
            f"SELECT slug, summary_json, next_review_due, {status_sql(window)} FROM items"
            f" WHERE type = ? AND locale = ? AND slug IN ({marks})"
            + "".join(f" AND {cond}" for cond in review),
            (type_, locale, *slugs, *review_params),
        ) as cur:
            found = {
                slug: stamp(bytes(doc), due, window, published)
                async for slug, doc, due, published in cur
            }
        return [found[s] for s in slugs if s in found]

    async def linked(
        self, type_: str, rel: str, target: str, locale: str, window: ReviewWindow
    ) -> list[bytes]:
        """Served summaries of a type that link to target (e.g. FAQs of a condition)."""
        review, review_params = review_filter(window)
        async with self.db.execute(
            f"SELECT summary_json, next_review_due, {status_sql(window)} FROM links l"
            " JOIN items USING (type, slug, locale) WHERE l.type = ? AND l.rel = ? AND l.target = ?"
            " AND l.locale = ?"
            + "".join(f" AND {cond}" for cond in review)
            + " ORDER BY position, slug",
            (type_, rel, target, locale, *review_params),
        ) as cur:
            return [stamp(bytes(doc), due, window, published) async for doc, due, published in cur]

    async def faq_topics(self, locale: str, window: ReviewWindow) -> list[tuple[str, int, bytes]]:
        """Each served FAQ of a locale as (topic, position, summary), topics in their order
        and questions in theirs: what the list of topics is grouped from."""
        review, review_params = review_filter(window)
        async with self.db.execute(
            f"SELECT topic, position, summary_json, next_review_due, {status_sql(window)}"
            " FROM items WHERE type = 'faq' AND locale = ?"
            + "".join(f" AND {cond}" for cond in review)
            + " ORDER BY position, slug",
            (locale, *review_params),
        ) as cur:
            return [
                (topic, int(pos), stamp(bytes(doc), due, window, published))
                async for topic, pos, doc, due, published in cur
            ]

    async def public_pages(self, window: ReviewWindow) -> list[PublicPage]:
        """Every served item, in a stable order, for the sitemap."""
        review, review_params = review_filter(window)
        async with self.db.execute(
            "SELECT type, slug, locale, updated_at, topic FROM items WHERE "
            + " AND ".join(review)
            + " ORDER BY type, locale, position, slug",
            review_params,
        ) as cur:
            return [
                PublicPage(type=type_, slug=slug, locale=locale, updated_at=updated, topic=topic)
                async for type_, slug, locale, updated, topic in cur
            ]

    async def list_page(self, q: ListQuery) -> Page:
        column = SORT_COLUMNS[q.sort]
        where = ["type = ?"]
        params: list[Any] = [q.type]
        if q.fallback_locale is None or q.fallback_locale == q.locale:
            where.append("locale = ?")
            params.append(q.locale)
        else:
            # Per item: the asked locale, or the fallback where there is no translation.
            # A translation that is not live at the instant is no translation yet.
            translated, translated_params = live_at(q.window, "t")
            where.append(
                "(locale = ? OR (locale = ? AND NOT EXISTS (SELECT 1 FROM items t"
                " WHERE t.type = items.type AND t.slug = items.slug AND t.locale = ?"
                f" AND {translated})))"
            )
            params += [q.locale, q.fallback_locale, q.locale, *translated_params]
        for rel, target in q.links:
            where.append(
                "EXISTS (SELECT 1 FROM links l WHERE l.type = items.type AND l.slug = items.slug"
                " AND l.locale = items.locale AND l.rel = ? AND l.target = ?)"
            )
            params += [rel, target]
        if q.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(q.updated_since)
        if q.published_since is not None:
            where.append("published_at >= ?")
            params.append(q.published_since)
        review, review_params = review_filter(q.window, q.review_status)
        where += review
        params += review_params
        async with self.db.execute(
            f"SELECT count(*) FROM items WHERE {' AND '.join(where)}", params
        ) as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0

        if q.after is not None:
            where.append(f"({column}, slug) {'<' if q.descending else '>'} (?, ?)")
            params += list(q.after)
        order = "DESC" if q.descending else "ASC"
        doc = "detail_json" if q.detail else "summary_json"
        async with self.db.execute(
            f"SELECT {doc}, {column}, slug, next_review_due, locale, {status_sql(q.window)}"
            " FROM items"
            f" WHERE {' AND '.join(where)} ORDER BY {column} {order}, slug {order} LIMIT ?",
            [*params, q.limit + 1],
        ) as cur:
            rows = list(await cur.fetchall())
        has_more = len(rows) > q.limit
        rows = rows[: q.limit]
        last = (rows[-1][1], rows[-1][2]) if rows and has_more else None
        docs = [stamp(bytes(r[0]), r[3], q.window, r[5]) for r in rows]
        locales = sorted({str(r[4]) for r in rows})
        return Page(docs, total, last, has_more, locales)
