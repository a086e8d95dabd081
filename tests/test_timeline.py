"""Content over time, against a real server: a scheduled article goes live at its instant
and an FAQ expires at its own, with no build in between, in every list, detail, feed, the
sitemap, search and sync; cache lifetimes never reach past the next of them.

The instants are a few seconds ahead of the build (no clock is mocked), so the server is
started once for the module and each test waits for its instant.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.build import check
from api.build.check import check_schedule
from api.review import ReviewPolicy
from api.timeline import instants, read_instants, state, window_at
from tests.support import Server, build_db, copy_content, make_client
from tests.website_corpus import write_article

SCHEDULED = "springtide-clinic-notice"
DRAFT = "unfinished-draft-notice"
EXPIRING_FAQ = "can-crps-pain-spread"
#: Seconds from writing the content to the first transition: enough to build and start
#: the server on a busy machine.
LEAD = 9.0
#: Seconds from the go-live to the expiry.
GAP = 3.0


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")


class Timed:
    def __init__(self, server: Server, go_live: float, expiry: float) -> None:
        self.server = server
        self.url = server.url
        self.go_live = go_live
        self.expiry = expiry


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory, starts_server: None) -> Iterator[Timed]:
    root = tmp_path_factory.mktemp("timed")
    content = copy_content(root)
    go_live = time.time() + LEAD
    expiry = go_live + GAP
    write_article(
        content / "articles",
        SCHEDULED,
        body="The springtide clinic opens on Saturdays from March.\n",
        title="Springtide clinic notice",
        published_at=_iso(go_live),
        tags=["springtide"],
    )
    write_article(
        content / "articles",
        DRAFT,
        body="Quokkaflower is a word only this draft uses.\n",
        title="Unfinished quokkaflower notice",
        draft=True,
    )
    faqs = content / "faqs" / "about-crps.yaml"
    topic = yaml.safe_load(faqs.read_text(encoding="utf-8"))
    for faq in topic["faqs"]:
        if faq["slug"] == EXPIRING_FAQ:
            faq["expires_at"] = _iso(expiry)
    faqs.write_text(yaml.safe_dump(topic, sort_keys=False), encoding="utf-8")
    db = build_db(content, root / "clinic.db")
    server = Server(db, content).start()
    try:
        assert time.time() < go_live - 1, "the build and start took longer than LEAD"
        yield Timed(server, go_live, expiry)
    finally:
        server.stop()


def _slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["data"]]


def _max_age(response: httpx.Response) -> tuple[int, int, int]:
    cc = response.headers["cache-control"]
    found = {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", cc)}
    return found["max-age"], found["stale-while-revalidate"], found["stale-if-error"]


PUBLIC = [
    "/v1/articles",
    "/v1/articles?tag=springtide",
    "/v1/feeds/articles.json",
    "/v1/feeds/articles.atom",
    "/v1/feeds/articles.rss",
    "/v1/sitemap",
    "/v1/sitemap.xml",
    "/v1/search?q=springtide",
]


def test_scheduled_article_goes_live_at_its_instant(timed: Timed) -> None:
    with httpx.Client(base_url=timed.url, timeout=5) as http:
        unknown = http.get("/v1/articles/no-such-article-here")
        before = http.get(f"/v1/articles/{SCHEDULED}")
        # Nothing in the answer says it is coming: a 404 like any unknown slug.
        assert before.status_code == 404
        assert before.headers["content-type"] == unknown.headers["content-type"]
        assert before.json()["detail"] == unknown.json()["detail"].replace(
            "no-such-article-here", SCHEDULED
        )
        assert before.json().keys() == unknown.json().keys()
        old: dict[str, str] = {}
        modified: dict[str, str] = {}
        for path in PUBLIC:
            # No lifetime reaches past the go-live: the time left is read before the request,
            # so that the server, answering later, can only count less of it.
            left = timed.go_live - time.time()
            response = http.get(path)
            assert response.status_code == 200, path
            assert SCHEDULED not in response.text, path
            assert "springtide" not in response.text.lower() or path.endswith("springtide")
            old[path] = response.headers["etag"]
            modified[path] = response.headers["last-modified"]
            max_age, swr, sie = _max_age(response)
            assert max_age <= left, path
            assert max_age + swr <= left, path
            assert max_age + sie <= left, path
        assert http.get("/v1/search?q=springtide").json()["data"] == []
        sync = http.get("/v1/sync", params={"limit": 500}).json()
        assert SCHEDULED not in [c["slug"] for c in sync["data"]]
        kiosk = {"limit": 500, "channel": "kiosk", "locale": "en"}
        offline = http.get("/v1/sync", params=kiosk).json()
        assert not offline["meta"]["has_more"]
        assert {c["locale"] for c in offline["data"]} == {"en"}
        assert SCHEDULED not in [c["slug"] for c in offline["data"]]

        # Under a small load, the first answer that shows it, after its instant.
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=timed.url, timeout=5) as other:
                while not stop.is_set():
                    other.get("/v1/articles")
                    other.get("/v1/faqs?topic=about-crps")

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        try:
            while time.time() < timed.go_live - 0.5:
                time.sleep(0.05)
            first: dict[str, float] = {}
            while len(first) < 3 and time.time() < timed.go_live + 5:
                checks = {
                    "detail": lambda: http.get(f"/v1/articles/{SCHEDULED}").status_code == 200,
                    "list": lambda: SCHEDULED in _slugs(http.get("/v1/articles").json()),
                    "feed": lambda: SCHEDULED in http.get("/v1/feeds/articles.json").text,
                }
                for name, seen in checks.items():
                    if name not in first and seen():
                        first[name] = time.time()
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        assert set(first) == {"detail", "list", "feed"}
        delays = {name: at - timed.go_live for name, at in first.items()}
        print(f"\nfirst appearance after the instant, under load: {delays}")
        assert all(0 <= delay <= 1.0 for delay in delays.values()), delays

        for path in PUBLIC:
            response = http.get(path, headers={"If-None-Match": old[path]})
            assert response.status_code == 200, path  # a new ETag, not a 304
            assert response.headers["etag"] != old[path], path
            assert SCHEDULED in response.text, path
            # Changed since the old Last-Modified: not a 304 for If-Modified-Since either.
            since = http.get(path, headers={"If-Modified-Since": modified[path]})
            assert since.status_code == 200, path
        hits = http.get("/v1/search?q=springtide").json()["data"]
        assert [h["slug"] for h in hits] == [SCHEDULED]
        sync = http.get("/v1/sync", params={"limit": 500}).json()
        assert SCHEDULED in [c["slug"] for c in sync["data"]]
        # A copy that synced before the instant gets it on its next sync, with no build in
        # between, in its channel's rendition.
        cursor = offline["meta"]["next_cursor"]
        changes = http.get("/v1/sync", params={**kiosk, "cursor": cursor}).json()["data"]
        assert [(c["op"], c["slug"]) for c in changes] == [("upsert", SCHEDULED)]
        assert changes[0]["item"]["rendition"] == "kiosk"
        assert "body_html" not in changes[0]["item"]
        # The kiosk is not served overdue items: it hides it once its review is overdue.
        due = dt.date.fromisoformat(changes[0]["item"]["next_review_due"])
        overdue = f"{due + dt.timedelta(days=1)}T00:00:00Z"
        assert changes[0]["hide_after"] == overdue
        editor = http.get("/v1/sync", params={"cursor": cursor, "locale": "en"}).json()["data"]
        assert [(c["slug"], c["hide_after"]) for c in editor] == [(SCHEDULED, None)]
        # The draft stays out of everything, its words included.
        assert http.get(f"/v1/articles/{DRAFT}").status_code == 404
        assert DRAFT not in http.get("/v1/sitemap").text
        assert http.get("/v1/search?q=quokkaflower").json()["data"] == []
        assert DRAFT not in http.get("/v1/sync", params={"limit": 500}).text


def test_expiry_removes_an_item_at_its_instant(timed: Timed) -> None:
    path = f"/v1/faqs/{EXPIRING_FAQ}"
    with httpx.Client(base_url=timed.url, timeout=5) as http:
        while time.time() < timed.go_live:
            time.sleep(0.05)  # the go-live first: its window is the one before the expiry
        assert time.time() < timed.expiry - 0.5, "too late to see the item before its expiry"
        assert http.get(path).status_code == 200
        topic = http.get("/v1/faq-topics/about-crps")
        listed = http.get("/v1/faqs?topic=about-crps&limit=100")
        assert EXPIRING_FAQ in _slugs(listed.json())
        assert EXPIRING_FAQ in topic.text
        left = timed.expiry - time.time()
        max_age, swr, _ = _max_age(listed)
        assert max_age + swr <= math.ceil(left)
        spread = http.get("/v1/search?q=spread").json()["data"]
        assert EXPIRING_FAQ in [h["slug"] for h in spread]
        kiosk = {"limit": 500, "channel": "kiosk"}
        sync = http.get("/v1/sync", params=kiosk).json()
        synced = {c["slug"]: c for c in sync["data"] if c["locale"] == "en"}
        # A copy that stays offline knows when to stop showing it.
        hide_after = dt.datetime.fromisoformat(synced[EXPIRING_FAQ]["hide_after"])
        assert abs(hide_after.timestamp() - timed.expiry) < 0.001
        cursor = sync["meta"]["next_cursor"]
        while time.time() < timed.expiry:
            time.sleep(0.02)
        gone = http.get(path)
        assert gone.status_code == 410
        assert gone.headers["content-type"] == "application/problem+json"
        assert "expired" in gone.json()["detail"]
        after = http.get("/v1/faqs?topic=about-crps&limit=100")
        assert EXPIRING_FAQ not in _slugs(after.json())
        assert after.headers["etag"] != listed.headers["etag"]
        # The list lost an item with no date of its own: Last-Modified still moves on, so
        # a cache that revalidates by date does not keep the copy that has it.
        since = {"If-Modified-Since": listed.headers["last-modified"]}
        assert http.get("/v1/faqs?topic=about-crps&limit=100", headers=since).status_code == 200
        moved = email.utils.parsedate_to_datetime(after.headers["last-modified"])
        assert moved.timestamp() == math.ceil(timed.expiry)
        assert EXPIRING_FAQ not in http.get("/v1/faq-topics/about-crps").text
        hits = http.get("/v1/search?q=spread").json()["data"]
        assert EXPIRING_FAQ not in [h["slug"] for h in hits]
        # The copy that synced before the expiry is told to remove it.
        changes = http.get("/v1/sync", params={**kiosk, "cursor": cursor}).json()["data"]
        assert [(c["op"], c["slug"], c["locale"]) for c in changes] == [
            ("delete", EXPIRING_FAQ, "en")
        ]


# Pure functions, with an explicit instant.


def test_state_at_an_instant() -> None:
    assert state(True, None, None, 100.0) == "draft"
    assert state(False, 200.0, None, 100.0) == "scheduled"
    assert state(False, 100.0, None, 100.0) == "live"  # published_at <= t
    assert state(False, None, 100.0, 100.0) == "expired"  # t < expires_at
    assert state(False, 50.0, 150.0, 100.0) == "live"


def test_cache_lifetimes_count_down_to_the_next_transition() -> None:
    from api.http.prepared import Prepared
    from api.http.revision import Revision
    from api.timeline import Window

    prepared = Prepared(
        Revision(("h", "1"), 0),
        Window(None, 1000.0),
        max_bytes=1 << 20,
        cache_control=b"public",
        vary=b"",
        lifetimes=(60, 300, 86400),
    )
    assert prepared.cap_from == 1000.0 - 60 - 86400
    assert prepared.cache_control_at(500.0) == (
        b"public, max-age=60, stale-while-revalidate=300, stale-if-error=440"
    )
    assert prepared.cache_control_at(990.5) == (
        b"public, max-age=9, stale-while-revalidate=0, stale-if-error=0"
    )
    assert prepared.cache_control_at(999.9).startswith(b"public, max-age=0,")
    assert prepared.cache_control_at(1000.0).startswith(b"public, max-age=0,")


def test_transitions_and_windows() -> None:
    policy = ReviewPolicy(due_days=30)
    day = dt.date(2027, 3, 31)
    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    found = instants(
        [start + 10, start + 5, start - 1, start + 5], [day.isoformat()], policy, start
    )
    due = dt.datetime(2027, 3, 1, tzinfo=dt.UTC).timestamp()
    overdue = dt.datetime(2027, 4, 1, tzinfo=dt.UTC).timestamp()
    assert found == (start + 5, start + 10, due, overdue)
    assert window_at(found, start).start is None
    assert window_at(found, start).until == start + 5
    assert window_at(found, start + 5).start == start + 5  # a transition opens its window
    assert window_at(found, overdue + 1).until == math.inf
    # review_status changes exactly at those instants.
    assert policy.window("website", now=due - 1).status(day.isoformat()) == "current"
    assert policy.window("website", now=due).status(day.isoformat()) == "due"
    assert policy.window("website", now=overdue - 1).status(day.isoformat()) == "due"
    assert policy.window("website", now=overdue).status(day.isoformat()) == "overdue"


def _front(path: Path, **changes: Any) -> None:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    data = yaml.safe_load(front)
    data.update(changes)
    path.write_text(f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}", encoding="utf-8")


def test_check_validates_the_new_fields(content_copy: Path) -> None:
    article = content_copy / "articles" / "ketamine-for-crps.md"
    _front(article, expires_at="2026-10-01T09:00:00Z")  # before its published_at
    treatment = next((content_copy / "treatments").glob("*.md"))
    _front(treatment, published_at="2027-01-01T09:00:00")  # no timezone
    errors = [str(e) for e in check(content_copy).errors]
    assert "articles/ketamine-for-crps.md: expires_at: must be after published_at" in errors
    assert any(
        e.startswith(f"treatments/{treatment.name}: published_at: ") and "timezone" in e
        for e in errors
    ), errors


def test_check_notes_a_live_item_relating_to_one_not_live_yet(content_copy: Path) -> None:
    treatment = content_copy / "treatments" / "ketamine-infusion.md"
    _front(treatment, published_at="2030-01-01T09:00:00Z")
    loaded = check(content_copy)
    assert loaded.errors == []
    notices = [str(n) for n in check_schedule(loaded, now=time.time())]
    assert any(
        n.startswith("articles/ketamine-for-crps.md: treatments[0]: the treatment"
                     " 'ketamine-infusion' is not live (scheduled for 2030-01-01T09:00:00+00:00)")
        for n in notices
    ), notices  # fmt: skip
    # Once it is live, nothing to say.
    later = dt.datetime(2030, 1, 2, tzinfo=dt.UTC).timestamp()
    assert not any("ketamine-infusion" in str(n) for n in check_schedule(loaded, now=later))


def test_sync_reports_a_review_falling_overdue_as_a_removal(corpus_settings: Any) -> None:
    """A review falls overdue at the start of a UTC day: a kiosk copy that synced the day
    before is told to remove the item; the editor's copy is told its new review_status."""
    from api.storage.reader import Store
    from tests.website_corpus import OVERDUE_SYMPTOM, TODAY

    midnight = dt.datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=dt.UTC).timestamp()
    policy = ReviewPolicy(due_days=30, serve_overdue=frozenset({"editor"}))

    async def changes(channel: str, since: float, now: float) -> list[tuple[str, str, bool]]:
        store = await Store.open(corpus_settings.db_path)
        store.review_policy = policy
        try:
            async with store.snapshot():
                latest = int(store.meta["content_revision"])
                window = policy.window(channel, now=now)
                moved, later = await store.changes(latest, 100, True, window, since=since)
        finally:
            await store.close()
        assert later == []
        return [(c.type, c.slug, c.deleted) for c in moved if c.locale == "en"]

    import asyncio

    # The symptom's review was due until yesterday: overdue from today's midnight.
    kiosk = asyncio.run(changes("kiosk", midnight - 10, midnight + 10))
    assert ("symptom", OVERDUE_SYMPTOM, True) in kiosk
    editor = asyncio.run(changes("editor", midnight - 10, midnight + 10))
    assert ("symptom", OVERDUE_SYMPTOM, False) in editor  # an upsert: review_status changed
    # Nothing moved for it in a window after the transition.
    assert ("symptom", OVERDUE_SYMPTOM, True) not in asyncio.run(
        changes("kiosk", midnight + 10, midnight + 20)
    )


