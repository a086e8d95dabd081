"""The newsletter channel: the articles as Atom, RSS 2.0 and JSON Feed 1.1.

One query and one format-neutral `Feed` feed all three; feedgen writes the XML, msgspec the
JSON Feed. Entries are newest first by publication date, full sanitized HTML plus a plain
summary, with absolute links from the public base URL. Overdue and withdrawn articles are
left out by the newsletter channel's policy, as they are from lists.
"""

from __future__ import annotations

import datetime as dt
import html
import mimetypes
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.controllers.modified import header as last_modified
from api.controllers.modified import newest
from api.controllers.pipeline import (
    LocaleParam,
    PublishedSince,
    SlugFilter,
    StoreDep,
    UpdatedSince,
    parse_moment,
    review_window,
)
from api.controllers.preview_links import AT_PARAMETERS
from api.controllers.responses import list_responses
from api.controllers.website import website
from api.reading import canonical_query, view_of
from api.settings import Settings
from api.storage.reader import ListQuery, Store
from schemas.jsonfeed import VERSION, JsonFeed, JsonFeedAuthor, JsonFeedItem

ATOM = "application/atom+xml"
RSS = "application/rss+xml"
JSON_FEED = "application/feed+json"
CHANNEL = "newsletter"
MAX_FEED_ITEMS = 50
DEFAULT_FEED_ITEMS = 20
#: An empty feed still needs an `updated` date; a fixed one keeps every replica's bytes equal.
EMPTY_FEED_UPDATED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

FeedLimit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_FEED_ITEMS,
        description=f"Newest entries to include, 1 to {MAX_FEED_ITEMS}.",
    ),
]
_decode = msgspec.json.Decoder(dict[str, Any])
_encode = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class FeedImage:
    url: str
    alt: str
    media_type: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    url: str
    title: str
    summary: str
    content_html: str
    author_name: str
    author_url: str | None
    tags: list[str]
    published: dt.datetime
    updated: dt.datetime
    language: str
    image: FeedImage | None


@dataclass(frozen=True, slots=True)
class Feed:
    title: str
    description: str
    home: str
    self_url: str
    language: str
    updated: dt.datetime
    entries: list[FeedEntry]
    #: When the newest entry, as served, last changed (POSIX seconds), for Last-Modified.
    modified: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedQuery:
    limit: int
    locale: str | None
    links: list[tuple[str, str]]
    #: Already normalised to UTC text by `parse_moment`.
    published_since: str | None
    updated_since: str | None


def feed_self_url(request: Request[Any, Any, Any]) -> str:
    """This feed's own absolute URL: the API's public URL from the settings (never the
    request's Host, which any client may set and which prepared answers are not keyed on),
    the path, and the parameters in the one spelling of the request's view."""
    view = view_of(request.scope)
    settings: Settings = request.app.state.settings
    query = canonical_query(view.query_key)
    return f"{settings.api_url}{quote(view.path)}" + (f"?{query}" if query else "")


def _moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def load_feed(store: Store, state: State, query: FeedQuery, self_url: str) -> Feed:
    async with store.snapshot():
        site = await website(store, state)
        locale = query.locale or site.site.default_locale
        page = await store.list_page(
            ListQuery(
                type="article",
                locale=locale,
                sort="published_at",
                descending=True,
                limit=query.limit,
                window=review_window(store, CHANNEL),
                links=query.links,
                published_since=query.published_since,
                updated_since=query.updated_since,
                detail=True,
            )
        )
    entries = []
    docs = [_decode.decode(row) for row in page.rows]
    for doc in docs:
        hero = doc.get("hero_image")
        image = None
        if hero:
            media_type = mimetypes.guess_type(hero["url"])[0]
            image = FeedImage(hero["url"], hero["alt"], media_type, hero.get("width"),
                              hero.get("height"))  # fmt: skip
        entries.append(
            FeedEntry(
                url=site.url("article", doc["slug"], doc["locale"]),
                title=doc["title"],
                summary=doc["summary"],
                content_html=doc["body_html"],
                author_name=doc["author"]["name"],
                author_url=doc["author"].get("url"),
                tags=doc["tags"],
                published=_moment(doc["published_at"]),
                updated=_moment(doc["updated_at"]),
                language=doc["locale"],
                image=image,
            )
        )
    topic = ", ".join(f"{rel} {slug}" for rel, slug in query.links)
    return Feed(
        title=f"{site.site.name}: articles" + (f" ({topic})" if topic else ""),
        description=site.site.description,
        home=site.home,
        self_url=self_url,
        language=locale,
        updated=max((e.updated for e in entries), default=EMPTY_FEED_UPDATED),
        entries=entries,
        modified=newest(docs, store.review_policy.due_days),
    )


def _generator(feed: Feed) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed.self_url)
    fg.title(feed.title)
    fg.description(feed.description)
    fg.language(feed.language)
    fg.updated(feed.updated)
    fg.generator("Clinic Content API")
    return fg


def _entry(fg: FeedGenerator, entry: FeedEntry) -> Any:
    fe = fg.add_entry(order="append")
    fe.title(entry.title)
    fe.link(href=entry.url, rel="alternate", type="text/html")
    fe.content(entry.content_html, type="html")
    fe.summary(entry.summary)
    fe.published(entry.published)
    fe.updated(entry.updated)
    for tag in entry.tags:
        fe.category(term=tag, label=tag)
    return fe


