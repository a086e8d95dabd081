"""The newsletter feeds, parsed by a real feed parser (feedparser)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import feedparser
import httpx
import pytest
from litestar.testing import TestClient

from tests.support import Server
from tests.website_corpus import (
    API_URL,
    BASE_URL,
    DUE_ARTICLE,
    OVERDUE_ARTICLE,
    REPLACEMENT_ARTICLE,
    SCRIPT_BREAKER,
    TRICKY_SUMMARY,
    TRICKY_TITLE,
    WITHDRAWN_ARTICLE,
)

Client = TestClient  # type: ignore[type-arg]
FORMATS = {
    "atom": ("application/atom+xml", "atom10"),
    "rss": ("application/rss+xml", "rss20"),
}
#: Served by the newsletter channel, newest first: not the overdue, not the withdrawn one.
CORPUS_FEED = [DUE_ARTICLE, REPLACEMENT_ARTICLE]


def parse(client: Client, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def slugs_of(links: list[str]) -> list[str]:
    return [link.rstrip("/").rsplit("/", 1)[-1] for link in links]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_xml_feed_media_type_and_version(corpus_client: Client, fmt: str) -> None:
    media_type, version = FORMATS[fmt]
    response = corpus_client.get(f"/v1/feeds/articles.{fmt}")
    assert response.headers["content-type"].split(";")[0] == media_type
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.version == version


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_xml_feed_entries_newest_first_without_overdue_or_withdrawn(
    corpus_client: Client, fmt: str
) -> None:
    feed = parse(corpus_client, f"/v1/feeds/articles.{fmt}")
    links = [entry.link for entry in feed.entries]
    assert slugs_of(links) == CORPUS_FEED
    assert OVERDUE_ARTICLE not in " ".join(links)
    assert WITHDRAWN_ARTICLE not in " ".join(links)
    assert all(link.startswith(BASE_URL + "/articles/") for link in links)
    assert feed.feed.link == BASE_URL + "/"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_xml_feed_entry_fields_round_trip(corpus_client: Client, fmt: str) -> None:
    feed = parse(corpus_client, f"/v1/feeds/articles.{fmt}")
    entry = feed.entries[0]
    assert entry.title == TRICKY_TITLE
    assert entry.title_detail.type == "text/plain"
    summary = entry.summary
    if fmt == "rss":  # RSS's <description> is HTML; the plain summary was escaped into it
        assert entry.summary_detail.type == "text/html"
        summary = html.unescape(summary)
    else:
        assert entry.summary_detail.type == "text/plain"
    assert summary == TRICKY_SUMMARY
    body = entry.content[0].value
    assert '<h2 id="what-a-flare-is">What a flare is</h2>' in body
    assert "flare &amp; ease" in body
    # The editor's pasted markup arrives as escaped text inside the HTML, never as a tag.
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script" not in body
    assert entry.author == "Claire Whitfield"
    assert {tag.term for tag in entry.tags} == {"crps", "flare-ups"}
    assert entry.published_parsed[:3] == (2026, 11, 20)
    if fmt == "atom":  # RSS 2.0 items have no updated date, only the channel's lastBuildDate
        assert "updated_parsed" in entry
    # The feed's updated date (Atom <updated>, RSS <lastBuildDate>) is its newest entry's.
    assert feed.feed["updated_parsed"][:4] == (2026, 11, 20, 8)
    assert entry.id == f"{BASE_URL}/articles/{DUE_ARTICLE}"


def test_atom_carries_hero_image_as_media_content(corpus_client: Client) -> None:
    entry = parse(corpus_client, "/v1/feeds/articles.atom").entries[0]
    assert entry.media_content == [
        {
            "url": "https://clinic.test/images/flare.png",
            "type": "image/png",
            "medium": "image",
            "width": "800",
            "height": "600",
        }
    ]
    # Only the page itself is an alternate link; the image is not mistaken for one.
    assert [link.href for link in entry.links if link.rel == "alternate"] == [entry.link]
    assert entry.author_detail.href == "https://www.example-clinic.org/team/claire-whitfield"


def test_rss_carries_hero_image_as_enclosure(corpus_client: Client) -> None:
    entry = parse(corpus_client, "/v1/feeds/articles.rss").entries[0]
    assert entry.enclosures == [
        {"href": "https://clinic.test/images/flare.png", "length": "0", "type": "image/png"}
    ]
    assert entry.guidislink is False  # guid is the page URL, marked as a permalink
    assert entry.id == entry.link


def test_json_feed_has_every_required_field(corpus_client: Client) -> None:
    response = corpus_client.get("/v1/feeds/articles.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/feed+json"
    feed = response.json()
    # JSON Feed 1.1: version, title and items are required; each item needs an id and
    # content_html or content_text; optional members are omitted rather than null.
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str)
    assert feed["title"]
    assert isinstance(feed["items"], list)
    assert feed["home_page_url"] == BASE_URL + "/"
    assert feed["feed_url"] == API_URL + "/v1/feeds/articles.json"
    for item in feed["items"]:
        assert isinstance(item["id"], str)
        assert item["id"]
        assert item.get("content_html") or item.get("content_text")
        assert None not in item.values()
        dt.datetime.fromisoformat(item["date_published"])
        dt.datetime.fromisoformat(item["date_modified"])
        assert item["url"].startswith(BASE_URL + "/articles/")
        assert item["authors"][0]["name"] == "Claire Whitfield"
    assert slugs_of([item["id"] for item in feed["items"]]) == CORPUS_FEED
    first = feed["items"][0]
    assert first["title"] == TRICKY_TITLE
    assert first["summary"] == TRICKY_SUMMARY
    assert SCRIPT_BREAKER.replace("<", "&lt;").replace(">", "&gt;") in first["content_html"]
    assert first["image"] == "https://clinic.test/images/flare.png"
    assert first["tags"] == ["crps", "flare-ups"]


def entry_slugs(client: Client, path: str) -> list[str]:
    """The slugs of a feed's entries, in order, whatever its format."""
    if path.split("?")[0].endswith(".json"):  # feedparser 6 does not read JSON Feed
        response = client.get(path)
        assert response.status_code == 200
        return slugs_of([item["url"] for item in response.json()["items"]])
    return slugs_of([entry.link for entry in parse(client, path).entries])


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_feed_filters_and_bounds(corpus_client: Client, fmt: str) -> None:
    path = f"/v1/feeds/articles.{fmt}"
    assert entry_slugs(corpus_client, path + "?limit=1") == [DUE_ARTICLE]
    assert entry_slugs(corpus_client, path + "?tag=flare-ups") == [DUE_ARTICLE]
    assert entry_slugs(corpus_client, path + "?treatment=ketamine-infusion") == [
        REPLACEMENT_ARTICLE
    ]
    assert entry_slugs(corpus_client, path + "?tag=no-such-tag") == []
    since = "?published_since=2026-11-19T00:00:00Z"
    assert entry_slugs(corpus_client, path + since) == [DUE_ARTICLE]
    too_many = corpus_client.get(path + "?limit=51")
    assert too_many.status_code == 400
    assert too_many.json()["invalid_params"][0]["name"] == "limit"
    unknown = corpus_client.get(path + "?review_status=due")
    assert unknown.status_code == 400


