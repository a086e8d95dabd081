"""The content-type registry is the one list of types: what is still written out elsewhere
(the `Literal`s and unions the OpenAPI document is made from) agrees with it, and the
document lists what it declares."""

from __future__ import annotations

import base64
import json
import sqlite3
import typing
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api import cursors
from api.controllers.feeds import FeedQuery
from api.controllers.pipeline import ItemParams, ListParams
from api.links import SiteLinks, api_path
from api.registry import BY_NAME, PAGE_FOLDERS, PAGE_KINDS, PAGE_SOURCES, SEGMENTS, TYPES
from api.settings import Settings
from api.storage.reader import Change, PublicPage
from api.storage.text import index_text
from api.storage.writer import SearchText
from schemas import resources as r
from schemas.content import SitePaths, SiteSource

Client = TestClient  # type: ignore[type-arg]


def _members(union: Any) -> set[Any]:
    return set(typing.get_args(union))


def test_item_type_and_item_detail_name_every_type() -> None:
    assert typing.get_args(r.ItemType) == tuple(t.name for t in TYPES)
    assert _members(r.ItemDetail) == {t.detail for t in TYPES}


def test_sitemap_entry_type_names_every_page_kind() -> None:
    sitemap_type = typing.get_type_hints(r.SitemapEntry)["type"]
    assert typing.get_args(sitemap_type) == tuple(PAGE_KINDS)
    assert set(PAGE_KINDS.values()) == set(SitePaths.__struct_fields__)


def test_included_has_a_field_for_every_include_of_the_summary_it_embeds() -> None:
    hints = typing.get_type_hints(r.Included)
    declared = {name: inc for t in TYPES for name, inc in t.includes.items()}
    assert set(hints) == set(declared)
    for name, include in declared.items():
        embedded = BY_NAME[include.type].summary
        assert list[embedded] in _members(hints[name]), name  # type: ignore[valid-type]


def test_every_type_is_described_once() -> None:
    assert len({t.name for t in TYPES}) == len({t.segment for t in TYPES}) == len(TYPES)
    for t in TYPES:
        assert t.default_sort in t.sorts
        assert t.summary.__struct_config__.tag == t.name
        assert set(t.filters) <= {"tag", "topic", *BY_NAME}
        for include in t.includes.values():
            assert include.type in BY_NAME
            assert (include.from_field is None) != (include.linked_by is None)
    assert {PAGE_FOLDERS[folder] for folder in PAGE_SOURCES} == {
        t.name for t in TYPES if t.page is not None
    }


def test_the_document_lists_each_type_as_the_registry_declares_it(client: Client) -> None:
    doc = client.get("/docs/openapi.json").json()
    tags = [tag["name"] for tag in doc["tags"]]
    assert tags[: len(TYPES)] == [t.segment for t in TYPES]
    for t in TYPES:
        listing = doc["paths"][t.path]["get"]
        assert listing["tags"] == [t.segment]
        params = {p["name"]: p for p in listing["parameters"]}
        sort = params["sort"]["schema"]
        assert [s for s in sort["enum"] if s is not None] == list(t.sorts)
        assert set(t.filters) <= set(params)
        assert ("include" in params) == bool(t.includes)
        assert f"{t.path}/{{slug}}" in doc["paths"]
    search = {p["name"]: p for p in doc["paths"]["/v1/search"]["get"]["parameters"]}
    pattern = search["type"]["schema"]["pattern"]
    assert all(name in pattern for name in SEGMENTS)


def test_every_list_documents_the_shared_parameters(client: Client) -> None:
    """They come from one dependency; each list still documents each of them."""
    doc = client.get("/docs/openapi.json").json()
    shared = {"limit", "cursor", "locale", "updated_since", "review_status", "channel"}
    for t in TYPES:
        names = {p["name"] for p in doc["paths"][t.path]["get"]["parameters"]}
        assert shared <= names, t.name
        item = {p["name"] for p in doc["paths"][f"{t.path}/{{slug}}"]["get"]["parameters"]}
        assert {"slug", "locale", "channel"} <= item, t.name


def test_links_follow_one_base_url_rule() -> None:
    site = msgspec.convert(
        {
            "name": "Clinic",
            "base_url": "https://clinic.example/",
            "description": "d",
            "disclaimer": "x",
            "locales": ["en", "es"],
        },
        SiteSource,
    )
    built, configured = SiteLinks.of(site), SiteLinks.of(site, "https://other.example/")
    assert built.page("article", "a", "en") == "https://clinic.example/articles/a"
    assert configured.page("article", "a", "es") == "https://other.example/es/articles/a"
    assert built.item("faq", "q", "en", "t") == "https://clinic.example/faqs/t#q"
    assert built.item("faq", "q", "en", None) is None
    assert built.api_path("faq", "q", "es") == "/v1/faqs/q?locale=es"
    assert api_path("symptom", "s", locale="en", default_locale="en") == "/v1/symptoms/s"


def test_one_cursor_codec_reads_what_it_writes() -> None:
    decoder = msgspec.json.Decoder(tuple[str, int])
    cursor = cursors.encode("abc", 7)
    assert "=" not in cursor
    assert json.loads(base64.urlsafe_b64decode(cursor + "==")) == ["abc", 7]
    assert cursors.decode(cursor, decoder) == ("abc", 7)
    for bad in ("!!", cursors.encode("abc"), cursors.encode("abc", "7")):
        with pytest.raises(cursors.BadCursor):
            cursors.decode(bad, decoder)


@pytest.mark.parametrize(
    ("record", "args"),
    [
        (ListParams, (20, None)),
        (ItemParams, ("slug", "en")),
        (FeedQuery, (20, "en", [], None, None)),
        (SearchText, ("title", "keywords", "summary", "body")),
        (PublicPage, ("faq", "slug", "en", "2026-01-01T00:00:00Z", "topic")),
        (Change, ("faq", "slug", "en", 1, True, None)),
    ],
)
def test_records_whose_fields_share_a_type_are_built_by_keyword(
    record: type, args: tuple[Any, ...]
) -> None:
    """A field given in the wrong place (a topic's title in the keywords column) cannot
    pass silently: these records take keywords only."""
    with pytest.raises(TypeError):
        record(*args)


def test_an_faq_is_indexed_with_its_topic_title_as_keywords(settings: Settings) -> None:
    """The topic is to an FAQ what tags are to an article: its title is searched, in the
    keywords column (weighted below the question), and the question in the title column."""
    with sqlite3.connect(settings.db_path) as db:
        rows = db.execute(
            "SELECT i.summary_json, s.title, s.keywords FROM items i"
            " JOIN search s ON s.rowid = i.revision WHERE i.type = 'faq'"
        ).fetchall()
    assert rows
    for summary, title, keywords in rows:
        faq = json.loads(summary)
        assert (title, keywords) == (index_text(faq["question"]), index_text(faq["topic_title"]))


def test_only_an_item_gone_names_what_replaces_it(client: Client) -> None:
    """One `Gone`: a withdrawn item's 410 says `superseded_by`; a cursor's 410 does not."""
    stale = cursors.encode("another-lineage", 0, 0)
    sync = client.get("/v1/sync", params={"cursor": stale})
    assert sync.status_code == 410, sync.text
    assert "superseded_by" not in sync.json()
    assert "link" not in sync.headers
