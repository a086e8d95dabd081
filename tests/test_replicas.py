"""Replicas agree: two builds of the same content, made seconds apart into two databases and
served by two real servers, answer every GET with the same bytes and the same validators,
so a CDN in front of both sees nothing move. They share one state store, as replicas that
send webhooks must (each event once, not once per replica): the second build finds its
changes announced already, so the event log is the same on both too."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from api.build import build
from tests.support import CONTENT, ROOT, Server

#: What a cache keys on, stores or revalidates with (RFC 9111), and what describes the bytes.
COMPARED = (
    "etag", "last-modified", "cache-control", "vary", "content-type", "content-encoding",
    "content-language", "content-length", "link", "x-content-revision",
)  # fmt: skip
#: A real slug for each item path, so detail operations answer 200.
SLUGS = {
    "/v1/articles/{slug}": "ketamine-for-crps",
    "/v1/conditions/{slug}": "crps",
    "/v1/symptoms/{slug}": "burning-pain",
    "/v1/treatments/{slug}": "ketamine-infusion",
    "/v1/faqs/{slug}": "what-is-ketamine",
    "/v1/faq-topics/{slug}": "about-crps",
}
#: The required parameters of an operation.
REQUIRED = {"/v1/search": "?q=crps"}
#: Besides each operation bare: languages, renditions, embedded items, pages and filters.
VARIANTS = [
    "/v1/articles?limit=1",
    "/v1/articles?fields=title,summary&sort=-updated_at",
    "/v1/conditions/crps?include=symptoms,treatments",
    "/v1/articles/ketamine-for-crps?channel=kiosk",
    "/v1/faqs?topic=about-crps&locale=es",
    "/v1/faq-topics/about-crps?locale=es",
    "/v1/symptoms/burning-pain?locale=es",
    "/v1/search?q=ketamene%20side%20efects",
    "/v1/search?q=inyeccion&type=faq&locale=es&channel=kiosk",
    "/v1/sync?limit=2",
    "/v1/feeds/articles.atom?tag=crps",
    "/v1/feeds/articles.rss?locale=es",
    "/v1/site?locale=es",
    "/docs/assets/swagger-ui.css",
]
#: Answers that are never prepared, so have no validators: probes, and the event log.
NOT_PREPARED = ("/health", "/ready", "/v1/events")
#: The same Host to both, as a CDN in front of them sends.
HOST = "api.clinic.test"


def urls() -> list[str]:
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    found = []
    for path, item in document["paths"].items():
        if "get" in item:
            found.append(path.replace("{slug}", SLUGS.get(path, "")) + REQUIRED.get(path, ""))
    assert all("{" not in url for url in found), found
    return [*found, *VARIANTS, "/docs/openapi.json"]


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, starts_server: None
) -> Iterator[tuple[Server, Server]]:
    state = tmp_path_factory.mktemp("state") / "state.db"
    first = tmp_path_factory.mktemp("replica-a") / "clinic.db"
    asyncio.run(build(CONTENT, first, state_path=state))
    time.sleep(2.1)  # a build's wall-clock second must not show in any answer
    second = tmp_path_factory.mktemp("replica-b") / "clinic.db"
    asyncio.run(build(CONTENT, second, state_path=state))
    shared = {"CLINIC_STATE_PATH": str(state)}
    a, b = Server(first, **shared).start(), Server(second, **shared).start()
    yield a, b
    a.stop()
    b.stop()


@pytest.mark.parametrize("encoding", ["identity", "br", "gzip"])
def test_every_get_is_the_same_on_two_replicas(
    replicas: tuple[Server, Server], encoding: str
) -> None:
    a, b = replicas
    headers = {"Host": HOST, "Accept-Encoding": encoding, "Accept-Language": "es;q=0.9, en"}
    checked = 0
    for url in urls():
        one = httpx.get(a.url + url, headers=headers)
        other = httpx.get(b.url + url, headers=headers)
        assert one.status_code == other.status_code == 200, url
        assert one.content == other.content, url
        for name in COMPARED:
            assert one.headers.get(name) == other.headers.get(name), f"{url}: {name}"
        if url not in NOT_PREPARED:
            assert one.headers["etag"], url
            assert one.headers["last-modified"], url
        checked += 1
    assert checked >= 21 + len(VARIANTS)


def test_a_validator_from_one_replica_revalidates_at_the_other(
    replicas: tuple[Server, Server],
) -> None:
    a, b = replicas
    for url in urls():
        if url in NOT_PREPARED:
            continue
        stored = httpx.get(a.url + url, headers={"Host": HOST})
        etag = {"Host": HOST, "If-None-Match": stored.headers["etag"]}
        assert httpx.get(b.url + url, headers=etag).status_code == 304, url
        since = {"Host": HOST, "If-Modified-Since": stored.headers["last-modified"]}
        assert httpx.get(b.url + url, headers=since).status_code == 304, url


def test_last_modified_is_the_content_s_own_date(replicas: tuple[Server, Server]) -> None:
    """An item's own updated_at, a list's newest, a feed's newest entry: dates the content
    gives, not the time of a build."""
    a, _ = replicas
    item = httpx.get(a.url + "/v1/articles/ketamine-for-crps").json()
    response = httpx.get(a.url + "/v1/articles/ketamine-for-crps")
    assert parsedate_to_datetime(response.headers["last-modified"]) == parsedate_to_datetime(
        _http_date(item["updated_at"])
    )
    listed = httpx.get(a.url + "/v1/articles?limit=100")
    newest = max(article["updated_at"] for article in listed.json()["data"])
    assert listed.headers["last-modified"] == _http_date(newest)
    feed = httpx.get(a.url + "/v1/feeds/articles.json")
    newest_entry = max(entry["date_modified"] for entry in feed.json()["items"])
    assert feed.headers["last-modified"] == _http_date(newest_entry)
    built = Path(a.env["CLINIC_DB_PATH"]).stat().st_mtime
    assert parsedate_to_datetime(listed.headers["last-modified"]).timestamp() < built - 60


def _http_date(moment: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(moment.replace("Z", "+00:00")), usegmt=True)


def test_a_review_status_change_is_a_modification() -> None:
    """`review_status` is served and changes on dates the content fixes: Last-Modified moves
    with it, so If-Modified-Since never keeps yesterday's `current` copy of a `due` item."""
    from api.controllers.modified import item_modified, newest

    day = 86400
    updated = {"updated_at": "2026-01-10T09:00:00Z", "next_review_due": "2026-03-31"}
    base = item_modified({**updated, "review_status": "current"}, 30)
    assert base == parsedate_to_datetime("Sat, 10 Jan 2026 09:00:00 GMT").timestamp()
    due = item_modified({**updated, "review_status": "due"}, 30)
    assert due == parsedate_to_datetime("Sun, 01 Mar 2026 00:00:00 GMT").timestamp()
    overdue = item_modified({**updated, "review_status": "overdue"}, 30)
    assert overdue == parsedate_to_datetime("Wed, 01 Apr 2026 00:00:00 GMT").timestamp()
    assert base is not None
    embedded = {"updated_at": "2026-01-01T00:00:00Z", "included": {"x": [{**updated}]}}
    assert item_modified(embedded, 30) == base
    assert (
        newest([embedded, {"updated_at": "2026-02-01T00:00:00Z"}], 30) == base + 22 * day - 9 * 3600
    )
    assert newest([], 30) is None