def test_database_built_before_items_had_bounds_is_upgraded(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    from api.build import build

    content = copy_content(tmp_path)
    db = tmp_path / "clinic.db"
    asyncio.run(build(content, db))
    with sqlite3.connect(db) as conn:
        # Every index naming a column the old database did not have.
        for index in ("items_served_days", "items_served_from", "items_served_until",
                      "items_served_updated", "items_counted",
                      "items_by_revision_ranked", "items_sorted_by_published",
                      "items_sorted_by_updated", "items_sorted_by_title",
                      "items_sorted_by_position"):  # fmt: skip
            conn.execute(f"DROP INDEX {index}")
        for column in ("draft", "live_from", "live_until"):
            conn.execute(f"ALTER TABLE items DROP COLUMN {column}")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        # What the server reads of such a database: reviews only, no failure.
        assert isinstance(read_instants(conn, ReviewPolicy(), 0.0), tuple)
    conn.close()
    result = asyncio.run(build(content, db))
    assert result.write.updated == result.items  # every row written again, bounds included
    with sqlite3.connect(db) as conn:
        articles = conn.execute(
            "SELECT count(*) FROM items WHERE type = 'article' AND live_from IS NOT NULL"
        ).fetchone()[0]
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert articles > 0
    assert {"items_served_from", "items_counted", "items_by_revision_ranked"} <= indexes


def test_check_command_prints_notices_without_failing(content_copy: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    _front(content_copy / "treatments" / "ketamine-infusion.md", draft=True)
    result = subprocess.run(
        [sys.executable, "-m", "api", "check"],
        cwd=ROOT,
        env={**os.environ, "CLINIC_CONTENT_DIR": str(content_copy)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (
        "articles/ketamine-for-crps.md: treatments[0]: the treatment 'ketamine-infusion' is not"
        " live (a draft); the relation is hidden until it is"
    ) in result.stdout.splitlines()
    assert "notice(s)" in result.stdout.splitlines()[-1]


def test_a_draft_is_named_by_nothing(content_copy: Path) -> None:
    _front(content_copy / "treatments" / "ketamine-infusion.md", draft=True)
    with make_client(content_copy) as client:
        unknown = client.get("/v1/treatments/no-such-treatment")
        draft = client.get("/v1/treatments/ketamine-infusion")
        assert draft.status_code == unknown.status_code == 404
        article = client.get("/v1/articles/ketamine-for-crps").json()
        assert article["treatments"] == []
        assert "ketamine-infusion" not in article["json_ld_script"]
        assert client.get("/v1/treatments").json()["data"] == []
        assert client.get("/v1/articles?treatment=ketamine-infusion").json()["data"] == []
        condition = client.get("/v1/conditions/crps?include=treatments").json()
        assert "ketamine-infusion" not in condition["treatments"]
        assert condition["included"]["treatments"] == []
        faqs = client.get("/v1/faqs?limit=100").json()["data"]
        assert all(faq.get("treatment") != "ketamine-infusion" for faq in faqs)
