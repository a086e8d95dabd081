"""Read-only queries over the built database. Returns stored JSON bytes; never speaks HTTP."""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiosqlite
import msgspec

from api.review import STORED_STATUS, ReviewPolicy, ReviewWindow
from api.storage import inline
from api.storage import reads as noted
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

#: Read connections the server keeps open at most, each with aiosqlite's thread. An answer
#: not prepared yet holds one for its read transaction; with several, such answers do not
#: wait for each other (WAL lets readers run side by side, and sqlite3 lets go of the GIL
#: while a statement runs). Opened as they are needed: a store that answers one request
#: at a time keeps one.
READERS = 4
#: SQLite's page cache of each read connection, in KiB (2 MiB by default, less than the
#: pages a list or a search of a thousand articles reads again and again; pages are kept
#: only once read).
CACHE_KIB = 16 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The read transaction a request's queries run in: its connection and the meta it read."""

    store: Store
    db: aiosqlite.Connection
    meta: dict[str, str]


#: The snapshot of the running task (and of the tasks it starts), if any.
_snapshot: contextvars.ContextVar[_Snapshot | None] = contextvars.ContextVar(
    "clinic_snapshot", default=None
)


#: The content revision the running request's answer was read from: a holder set for each
#: request (`read_from`), filled by each snapshot it reads in.
_read_from: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "clinic_read_from", default=None
)


def read_from() -> None:
    """Begin a request: from here the revision its snapshots read is noted for it alone,
    in place of any earlier request's run in the same task."""
    _read_from.set([])


def revision_read() -> str | None:
    """The content revision the running request read from, if it read one."""
    holder = _read_from.get()
    return holder[0] if holder else None


def _pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    return {k: v for k, v in rows}


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
    #: Where an item has no `locale` version, serve this locale's instead.
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


