"""What the store notes an answer read (api/storage/reads.py), and what a build changed
(api/http/revision.py): the two halves of deciding that an answer is the same after a
build. End to end, against servers, in tests/test_ahead.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api.http.revision import RevisionWatch
from api.review import ReviewPolicy
from api.storage.reader import ListQuery, Store
from api.storage.reads import (
    EVERYTHING,
    changed_by,
    item_read,
    meta_read,
    recording,
    type_read,
    unchanged,
)
from tests.support import build_db, copy_content


def _reads(built_db: Path, read: object) -> set[str]:
    async def main() -> set[str]:
        store = await Store.open(built_db)
        try:
            with recording() as reads:
                async with store.snapshot():
                    await read(store)  # type: ignore[operator]
            return reads
        finally:
            await store.close()

    return asyncio.run(main())


WINDOW = ReviewPolicy().window(None)


def test_a_detail_reads_its_item_and_a_list_its_type(built_db: Path) -> None:
    async def detail(store: Store) -> None:
        await store.find("symptom", "swelling", "en", WINDOW)
        await store.summaries("treatment", ["ketamine-infusion"], "en", WINDOW)

    assert _reads(built_db, detail) == {
        item_read("symptom", "swelling"),
        item_read("treatment", "ketamine-infusion"),
    }

    async def listing(store: Store) -> None:
        await store.list_page(ListQuery("article", "en", "published_at", True, 10, WINDOW))

    assert _reads(built_db, listing) == {type_read("article")}


def test_a_meta_key_is_read_alone_and_any_other_query_reads_everything(built_db: Path) -> None:
    async def site(store: Store) -> None:
        assert "site" in store.meta
        store.meta.get("default_locale")

    assert _reads(built_db, site) == {meta_read("site"), meta_read("default_locale")}

    async def vocabulary(store: Store) -> None:
        await store.vocabulary(WINDOW)  # what search corrects words with
        await store.vocabulary(WINDOW)  # kept, and still noted

    assert EVERYTHING in _reads(built_db, vocabulary)

    async def raw(store: Store) -> None:
        await store.db.execute_fetchall("SELECT 1")

    assert _reads(built_db, raw) == {EVERYTHING}


def test_an_answer_is_unchanged_only_if_the_build_touched_nothing_it_read() -> None:
    changed = changed_by([("symptom", "swelling")], ["content_revision"])
    assert unchanged((item_read("article", "a"), type_read("faq")), changed)
    assert not unchanged((item_read("symptom", "swelling"),), changed)
    assert not unchanged((type_read("symptom"),), changed)  # its lists
    assert not unchanged((meta_read("content_revision"),), changed)
    assert not unchanged((EVERYTHING,), changed)
    assert not unchanged(None, changed)  # not known


def test_a_build_lists_the_items_and_meta_keys_it_changed(tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    db = build_db(content, tmp_path / "clinic.db")
    watch = RevisionWatch(db)
    first = watch.current()
    assert first is not None
    assert first.changes is None  # nothing read before it
    symptom = content / "symptoms" / "swelling.md"
    symptom.write_text(symptom.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
    build_db(content, db)
    second = watch.current()
    assert second is not None
    assert second.changes is not None
    before, changed = second.changes
    assert before == first.fingerprint
    assert item_read("symptom", "swelling") in changed
    assert type_read("symptom") in changed
    assert item_read("symptom", "burning-pain") not in changed
    assert type_read("article") not in changed
    assert meta_read("content_revision") in changed
    assert meta_read("site") not in changed
    watch.close()


def test_every_answer_read_from_the_content_names_its_revision(client: Any) -> None:
    # As the document says of every 200 under /v1/ but the event log's.
    revision = client.get("/v1/site").headers["x-content-revision"]
    for path in (
        "/v1/articles",
        "/v1/articles/ketamine-for-crps",
        "/v1/faq-topics",
        "/v1/faq-topics/about-crps",
        "/v1/search?q=ketamine",
        "/v1/sitemap",
        "/v1/sitemap.xml",
        "/v1/feeds/articles.atom",
        "/v1/feeds/articles.rss",
        "/v1/feeds/articles.json",
        "/v1/sync",
        "/v1/sync?channel=kiosk&locale=es",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers.get("x-content-revision") == revision, path
    assert "x-content-revision" not in client.get("/v1/events").headers
    assert "x-content-revision" not in client.get("/v1/articles/no-such-article").headers
