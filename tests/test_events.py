"""Events made by builds, and GET /v1/events (api/events/log.py, api/controllers/events.py).

- A first build announces every item; a build changes exactly what it changed; a build
  that changes nothing, and a content database rebuilt from scratch, announce nothing.
- A build that fails records nothing: events are written in its transaction.
- The pull log pages in order with a cursor, answers 410 to a cursor of another store,
  400 to a forged one, and is never cached; any channel key may read it.
- The producer's API for changes without a build (`record_transition`) records a change
  once however many processes announce it.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from litestar.testing import TestClient

from api.app import create_app
from api.build import ContentErrors, build
from api.events import log
from api.settings import Settings
from schemas.resources import EventPage
from tests.support import build_db, build_for, client_settings
from tests.test_sync import NEW_SYMPTOM

BASE = "https://clinic.test"


def read_all(client: TestClient[Any], cursor: str | None = None, limit: int = 100) -> tuple[
    list[dict[str, Any]], str
]:  # fmt: skip
    """Follow has_more to the end; the events and the cursor to keep."""
    events: list[dict[str, Any]] = []
    for _ in range(200):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get("/v1/events", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        page = msgspec.json.decode(response.content, type=EventPage)  # the documented shape
        assert len(page.data) <= limit
        body = response.json()
        events += body["data"]
        cursor = body["meta"]["next_cursor"]
        if not body["meta"]["has_more"]:
            assert cursor is not None
            return events, cursor
    raise AssertionError("no end")


def rebuild(content: Path, db: Path) -> None:
    asyncio.run(build(content, db, base_url=BASE))


def edit_swelling(content: Path) -> None:
    swelling = content / "symptoms" / "swelling.md"
    swelling.write_text(swelling.read_text(encoding="utf-8") + "\nA new line.\n", "utf-8")


def withdraw_treatment(content: Path) -> str:
    path = next((content / "treatments").glob("*.md"))
    head, _, body = path.read_text(encoding="utf-8").partition("\n---\n")
    front = yaml.safe_load(head.removeprefix("---\n"))
    front["withdrawn"] = {"reason": "No longer offered."}
    path.write_text(
        "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body, encoding="utf-8"
    )
    return str(front["slug"])


@pytest.fixture
def live(content_copy: Path) -> tuple[Path, Path, Settings]:
    settings = client_settings(content_copy, base_url=BASE)
    build_for(settings)
    return content_copy, settings.db_path, settings


def test_builds_announce_what_changed(live: tuple[Path, Path, Settings]) -> None:
    content, db, settings = live
    with sqlite3.connect(db) as conn:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    with TestClient(create_app(settings)) as client:
        first, cursor = read_all(client, limit=7)  # pages
        assert read_all(client, limit=500)[0] == first  # the same in one page
        kinds = [e["type"] for e in first]
        assert kinds == ["item.published"] * items + ["content.changed"]
        assert len({e["id"] for e in first}) == len(first)
        changed = first[-1]["data"]
        assert changed == {
            "cause": "build", "content_revision": items, "published": items, "updated": 0,
            "unpublished": 0, "review_due": 0, "review_overdue": 0,
        }  # fmt: skip
        for event in first[:-1]:
            data = event["data"]
            # The path answers (the item is live), in the event's locale; the URL is the site's.
            answer = client.get(data["path"])
            assert answer.status_code == 200, data["path"]
            assert answer.json()["locale"] == data["locale"]
            assert answer.json()["revision"] == data["revision"]
            assert data["url"].startswith(BASE + "/")
        spanish_faq = next(
            e["data"] for e in first if e["data"]["type"] == "faq" and e["data"]["locale"] == "es"
        )
        assert spanish_faq["path"].endswith("?locale=es")
        assert f"{BASE}/es/faqs/" in spanish_faq["url"]
        assert spanish_faq["url"].endswith("#" + spanish_faq["slug"])

        # Nothing new since the cursor, and a build that changes nothing adds nothing.
        assert read_all(client, cursor) == ([], cursor)
        rebuild(content, db)
        assert read_all(client, cursor) == ([], cursor)

        # One item changed, one withdrawn, one added: exactly those, then the counts.
        edit_swelling(content)
        withdrawn = withdraw_treatment(content)
        added = content / "symptoms" / "fatigue.md"
        added.write_text(NEW_SYMPTOM, encoding="utf-8")
        rebuild(content, db)
        later, cursor = read_all(client, cursor)
        summary = [(e["type"], e["data"].get("slug"), e["data"].get("locale")) for e in later]
        assert sorted(summary[:-1]) == sorted(
            [
                ("item.updated", "swelling", "en"),
                ("item.unpublished", withdrawn, "en"),
                ("item.published", "fatigue", "en"),
            ]
        )
        assert later[-1]["type"] == "content.changed"
        counts = later[-1]["data"]
        assert (counts["published"], counts["updated"], counts["unpublished"]) == (1, 1, 1)
        gone = next(e["data"] for e in later if e["data"].get("slug") == withdrawn)
        assert client.get(gone["path"]).status_code == 410
        # Times are the build's instant, the same for all its events.
        assert len({e["timestamp"] for e in later}) == 1
        published = next(e for e in later if e["data"].get("slug") == "fatigue")

        # Removed: unpublished.
        added.unlink()
        rebuild(content, db)
        removed, cursor = read_all(client, cursor)
        assert [(e["type"], e["data"].get("slug")) for e in removed] == [
            ("item.unpublished", "fatigue"),
            ("content.changed", None),
        ]
        assert client.get(removed[0]["data"]["path"]).status_code == 404

        # Rebuilt from scratch: a new content database, the same content; no news.
        for path in db.parent.glob("clinic.db*"):
            path.unlink()
        rebuild(content, db)
        assert read_all(client, cursor) == ([], cursor)

        # Back again: published anew, with a new id (not the first publication's).
        added.write_text(NEW_SYMPTOM, encoding="utf-8")
        rebuild(content, db)
        back, _ = read_all(client, cursor)
        assert [e["type"] for e in back] == ["item.published", "content.changed"]
        assert back[0]["id"] != published["id"]


def test_a_failed_build_records_no_event(live: tuple[Path, Path, Settings]) -> None:
    content, db, _ = live
    state = db.with_name("state.db")
    count = "SELECT count(*) FROM events"
    with sqlite3.connect(state) as conn:
        before = conn.execute(count).fetchone()[0]
    # Invalid content: nothing is written at all.
    bad = content / "symptoms" / "swelling.md"
    text = bad.read_text(encoding="utf-8")
    bad.write_text(text.replace("slug: swelling", "slug: Not A Slug"), encoding="utf-8")
    with pytest.raises(ContentErrors):
        rebuild(content, db)
    bad.write_text(text + "\nChanged.\n", encoding="utf-8")
    # A build that fails at its very end, after the events were written: SQLite refuses
    # its last statement (a trigger), the transaction rolls back, events included.
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON meta"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="refused by the test"):
        rebuild(content, db)
    with sqlite3.connect(state) as conn:
        assert conn.execute(count).fetchone()[0] == before
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    rebuild(content, db)
    with sqlite3.connect(state) as conn:
        assert conn.execute(count).fetchone()[0] == before + 2  # updated, content.changed


def test_cursors(live: tuple[Path, Path, Settings], tmp_path: Path) -> None:
    _, db, settings = live
    with TestClient(create_app(settings)) as client:
        _, cursor = read_all(client)
        assert client.head("/v1/events").status_code == 200
        for forged in ("nope!", "bm90IGEgY3Vyc29y", "W10"):
            answer = client.get("/v1/events", params={"cursor": forged})
            assert answer.status_code == 400
            assert answer.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/events", params={"limit": 501}).status_code == 400
    # The state store made anew (lost, or replaced): an old cursor is refused with 410.
    for path in tmp_path.glob("state.db*"):
        path.unlink()
    rebuild(settings.content_dir, db)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/v1/events", params={"cursor": cursor})
        assert answer.status_code == 410
        assert "Read again from the start" in answer.json()["detail"]


def test_a_new_state_store_adopts_what_is_served(live: tuple[Path, Path, Settings]) -> None:
    """Upgrading a deployment (or losing the state store) does not send every item as news."""
    content, db, settings = live
    for path in db.parent.glob("state.db*"):
        path.unlink()
    edit_swelling(content)
    rebuild(content, db)
    with TestClient(create_app(settings)) as client:
        events, _ = read_all(client)
    assert [(e["type"], e["data"].get("slug")) for e in events] == [
        ("item.updated", "swelling"),
        ("content.changed", None),
    ]


def test_any_channel_key_reads_the_log(live: tuple[Path, Path, Settings]) -> None:
    *_, settings = live
    keys = (("kiosk", hashlib.sha256(b"kiosk-key").digest()),)
    with TestClient(create_app(replace(settings, api_keys=keys))) as client:
        assert client.get("/v1/events").status_code == 401
        answer = client.get("/v1/events", headers={"X-API-Key": "kiosk-key"})
        assert answer.status_code == 200
        assert answer.json()["data"]


def test_transitions_are_recorded_once(live: tuple[Path, Path, Settings]) -> None:
    """The API a change without a build calls (e.g. an item going live at its instant)."""
    _, db, settings = live
    state = db.with_name("state.db")
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT type, slug, locale, revision, content_hash, topic FROM items"
            " WHERE type = 'faq' AND locale = 'en' ORDER BY slug LIMIT 1"
        ).fetchone()
        site = conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()[0]
    links = log.site_links(site)
    kind, slug, locale, revision, content_hash, topic = row
    due = log.ItemState(kind, slug, locale, revision, content_hash, True, topic, "due")

    async def announce_twice() -> list[list[log.Recorded]]:
        # Two workers noticing the same instant at once: one records, the other finds it done.
        return list(
            await asyncio.gather(
                *(
                    log.record_transition(
                        state, [due], at=1_800_000_000.0, links=links, content_revision=revision
                    )
                    for _ in range(2)
                )
            )
        )

    first, second = sorted(asyncio.run(announce_twice()), key=len, reverse=True)
    assert [r.type for r in first] == ["review.due", "content.changed"]
    assert second == []
    gone = log.ItemState(kind, slug, locale, revision, content_hash, False, topic)
    recorded = asyncio.run(
        log.record_transition(state, [gone], at=1_800_000_100.0, links=links, content_revision=1)
    )
    assert [r.type for r in recorded] == ["item.unpublished", "content.changed"]
    with TestClient(create_app(settings)) as client:
        events, _ = read_all(client)
    review = next(e for e in events if e["type"] == "review.due")
    assert review["timestamp"] == "2027-01-15T08:00:00.000Z"
    assert review["data"]["review_status"] == "due"
    assert review["data"]["url"] == f"{BASE}/faqs/{topic}#{slug}"
    assert events[-1]["data"]["cause"] == "transition"
    assert events[-1]["data"]["unpublished"] == 1


def test_the_test_corpus_builds_alone(tmp_path: Path) -> None:
    """build() without a state path keeps its state store beside the database."""
    db = build_db(Path(__file__).parents[1] / "content", tmp_path / "x" / "clinic.db")
    assert (db.parent / "state.db").is_file()


def test_a_build_announces_only_what_is_live_at_its_instant(
    live: tuple[Path, Path, Settings],
) -> None:
    """A draft, an item scheduled for later and an expired one are not published by a
    build; an item made a draft, or given an expiry already past, is unpublished."""
    content, db, settings = live
    added = content / "symptoms" / "fatigue.md"

    def with_front(extra: str) -> str:
        return NEW_SYMPTOM.replace("locale: en\n", f"locale: en\n{extra}\n", 1)

    with TestClient(create_app(settings)) as client:
        _, cursor = read_all(client)
        for extra in (
            "draft: true",
            "published_at: 2099-01-01T09:00:00Z",
            "published_at: 2020-01-01T09:00:00Z\nexpires_at: 2021-01-01T09:00:00Z",
        ):
            added.write_text(with_front(extra), encoding="utf-8")
            rebuild(content, db)
            events, cursor = read_all(client, cursor)
            assert [
                e["data"].get("slug") for e in events if e["type"] != "content.changed"
            ] == [], extra
        added.write_text(NEW_SYMPTOM, encoding="utf-8")
        rebuild(content, db)
        events, cursor = read_all(client, cursor)
        assert [(e["type"], e["data"].get("slug")) for e in events] == [
            ("item.published", "fatigue"),
            ("content.changed", None),
        ]
        added.write_text(with_front("draft: true"), encoding="utf-8")
        rebuild(content, db)
        events, cursor = read_all(client, cursor)
        assert [(e["type"], e["data"].get("slug")) for e in events] == [
            ("item.unpublished", "fatigue"),
            ("content.changed", None),
        ]