class _NotedMeta(Mapping[str, str]):
    """The meta, as an answer being made reads it: each key it looks up is noted."""

    __slots__ = ("_meta",)

    def __init__(self, meta: dict[str, str]) -> None:
        self._meta = meta

    def __getitem__(self, key: str) -> str:
        noted.note(noted.meta_read(key))
        return self._meta[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            noted.note(noted.meta_read(key))
        return key in self._meta

    def __iter__(self) -> Iterator[str]:
        noted.note(noted.EVERYTHING)
        return iter(self._meta)

    def __len__(self) -> int:
        noted.note(noted.EVERYTHING)
        return len(self._meta)


async def _inline_begin(db: aiosqlite.Connection) -> tuple[Any, Any]:
    """`BEGIN` and the meta on an inline connection, as `snapshot` reads them with gather."""
    await db.execute("BEGIN")
    try:
        return None, await db.execute_fetchall("SELECT key, value FROM meta")
    except aiosqlite.OperationalError as exc:  # sqlite3's own
        return None, exc


async def _connect(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    await db.execute("PRAGMA query_only = 1")
    await db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return db


@dataclass(slots=True)
class Store:
    """The content database, read through aiosqlite.

    Each `await` of a statement is a round trip to the connection's thread and back
    through the event loop, which under load comes back to it only after a whole turn of
    other requests. So every statement is one `execute_fetchall` (not execute, fetch and
    close), statements that do not depend on each other are queued together (a connection
    runs its queue in order, and the answers come back in one turn), and a request holds
    one of a few connections (`READERS`), not the only one.
    """

    path: Path
    #: Every read connection opened, the first one also for reads outside a snapshot.
    readers: list[aiosqlite.Connection]
    #: Set by the app from the settings; decides review_status and what each channel gets.
    review_policy: ReviewPolicy = field(default_factory=ReviewPolicy)
    _meta: dict[str, str] = field(default_factory=dict)
    _idle: asyncio.Queue[aiosqlite.Connection] = field(default_factory=asyncio.Queue)
    _opening: int = 0
    _releasing: set[asyncio.Task[None]] = field(default_factory=set)
    _vocabulary: tuple[str, fts.Vocabulary] | None = None
    #: The build's go-lives and expiries, and the served vocabulary of each span between.
    _vocabulary_bounds: tuple[float, ...] = ()
    _served_vocabularies: dict[int, fts.Vocabulary] = field(default_factory=dict)

    @classmethod
    async def open(cls, path: Path) -> Store:
        if not path.is_file():
            raise DatabaseUnavailable(str(path))
        db = await _connect(path)
        store = cls(path, [db])
        store._idle.put_nowait(db)
        await store.refresh_meta()
        return store

    async def settle(self) -> None:
        """Wait until every read transaction that ended has given its connection back."""
        while self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        for db in self.readers:
            await db.close()

    def _current(self) -> _Snapshot | None:
        current = _snapshot.get()
        return current if current is not None and current.store is self else None

    @property
    def db(self) -> aiosqlite.Connection:
        """The connection of the running request's snapshot, else the first one. What is
        read through it is noted as a read of everything (api/storage/reads.py)."""
        noted.note(noted.EVERYTHING)
        return self._reader

    @property
    def _reader(self) -> aiosqlite.Connection:
        """`db`, for the methods that note their reads themselves."""
        current = self._current()
        return current.db if current is not None else self.readers[0]

    @property
    def meta(self) -> Mapping[str, str]:
        """The meta table as the running request's snapshot read it, else as last read;
        while an answer is made, each key looked up is noted (api/storage/reads.py)."""
        current = self._current()
        meta = current.meta if current is not None else self._meta
        return _NotedMeta(meta) if noted.noting() else meta

    async def _acquire(self) -> aiosqlite.Connection:
        try:
            return self._idle.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if len(self.readers) + self._opening < READERS:
            self._opening += 1
            try:
                db = await _connect(self.path)
            finally:
                self._opening -= 1
            self.readers.append(db)
            return db
        return await self._idle.get()

    def _release(self, db: aiosqlite.Connection) -> None:
        """End the read transaction and give the connection back, without keeping the
        answer waiting for it: the COMMIT runs after whatever the connection was asked
        before (its queue is in order), so the next request finds it out of any
        transaction."""

        async def release() -> None:
            try:
                await db.commit()
            except Exception:  # a read transaction has nothing to lose; keep serving
                log.exception("ending a read transaction failed")
            self._idle.put_nowait(db)

        task = asyncio.get_running_loop().create_task(release())
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Store]:
        """Run a request's queries in one read transaction, so they all see one build.

        A build commits while the server reads (WAL); without this, a list's count and its
        page could come from two different builds. The meta is read in it too (the build
        may have committed since the last request), and is the request's own: another
        request's snapshot, newer or older, does not change what this one sees.
        """
        if self._current() is not None:  # already in one: the same transaction
            yield self
            return
        reading_inline = inline.current()
        if reading_inline is not None:
            # An answer made in the background reads in this thread (api/storage/inline.py),
            # through the same part of aiosqlite's interface.
            db = cast(aiosqlite.Connection, reading_inline)
        else:
            db = await self._acquire()
        token = None
        try:
            if reading_inline is None:
                # BEGIN and the meta queued together: one wait for the connection's thread.
                begun, rows = await asyncio.gather(
                    db.execute("BEGIN"),
                    db.execute_fetchall("SELECT key, value FROM meta"),
                    return_exceptions=True,
                )
            else:
                begun, rows = await _inline_begin(db)
            if isinstance(begun, BaseException):
                raise begun
            if isinstance(rows, aiosqlite.OperationalError):
                meta: dict[str, str] = {}  # opened before the first build finished
            elif isinstance(rows, BaseException):
                raise rows
            else:
                meta = _pairs(rows)
            self._meta = meta
            holder = _read_from.get()
            if holder is not None:
                holder[:] = [str(meta.get("content_revision", "0"))]
            token = _snapshot.set(_Snapshot(self, db, meta))
            yield self
        finally:
            if token is not None:
                _snapshot.reset(token)
            if reading_inline is not None:
                await reading_inline.commit()  # at once: nothing else runs meanwhile
            else:
                self._release(db)

    async def refresh_meta(self) -> dict[str, str]:
        """The meta table as the current read transaction sees it."""
        noted.note(noted.EVERYTHING)  # all of it
        current = self._current()
        if current is not None:  # read when the transaction began, and it cannot change
            return current.meta
        try:
            meta = _pairs(await self.db.execute_fetchall("SELECT key, value FROM meta"))
        except aiosqlite.OperationalError:  # opened before the first build finished
            meta = {}
        self._meta = meta
        return meta

    async def build_stats(self) -> dict[str, str]:
        """When the served content was built and how long that took (empty if unknown)."""
        try:
            rows = await self.db.execute_fetchall("SELECT key, value FROM build_stats")
            return _pairs(rows)
        except aiosqlite.OperationalError:  # a database built before the table existed
            return {}

    async def content_revision(self) -> str:
        """The content revision as the current read transaction sees it ("0" before a build).

        Not noted as a read: answers give it in their `X-Content-Revision` header only,
        which an answer kept for a later build is given with that build's (api/http/prepared.py).
        """
        current = self._current()
        if current is not None:  # read with the meta, in the same transaction
            return str(current.meta.get("content_revision", "0"))
        row = await self._one("SELECT value FROM meta WHERE key = 'content_revision'")
        return str(row[0]) if row else "0"

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first row; the caller notes what it read."""
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def find(self, type_: str, slug: str, locale: str, window: ReviewWindow) -> Found | None:
        """An item's detail with the window's review status, withdrawn or not, and where it
        stands at the window's instant; None if unknown."""
        noted.note(noted.item_read(type_, slug))
        row = await self._one(
            "SELECT detail_json, next_review_due, withdrawn, draft, live_from, live_until"
            " FROM items WHERE type = ? AND slug = ? AND locale = ? AND deleted = 0",
            (type_, slug, locale),
        )
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
        noted.note(*(noted.item_read(type_, slug) for slug in slugs))
        review, review_params = review_filter(window)
        rows = await self._reader.execute_fetchall(
            f"SELECT DISTINCT slug FROM items WHERE type = ?"
            f" AND locale IN ({','.join('?' * len(locales))})"
            f" AND slug IN ({','.join('?' * len(slugs))})"
            + "".join(f" AND {cond}" for cond in review),
            (type_, *locales, *slugs, *review_params),
        )
        return {str(row[0]) for row in rows}

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
                rows = await self.db.execute_fetchall(_BOUNDS)
                found = {bound for row in rows for bound in row if bound is not None}
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
        wanted = list(set(keys))
        # Every item's statement queued at once: one wait for the connection's thread.
        rows = await inline.together(
            *(
                self._one(
                    f"SELECT {status_sql(window)} FROM items"
                    " WHERE type = ? AND slug = ? AND locale = ? AND deleted = 0",
                    key,
                )
                for key in wanted
            )
        )
        return {key: str(row[0]) for key, row in zip(wanted, rows, strict=True) if row is not None}

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
        newer = self.db.execute_fetchall(
            f"{head} WHERE revision > ?{where_locale} AND (NOT ({gone}) OR ?)"
            " ORDER BY revision LIMIT ?",
            (*served_params, after, *locale_params, *served_params, with_tombstones, limit + 1),
        )
        moved: list[Change] = []
        if since is not None and since < window.now:
            # Both statements queued together: one wait for the connection's thread.
            moved, rows = await inline.together(
                self.transitioned(since, window, up_to=after, locale=locale), newer
            )
        else:
            rows = await newer
        return moved, [self._change(window, row) for row in rows]

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
        rows = await self.db.execute_fetchall(
            f"SELECT type, slug, locale, revision, NOT ({' AND '.join(served)}), detail_json,"
            f" next_review_due, live_until FROM items WHERE {' AND '.join(where)}"
            " ORDER BY revision",
            (*served_params, *params),
        )
        return [self._change(window, row) for row in rows]

    async def last_transition(self, window: ReviewWindow) -> float:
        """The latest transition at or before the window's instant (0 for none): an instant
        of the content, so every replica names the same one, and the same all through a
        transition window. Nothing changes between it and the window's instant."""
        days = dt.timedelta(days=self.review_policy.due_days)
        today = dt.date.fromisoformat(window.today)
        row = await self._one(
            f"SELECT (SELECT max(live_from) FROM items WHERE live_from <= ? AND {PUBLISHED}),"
            f" (SELECT max(live_until) FROM items WHERE live_until <= ? AND {PUBLISHED}),"
            f" (SELECT max(next_review_due) FROM items WHERE next_review_due < ? AND {PUBLISHED}),"
            f" (SELECT max(next_review_due) FROM items WHERE next_review_due <= ? AND {PUBLISHED})",
            (window.now, window.now, today.isoformat(), (today + days).isoformat()),
        )
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
        noted.note(*(noted.item_read(type_, slug) for slug in slugs))
        marks = ",".join("?" * len(slugs))
        review, review_params = review_filter(window)
        rows = await self._reader.execute_fetchall(
            f"SELECT slug, summary_json, next_review_due, {status_sql(window)} FROM items"
            f" WHERE type = ? AND locale = ? AND slug IN ({marks})"
            + "".join(f" AND {cond}" for cond in review),
            (type_, locale, *slugs, *review_params),
        )
        found = {
            slug: stamp(bytes(doc), due, window, published) for slug, doc, due, published in rows
        }
        return [found[s] for s in slugs if s in found]

    async def linked(
        self, type_: str, rel: str, target: str, locale: str, window: ReviewWindow
    ) -> list[bytes]:
        """Served summaries of a type that link to target (e.g. FAQs of a condition)."""
        noted.note(noted.type_read(type_))
        review, review_params = review_filter(window)
        rows = await self._reader.execute_fetchall(
            f"SELECT summary_json, next_review_due, {status_sql(window)} FROM links l"
            " JOIN items USING (type, slug, locale) WHERE l.type = ? AND l.rel = ? AND l.target = ?"
            " AND l.locale = ?"
            + "".join(f" AND {cond}" for cond in review)
            + " ORDER BY position, slug",
            (type_, rel, target, locale, *review_params),
        )
        return [stamp(bytes(doc), due, window, published) for doc, due, published in rows]

    async def faq_topics(self, locale: str, window: ReviewWindow) -> list[tuple[str, int, bytes]]:
        """Each served FAQ of a locale as (topic, position, summary), topics in their order
        and questions in theirs: what the list of topics is grouped from."""
        noted.note(noted.type_read("faq"))
        review, review_params = review_filter(window)
        rows = await self._reader.execute_fetchall(
            f"SELECT topic, position, summary_json, next_review_due, {status_sql(window)}"
            " FROM items WHERE type = 'faq' AND locale = ?"
            + "".join(f" AND {cond}" for cond in review)
            + " ORDER BY position, slug",
            (locale, *review_params),
        )
        return [
            (topic, int(pos), stamp(bytes(doc), due, window, published))
            for topic, pos, doc, due, published in rows
        ]

    async def public_pages(self, window: ReviewWindow) -> list[PublicPage]:
        """Every served item, in a stable order, for the sitemap."""
        review, review_params = review_filter(window)
        rows = await self.db.execute_fetchall(
            "SELECT type, slug, locale, updated_at, topic FROM items WHERE "
            + " AND ".join(review)
            + " ORDER BY type, locale, position, slug",
            review_params,
        )
        return [
            PublicPage(type=type_, slug=slug, locale=locale, updated_at=updated, topic=topic)
            for type_, slug, locale, updated, topic in rows
        ]

    async def list_page(self, q: ListQuery) -> Page:
        noted.note(noted.type_read(q.type))
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
            # The items a relation names, from the links' own index (a tag names a few
            # dozen of a thousand articles), rather than a look in the links for every item.
            where.append(
                "(type, slug, locale) IN (SELECT type, slug, locale FROM links"
                " WHERE type = ? AND rel = ? AND target = ?)"
            )
            params += [q.type, rel, target]
        if q.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(q.updated_since)
        if q.published_since is not None:
            where.append("published_at >= ?")
            params.append(q.published_since)
        review, review_params = review_filter(q.window, q.review_status)
        where += review
        params += review_params
        count = self._reader.execute_fetchall(
            f"SELECT count(*) FROM items WHERE {' AND '.join(where)}", list(params)
        )
        if q.after is not None:
            where.append(f"({column}, slug) {'<' if q.descending else '>'} (?, ?)")
            params += list(q.after)
        order = "DESC" if q.descending else "ASC"
        doc = "detail_json" if q.detail else "summary_json"
        # The page's items are chosen first, from the index of the order alone (it holds
        # every column they are chosen on, api/storage/schema.sql), and only they are read
        # from the table: SQLite reads a row of this table for every index entry it tests,
        # however few pass (a tag's articles, among all the others in the order).
        page = self._reader.execute_fetchall(
            f"SELECT i.{doc}, i.{column}, i.slug, i.next_review_due, i.locale,"
            f" {status_sql(q.window, 'i')} FROM (SELECT type, slug, locale FROM items"
            f" WHERE {' AND '.join(where)} ORDER BY {column} {order}, slug {order} LIMIT ?) AS k"
            " JOIN items i ON i.type = k.type AND i.slug = k.slug AND i.locale = k.locale"
            f" ORDER BY i.{column} {order}, i.slug {order}",
            [*params, q.limit + 1],
        )
        # The count and the page queued together: one wait for the connection's thread.
        counted, found = await inline.together(count, page)
        total = int(next(iter(counted))[0])
        rows = list(found)
        has_more = len(rows) > q.limit
        rows = rows[: q.limit]
        last = (rows[-1][1], rows[-1][2]) if rows and has_more else None
        docs = [stamp(bytes(r[0]), r[3], q.window, r[5]) for r in rows]
        locales = sorted({str(r[4]) for r in rows})
        return Page(docs, total, last, has_more, locales)
