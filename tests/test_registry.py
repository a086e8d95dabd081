"""The content-type registry is the one list of types: what is still written out elsewhere
(the `Literal`s and unions the OpenAPI document is made from) agrees with it, and the
document lists what it declares."""

from __future__ import annotations

import base64
import json
import sqlite3
import typing
from typing import Any, Literal

import msgspec
import pytest
from litestar.testing import TestClient

from api import cursors, registry
from api.build.load import PageFile
from api.build.shape import Context, RelatedArticles, _page
from api.controllers.feeds import FeedQuery
from api.controllers.pipeline import ItemParams, ListParams
from api.links import SiteLinks, api_path
from api.registry import (
    BY_NAME,
    PAGE_FOLDERS,
    PAGE_KINDS,
    PAGE_SOURCES,
    SEGMENTS,
    TYPES,
    ContentType,
)
from api.settings import Settings
from api.storage.reader import Change, PublicPage
from api.storage.text import index_text
from api.storage.writer import SearchText
from schemas import resources as r
from schemas.content import Page, Seo, SitePaths, SiteSource

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


class NoteSource(Page, kw_only=True, frozen=True):
    audience: str
    conditions: list[str] = msgspec.field(default_factory=list)


class NoteSummary(r.Item, tag_field="type", tag="note", kw_only=True, frozen=True):
    audience: str
    conditions: list[str]


class NoteDetail(NoteSummary, kw_only=True, frozen=True):
    rendition: str
    body_html: str
    body_text: str
    toc: list[r.TocEntry]
    seo: Seo | None
    json_ld: dict[str, Any]
    json_ld_script: str


def test_a_type_without_shaping_of_its_own_is_shaped_from_its_structs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new type needs no code in the build: its summary and detail take the source's
    fields of the same names, its page a reviewed web page, search its words."""
    note = ContentType(
        name="note",
        segment="notes",
        page="article",
        source=NoteSource,
        summary=NoteSummary,
        detail=NoteDetail,
        sort=Literal["title"],
        default_sort="title",
        description="Notes.",
        controller="tests.test_registry:none",
    )
    monkeypatch.setitem(registry.BY_NAME, "note", note)  # type: ignore[arg-type]
    monkeypatch.setitem(registry.PAGE_KINDS, "note", "article")  # type: ignore[arg-type]
    site = msgspec.convert(
        {"name": "C", "base_url": "https://c.example", "description": "d", "disclaimer": "x"},
        SiteSource,
    )
    ctx = Context(
        site=site,
        people={"dr-a": r.PersonRef(slug="dr-a", name="Dr A")},
        titles={},
        related=RelatedArticles.of([]),
        links=SiteLinks.of(site),
    )
    source = msgspec.convert(
        {
            "slug": "a-note",
            "title": "A note",
            "summary": "What it says.",
            "audience": "patients",
            "conditions": ["crps"],
            "reviewed_by": "dr-a",
            "last_reviewed": "2026-01-01",
            "next_review_due": "2027-01-01",
        },
        NoteSource,
    )
    page = PageFile(path="notes/a-note.md", kind="note", source=source, body="## Why\n\nWords.")
    record = _page(page, ctx)
    assert isinstance(record.summary, NoteSummary)
    assert isinstance(record.detail, NoteDetail)
    assert (record.summary.audience, record.summary.conditions) == ("patients", ["crps"])
    assert record.detail.conditions is not source.conditions
    assert record.detail.toc[0].title == "Why"
    assert record.detail.json_ld["@type"] == "MedicalWebPage"
    assert record.detail.json_ld["url"] == "https://c.example/articles/a-note"
    assert record.links == [("condition", "crps")]
    assert record.search == SearchText(
        title="A note", summary="What it says.", body=record.detail.body_text
    )
