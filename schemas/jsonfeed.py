"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), the structs the JSON feed encodes.

Optional members are left out rather than sent as null, as the specification asks.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

VERSION: Final = "https://jsonfeed.org/version/1.1"


class JsonFeedObject(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Shared settings: keyword-only, frozen, defaults omitted from the output."""


class JsonFeedAuthor(JsonFeedObject, kw_only=True, frozen=True):
    name: str
    url: str | None = None


class JsonFeedAttachment(JsonFeedObject, kw_only=True, frozen=True):
    url: str
    mime_type: str
    title: str | None = None


class JsonFeedItem(JsonFeedObject, kw_only=True, frozen=True):
    id: Annotated[str, Meta(description="Unique and stable: the article's page URL.")]
    url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    summary: str | None = None
    image: str | None = None
    date_published: dt.datetime | None = None
    date_modified: dt.datetime | None = None
    authors: list[JsonFeedAuthor] = []
    tags: list[str] = []
    language: str | None = None
    attachments: list[JsonFeedAttachment] = []


class JsonFeed(JsonFeedObject, kw_only=True, frozen=True):
    version: Literal["https://jsonfeed.org/version/1.1"]
    title: str
    home_page_url: str | None = None
    feed_url: str | None = None
    description: str | None = None
    language: str | None = None
    authors: list[JsonFeedAuthor] = []
    items: list[JsonFeedItem]
