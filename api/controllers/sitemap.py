"""Every public page of the website with its last modification, as JSON and sitemap XML.

What the website channel is served, and nothing else: withdrawn items and (unless
CLINIC_SERVE_OVERDUE names the website) items overdue for review are left out.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from api.controllers.modified import moment_header
from api.controllers.pipeline import StoreDep, review_window
from api.controllers.preview_links import AT_PARAMETERS
from api.controllers.responses import list_responses
from api.controllers.website import website
from api.registry import BY_NAME, FAQ_TOPIC_PAGE
from api.storage.reader import Store
from schemas.resources import Sitemap, SitemapEntry, SitemapMeta

CHANNEL = "website"
SITEMAP_XML = "application/xml"
#: The sitemaps.org limit for one file; a clinic's content is far below it.
MAX_URLS = 50_000
_encoder = msgspec.json.Encoder()


async def sitemap_entries(store: Store, state: State) -> list[SitemapEntry]:
    async with store.snapshot():
        site = await website(store, state)
        pages = await store.public_pages(review_window(store, CHANNEL))
    entries: list[dict[str, Any]] = []
    topics: dict[tuple[str, str], dict[str, Any]] = {}
    for page in pages:
        if BY_NAME[page.type].page is None:
            # FAQs live on their topic's page, last modified when its newest answer was.
            assert page.topic is not None
            key = (page.topic, page.locale)
            entry = topics.get(key)
            if entry is None:
                entry = topics[key] = _entry(
                    site.url(FAQ_TOPIC_PAGE, page.topic, page.locale),
                    kind=FAQ_TOPIC_PAGE,
                    slug=page.topic,
                    locale=page.locale,
                    lastmod="",
                )
                entries.append(entry)
            entry["lastmod"] = max(entry["lastmod"], page.updated_at)
        else:
            entries.append(
                _entry(
                    site.url(page.type, page.slug, page.locale),
                    kind=page.type,
                    slug=page.slug,
                    locale=page.locale,
                    lastmod=page.updated_at,
                )
            )
    return [msgspec.convert(entry, SitemapEntry) for entry in entries[:MAX_URLS]]


def _entry(loc: str, *, kind: str, slug: str, locale: str, lastmod: str) -> dict[str, Any]:
    return {
        "loc": loc,
        "lastmod": lastmod,
        "type": kind,
        "slug": slug,
        "locale": locale,
    }


def sitemap_xml(entries: list[SitemapEntry]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']  # fmt: skip
    for entry in entries:
        lastmod = entry.lastmod.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"  <url><loc>{escape(entry.loc)}</loc><lastmod>{lastmod}</lastmod></url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


class SitemapController(Controller):
    path = "/v1"
    tags = ("site",)
    parameters = AT_PARAMETERS

    @get(
        "/sitemap",
        operation_id="getSitemap",
        summary="Get the sitemap",
        responses=list_responses(),
    )
    async def get_sitemap(self, state: State, store: StoreDep) -> Response[Sitemap]:
        """Every public page of the website (absolute URL) with its last modification time."""
        entries = await sitemap_entries(store, state)
        body = Sitemap(data=entries, meta=SitemapMeta(total=len(entries)))
        return Response(body, headers=moment_header(e.lastmod for e in entries))

    @get(
        "/sitemap.xml",
        operation_id="getSitemapXml",
        summary="Get the sitemap as XML",
        media_type=SITEMAP_XML,
        response_description="A sitemaps.org 0.9 urlset.",
        responses=list_responses(),
    )
    async def get_sitemap_xml(self, state: State, store: StoreDep) -> Response[bytes]:
        """The same pages as `/v1/sitemap`, as a sitemaps.org XML urlset for search engines."""
        entries = await sitemap_entries(store, state)
        return Response(
            content=sitemap_xml(entries),
            media_type=SITEMAP_XML,
            headers=moment_header(e.lastmod for e in entries),
        )