def atom(feed: Feed) -> bytes:
    fg = _generator(feed)
    # feedgen 1.0 writes an entry's <link> without its rel, so an Atom enclosure link would
    # read as a second alternate link: the hero image goes in Media RSS instead.
    fg.load_extension("media", rss=False)
    fg.link(href=feed.self_url, rel="self", type=ATOM)
    fg.link(href=feed.home, rel="alternate", type="text/html")
    for entry in feed.entries:
        fe = _entry(fg, entry)
        fe.id(entry.url)
        fe.author(
            {"name": entry.author_name, **({"uri": entry.author_url} if entry.author_url else {})}
        )
        if entry.image is not None:
            media: dict[str, str] = {"url": entry.image.url, "medium": "image"}
            if entry.image.media_type:
                media["type"] = entry.image.media_type
            if entry.image.width and entry.image.height:
                media |= {"width": str(entry.image.width), "height": str(entry.image.height)}
            fe.media.content(media)
    return fg.atom_str(pretty=True)  # type: ignore[no-any-return]


def rss(feed: Feed) -> bytes:
    fg = _generator(feed)
    fg.load_extension("dc", atom=False)
    fg.lastBuildDate(feed.updated)
    # RSS takes its channel <link> from the last link added: the website, not this feed.
    fg.link(href=feed.self_url, rel="self")
    fg.link(href=feed.home, rel="alternate")
    for entry in feed.entries:
        fe = _entry(fg, entry)
        fe.guid(entry.url, permalink=True)
        # RSS readers take <description> as HTML: escape the plain summary so that text like
        # "<short>" is shown, not dropped as an unknown tag.
        fe.summary(html.escape(entry.summary, quote=False))
        # RSS 2.0's <author> must be an e-mail address; Dublin Core carries the name.
        fe.dc.dc_creator(entry.author_name)
        if entry.image is not None and entry.image.media_type:
            fe.enclosure(entry.image.url, "0", entry.image.media_type)
    return fg.rss_str(pretty=True)  # type: ignore[no-any-return]


def json_feed(feed: Feed) -> bytes:
    document = JsonFeed(
        version=VERSION,
        title=feed.title,
        home_page_url=feed.home,
        feed_url=feed.self_url,
        description=feed.description,
        language=feed.language,
        items=[
            JsonFeedItem(
                id=entry.url,
                url=entry.url,
                title=entry.title,
                content_html=entry.content_html,
                summary=entry.summary,
                image=entry.image.url if entry.image else None,
                date_published=entry.published,
                date_modified=entry.updated,
                authors=[JsonFeedAuthor(name=entry.author_name, url=entry.author_url)],
                tags=entry.tags,
                language=entry.language,
            )
            for entry in feed.entries
        ],
    )
    return _encode.encode(document)


async def feed_query(
    limit: FeedLimit = DEFAULT_FEED_ITEMS,
    locale: LocaleParam = None,
    tag: SlugFilter = None,
    condition: SlugFilter = None,
    treatment: SlugFilter = None,
    published_since: PublishedSince = None,
    updated_since: UpdatedSince = None,
) -> FeedQuery:
    """The query parameters every feed takes (a dependency of the three feed operations;
    Litestar documents them on each)."""
    pairs = (("tag", tag), ("condition", condition), ("treatment", treatment))
    links = [(rel, slug) for rel, slug in pairs if slug]
    return FeedQuery(
        limit=limit,
        locale=locale,
        links=links,
        published_since=parse_moment("published_since", published_since),
        updated_since=parse_moment("updated_since", updated_since),
    )


FeedQueryDep = NamedDependency[FeedQuery]


async def requested_feed(
    request: Request[Any, Any, Any], state: State, store: StoreDep, feed_query: FeedQueryDep
) -> Feed:
    """The feed a request asks for, loaded (a dependency of the three feed operations)."""
    return await load_feed(store, state, feed_query, feed_self_url(request))


FeedDep = NamedDependency[Feed]


class FeedController(Controller):
    path = "/v1/feeds"
    tags = ("feeds",)
    dependencies = {  # noqa: RUF012 (how Litestar declares them)
        "feed_query": Provide(feed_query),
        "feed": Provide(requested_feed),
    }
    parameters = AT_PARAMETERS

    @get(
        "/articles.atom",
        operation_id="getArticlesAtomFeed",
        summary="Articles as an Atom feed",
        media_type=ATOM,
        response_description="An Atom 1.0 feed (RFC 4287), newest first.",
        responses=list_responses(),
    )
    async def get_articles_atom_feed(self, feed: FeedDep) -> Response[bytes]:
        """Articles as Atom with full HTML, summary, author, tags and hero image (Media RSS)."""
        return Response(content=atom(feed), media_type=ATOM, headers=last_modified(feed.modified))

    @get(
        "/articles.rss",
        operation_id="getArticlesRssFeed",
        summary="Articles as an RSS 2.0 feed",
        media_type=RSS,
        response_description="An RSS 2.0 feed, newest first.",
        responses=list_responses(),
    )
    async def get_articles_rss_feed(self, feed: FeedDep) -> Response[bytes]:
        """Articles as RSS 2.0 with full HTML (content:encoded), summary and hero enclosure."""
        return Response(content=rss(feed), media_type=RSS, headers=last_modified(feed.modified))

    @get(
        "/articles.json",
        operation_id="getArticlesJsonFeed",
        summary="Articles as a JSON Feed",
        media_type=JSON_FEED,
        response_description="A JSON Feed 1.1 document, newest first.",
        responses=list_responses(),
    )
    async def get_articles_json_feed(self, feed: FeedDep) -> Response[JsonFeed]:
        """Articles as JSON Feed 1.1 with full HTML, summary, authors, tags and image."""
        response: Response[Any] = Response(
            content=json_feed(feed), media_type=JSON_FEED, headers=last_modified(feed.modified)
        )
        return response