def test_feeds_of_the_real_content(client: Client) -> None:
    expected = ["living-with-crps-what-to-expect-from-ketamine-therapy", "ketamine-for-crps"]
    for fmt in ("atom", "rss"):
        feed = parse(client, f"/v1/feeds/articles.{fmt}")
        assert slugs_of([entry.link for entry in feed.entries]) == expected
        # CLINIC_BASE_URL (https://clinic.test in these settings) makes the links.
        assert all(entry.link.startswith("https://clinic.test/articles/") for entry in feed.entries)
    assert entry_slugs(client, "/v1/feeds/articles.json") == expected


def test_feed_over_real_server(server: Server) -> None:
    response = httpx.get(server.url + "/v1/feeds/articles.rss?condition=crps")
    assert response.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert len(feed.entries) == 2
    # No CLINIC_BASE_URL in this server's environment: site.yaml's base_url is used.
    assert feed.entries[0].link.startswith("https://www.example-clinic.org/articles/")


def test_openapi_documents_feed_media_types(client: Client) -> None:
    paths = client.get("/docs/openapi.json").json()["paths"]
    expected = {
        "atom": "application/atom+xml",
        "rss": "application/rss+xml",
        "json": "application/feed+json",
    }
    for fmt, media_type in expected.items():
        operation = paths[f"/v1/feeds/articles.{fmt}"]["get"]
        assert list(operation["responses"]["200"]["content"]) == [media_type]
        assert operation["responses"]["200"]["description"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"tag", "condition", "treatment", "locale", "limit"} <= names
