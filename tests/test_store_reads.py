"""What an answer not prepared yet costs, after a build or a transition: its queries.

The store reads through aiosqlite, where every awaited statement is a round trip to the
connection's thread and back through the event loop, which under load comes back only
after a whole turn of other requests. So what is checked here is how many of those waits
an answer takes, that answers not prepared yet do not wait for each other, and the
statements themselves (a search on an index that holds every column it needs, a list
filtered by a relation from the links that name it), with SQLite's own query plans. The
figures under load are bench/after_change.py's (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite
import aiosqlite.core
import pytest

from api.review import ReviewPolicy
from api.storage import search as fts
from api.storage.reader import ListQuery, Store

Statements = list[tuple[str, tuple[Any, ...]]]


class Waits:
    """Every statement the store sent to a connection's thread, and how many times the
    request had to wait for that thread: statements queued together while others are
    still in flight are one wait."""

    def __init__(self) -> None:
        self.statements: Statements = []
        self.in_flight = 0
        self.waits = 0

    def counting(self, original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def execute(conn: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
            if args and isinstance(args[0], str):
                self.statements.append((args[0], tuple(args[1]) if len(args) > 1 else ()))
            if self.in_flight == 0:
                self.waits += 1
            self.in_flight += 1
            try:
                return await original(conn, fn, *args, **kw)
            finally:
                self.in_flight -= 1

        return execute


def _run(
    db: Path, work: Callable[[Store], Awaitable[Any]], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Waits]:
    """Run `work(store)` in a snapshot of a store opened on `db`: what it returned, and the
    waits from the snapshot's start to the end of the work (the transaction's end is not
    waited for)."""
    waits = Waits()

    async def main() -> tuple[Any, int]:
        store = await Store.open(db)
        try:
            async with store.snapshot():
                await store.vocabulary()  # read once per build, not per answer
            await store.settle()
            # aiosqlite's one way in to its thread: every statement, fetch and close.
            monkeypatch.setattr(
                aiosqlite.core.Connection, "_execute", waits.counting(
                    aiosqlite.core.Connection._execute
                ),
            )  # fmt: skip
            async with store.snapshot():
                result = await work(store)
                return result, waits.waits
        finally:
            monkeypatch.undo()
            await store.close()

    result, waits.waits = asyncio.run(main())
    return result, waits


def _plan(db: Path, sql: str, params: Iterable[Any]) -> str:
    conn = sqlite3.connect(db)
    try:
        return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    finally:
        conn.close()


async def _search(store: Store, text: str) -> fts.Hits:
    window = ReviewPolicy().window("website")
    terms = fts.analyse(text, await store.vocabulary())
    return await store.search(fts.SearchQuery(terms, "en", "en", 5), window)


async def _list(store: Store, links: list[tuple[str, str]] | None = None) -> Any:
    window = ReviewPolicy().window("website")
    query = ListQuery("article", "en", "published_at", True, 20, window, links or [])
    page = await store.list_page(query)
    return page, await store.content_revision()


def test_a_list_answer_waits_for_the_database_thread_twice(
    built_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN with the meta, then the count with the page; the revision is the meta's."""
    (page, revision), waits = _run(built_db, _list, monkeypatch)
    assert page.rows
    assert int(revision) > 0
    assert waits.waits == 2, waits.statements


def test_a_search_answer_waits_for_the_database_thread_three_times(
    built_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN with the meta, the count with the choice of the page, the page's snippets."""
    hits, waits = _run(built_db, lambda store: _search(store, "pain"), monkeypatch)
    assert len(hits.hits) == 5
    assert waits.waits == 3, waits.statements


def test_answers_not_prepared_do_not_wait_for_each_other(built_db: Path) -> None:
    """A request's snapshot does not hold the store: another one opens and answers while
    the first is still open."""

    async def main() -> None:
        store = await Store.open(built_db)
        try:
            async with store.snapshot():
                first = await store.content_revision()

                async def other() -> str:
                    async with store.snapshot():
                        return await store.content_revision()

                # Another request: a task of its own, outside this one's snapshot.
                another = asyncio.create_task(other(), context=contextvars.Context())
                assert await asyncio.wait_for(another, timeout=5) == first
        finally:
            await store.close()

    asyncio.run(main())


def test_each_snapshot_sees_its_own_build(built_db: Path, tmp_path: Path) -> None:
    """A request that began before a build committed keeps the meta and revision of its
    own read transaction while a newer one sees the build's."""
    db = tmp_path / "clinic.db"
    shutil.copy(built_db, db)
    for suffix in ("-wal", "-shm"):
        if Path(f"{built_db}{suffix}").exists():
            shutil.copy(f"{built_db}{suffix}", f"{db}{suffix}")

    async def main() -> None:
        store = await Store.open(db)
        try:
            async with store.snapshot():
                old = await store.content_revision()
                old_meta = dict(store.meta)
                writer = sqlite3.connect(db)
                with writer:
                    writer.execute(
                        "UPDATE meta SET value = ? WHERE key = 'content_revision'",
                        (str(int(old) + 1),),
                    )
                writer.close()

                async def newer() -> tuple[str, str]:
                    async with store.snapshot():
                        return await store.content_revision(), store.meta["content_revision"]

                another = asyncio.create_task(newer(), context=contextvars.Context())
                assert await asyncio.wait_for(another, timeout=5) == (str(int(old) + 1),) * 2
                # Still the build this request began with.
                assert await store.content_revision() == old
                assert store.meta == old_meta
            async with store.snapshot():
                assert await store.content_revision() == str(int(old) + 1)
        finally:
            await store.close()

    asyncio.run(main())


def test_a_search_filters_and_pages_its_hits_on_the_covering_index(
    built_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits, waits = _run(built_db, lambda store: _search(store, "pain"), monkeypatch)
    assert hits.total > 5
    assert len(hits.hits) == 5
    ranked = [(sql, p) for sql, p in waits.statements if "MATCH" in sql and "snippet(" not in sql]
    assert len(ranked) == 2  # the count, and the choice of the page
    for sql, params in ranked:
        plan = _plan(built_db, sql, params)
        assert "USING COVERING INDEX items_by_revision_ranked" in plan, plan
    # Summaries and snippets are read for the page's rows only.
    (page,) = [(sql, p) for sql, p in waits.statements if "snippet(" in sql]
    assert len(page[1]) == 1 + len(hits.hits)


def test_a_search_answers_the_same_without_the_covering_index(
    built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database built before the index existed (until its next build)."""
    older = tmp_path / "older.db"
    shutil.copy(built_db, older)
    conn = sqlite3.connect(older)
    conn.execute("DROP INDEX items_by_revision_ranked")
    conn.commit()
    conn.close()
    for text in ("pain", "swelling ketamine", "infusio"):
        with_index, _ = _run(built_db, lambda store, t=text: _search(store, t), monkeypatch)
        without, _ = _run(older, lambda store, t=text: _search(store, t), monkeypatch)
        assert without == with_index, text


def _as_built_by_schema_5(db: Path) -> None:
    """Make `db` what schema version 5 left: the search table held the title's word count,
    items held nothing of the ranking, and the covering index was the narrower one."""
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TEMP TABLE kept AS SELECT rowid AS r, title, keywords, summary, body FROM search;
        DROP TABLE search;
        CREATE VIRTUAL TABLE search USING fts5(title, keywords, summary, body,
            title_words UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2');
        INSERT INTO search (rowid, title, keywords, summary, body, title_words)
            SELECT k.r, k.title, k.keywords, k.summary, k.body, i.title_words
            FROM kept k JOIN items i ON i.revision = k.r;
        DROP INDEX items_by_revision_ranked;
        CREATE INDEX items_by_revision_served ON items (revision, type, slug, locale, deleted,
            draft, withdrawn, live_from, live_until, next_review_due, topic);
        ALTER TABLE items DROP COLUMN title_words;
        ALTER TABLE items DROP COLUMN title_length;
        UPDATE meta SET value = '5' WHERE key = 'schema_version';
        """
    )
    conn.commit()
    conn.close()


def test_a_database_built_by_the_previous_schema_is_searched_the_same_then_upgraded_in_place(
    built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before its next build a database of schema 5 is searched from what it has; that build
    gives items what search ranks on without a new revision for any (sync sends nothing)."""
    from api.build import build
    from tests.support import copy_content

    content = copy_content(tmp_path)
    older = tmp_path / "older.db"
    asyncio.run(build(content, older))
    with sqlite3.connect(older) as conn:
        before = conn.execute(
            "SELECT type, slug, locale, revision, title_words, title_length FROM items"
            " ORDER BY 1, 2, 3"
        ).fetchall()
    conn.close()
    assert any(words > 1 for *_, words, _ in before)
    assert all(n > 0 for *_, n in before)
    _as_built_by_schema_5(older)
    texts = ("pain", "swelling ketamine", "infusio", "what is crps")
    expected = {t: _run(built_db, lambda st, t=t: _search(st, t), monkeypatch)[0] for t in texts}
    for text in texts:
        found, _ = _run(older, lambda store, t=text: _search(store, t), monkeypatch)
        assert found == expected[text], text

    result = asyncio.run(build(content, older))
    assert (result.write.created, result.write.updated, result.write.deleted) == (0, 0, 0)
    with sqlite3.connect(older) as conn:
        after = conn.execute(
            "SELECT type, slug, locale, revision, title_words, title_length FROM items"
            " ORDER BY 1, 2, 3"
        ).fetchall()
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert after == before  # the same revisions, and the same ranking as a fresh build's
    assert "items_by_revision_ranked" in indexes
    assert "items_by_revision_served" not in indexes
    for text in texts:
        found, waits = _run(older, lambda store, t=text: _search(store, t), monkeypatch)
        assert found == expected[text], text
        ranked = [sql for sql, _ in waits.statements if "MATCH" in sql and "snippet(" not in sql]
        assert len(ranked) == 2, ranked  # no statement failed: the first way is the one
        assert all(f"INDEXED BY {fts.SERVED_INDEX}" in sql for sql in ranked)


@pytest.mark.parametrize(
    ("sort", "index"),
    [("published_at", "published"), ("updated_at", "updated"), ("title", "title"),
     ("order", "position")],
)  # fmt: skip
@pytest.mark.parametrize("tagged", [False, True])
def test_a_list_page_is_chosen_from_the_index_of_its_order_alone(
    built_db: Path, sort: str, index: str, tagged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every item the order passes is tested on the index; only the page's are read from
    the table (a row of it is read for each entry tested otherwise, JSON and all)."""
    window = ReviewPolicy().window("website")
    links = [("tag", "ketamine")] if tagged else []
    query = ListQuery("article", "en", sort, False, 1, window, links, published_since="2000-01-01")
    page, waits = _run(built_db, lambda store: store.list_page(query), monkeypatch)
    (statement,) = [(s, p) for s, p in waits.statements if "ORDER BY" in s]
    plan = _plan(built_db, *statement)
    assert f"USING COVERING INDEX items_sorted_by_{index}" in plan, plan
    assert "SCAN items" not in plan, plan
    # Then the page's items, each by its key.
    assert "SEARCH i USING PRIMARY KEY (type=? AND slug=? AND locale=?)" in plan, plan
    assert page.total > len(page.rows) == 1
    assert page.has_more


@pytest.mark.parametrize("rel", ["condition", "tag"])
def test_a_list_filtered_by_a_relation_starts_from_its_links(
    built_db: Path, rel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = {"condition": "crps", "tag": "ketamine"}[rel]
    (page, _), waits = _run(built_db, lambda store: _list(store, [(rel, target)]), monkeypatch)
    (count,) = [(s, p) for s, p in waits.statements if s.startswith("SELECT count(*) FROM items")]
    plan = _plan(built_db, *count)
    # Not a look in the links for every article: the links' index names the few it has.
    assert "CORRELATED" not in plan, plan
    assert "links_by_target" in plan, plan
    assert page.total >= len(page.rows) > 0
