"""GET /v1/search: ranked, typo-tolerant search over every content type."""

from __future__ import annotations

import hashlib
import html
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from api import preview
from api.controllers.kiosk import is_kiosk
from api.controllers.locales import Negotiated, negotiate
from api.controllers.modified import header as last_modified
from api.controllers.modified import newest
from api.controllers.pipeline import (
    DEFAULT_CHANNEL,
    ChannelParam,
    Cursor,
    LocaleParam,
    StoreDep,
    csv_pattern,
    parse_csv,
    review_window,
)
from api.controllers.preview_links import AT_PARAMETERS
from api.controllers.responses import list_responses
from api.cursors import BadCursor
from api.cursors import decode as decode_parts
from api.cursors import encode as encode_parts
from api.errors import bad_param
from api.links import SiteLinks, api_path
from api.registry import SEGMENTS
from api.storage import search as fts
from api.storage.reader import Store
from schemas.content import SLUG_PATTERN, SiteSource
from schemas.resources import SearchHit, SearchLink, SearchMeta, SearchResults, SearchTerm

MAX_QUERY_LENGTH = 300
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 10
#: An offset SQLite can bind (a signed 64-bit integer); a forged larger one is refused.
_Offset = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_decode_cursor = msgspec.json.Decoder(tuple[str, _Offset])
_decode_site = msgspec.json.Decoder(SiteSource)
_decode_object = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()

Query = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        # No pattern for "has a word": which characters make words (letters and digits of
        # any script) is more than a portable JSON Schema pattern can say, and a query
        # without any simply finds nothing.
        description=(
            "What the patient typed, as plain words: anything that looks like search syntax"
            " is read as words. Misspellings are corrected, the last word is completed"
            " (type-ahead) and synonyms are searched too (CRPS, RSD, complex regional pain"
            f" syndrome). At most {MAX_QUERY_LENGTH} characters. A query without any letter or"
            " digit (only punctuation or symbols) finds nothing."
        ),
    ),
]
SearchLimit = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_SEARCH_LIMIT, description=f"Results per page, 1 to {MAX_SEARCH_LIMIT}."
    ),
]
TypeFilter = Annotated[
    str | None,
    QueryParameter(
        max_length=100,
        pattern=csv_pattern(SEGMENTS),
        description="Comma-separated types to search: " + ", ".join(SEGMENTS) + ".",
    ),
]

TopicFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=SLUG_PATTERN,
        max_length=80,
        description="Only FAQs of this topic (the kiosk's FAQ box: `type=faq&topic=...`)."
        " Only FAQs have a topic, so with it other types match nothing.",
    ),
]


def site_links(request: Request[Any, Any, Any], store: Store) -> SiteLinks | None:
    """Where the website's pages and this API's items are; None before the first build."""
    if "site" not in store.meta:
        return None
    site = _decode_site.decode(store.meta["site"])
    return SiteLinks.of(site, request.app.state.settings.base_url)


def _link(hit: fts.Hit, doc: dict[str, Any], links: SiteLinks | None, default: str) -> SearchLink:
    if links is None:
        path = api_path(hit.type, hit.slug, locale=hit.locale, default_locale=default)
        return SearchLink(api=path, site=None)
    return SearchLink(
        api=links.api_path(hit.type, hit.slug, hit.locale),
        site=links.item(hit.type, hit.slug, hit.locale, doc.get("topic")),
    )


def fingerprint(*parts: object) -> str:
    """Ties a cursor to the query it pages, so it cannot page another."""
    return hashlib.sha256(_encoder.encode(parts)).hexdigest()[:12]


def encode_cursor(key: str, offset: int) -> str:
    """The place after a page of results, for one query (`key` is its fingerprint)."""
    return encode_parts(key, offset)


def decode_cursor(cursor: str, key: str) -> int:
    try:
        issued_for, offset = decode_parts(cursor, _decode_cursor)
    except BadCursor:
        raise bad_param("cursor", "not a cursor this API issued; start again without it") from None
    if issued_for != key:
        raise bad_param("cursor", "issued for another query; start again without it")
    return offset


def _snippet(raw: str, kiosk: bool) -> str:
    if kiosk:
        return raw.replace(fts.MARK_START, "").replace(fts.MARK_END, "")
    escaped = html.escape(raw, quote=False)
    return escaped.replace(fts.MARK_START, "<mark>").replace(fts.MARK_END, "</mark>")


async def run_search(
    store: Store,
    negotiated: Negotiated,
    q: str,
    *,
    types: list[str],
    topic: str | None,
    links: list[tuple[str, str]],
    limit: int,
    cursor: str | None,
    channel: str | None,
) -> tuple[list[SearchTerm], fts.Hits, str | None]:
    """Validate, analyse and run a search; the terms as understood, the hits, next cursor."""
    vocabulary = await store.vocabulary(review_window(store, channel))
    try:
        terms = fts.analyse(q, vocabulary)
    except fts.BadQuery:
        terms = []  # no word to search for (only punctuation or symbols): nothing is found
    # And the instant asked for: the hits at another `at=` are another list, which an
    # offset into this one would page wrongly.
    asked = preview.asked_at()
    key = fingerprint(
        [t.fts() for t in terms], types, topic, links, negotiated.locale,
        channel or DEFAULT_CHANNEL, *([] if asked is None else [asked]),
    )  # fmt: skip
    offset = decode_cursor(cursor, key) if cursor else 0
    hits = (
        fts.Hits([], 0)
        if not terms
        else await store.search(
            fts.SearchQuery(
                terms=terms,
                locale=negotiated.locale,
                fallback_locale=negotiated.default,
                limit=limit,
                offset=offset,
                types=types,
                topic=topic,
                links=links,
            ),
            review_window(store, channel),
        )
    )
    end = offset + len(hits.hits)
    next_cursor = encode_cursor(key, end) if end < hits.total else None
    understood = [
        SearchTerm(typed=t.typed, searched=[*t.phrases, *([f"{t.prefix}*"] if t.prefix else [])])
        for t in terms
    ]
    return understood, hits, next_cursor


class SearchController(Controller):
    path = "/v1/search"
    tags = ("search",)
    parameters = AT_PARAMETERS

    @get(
        "/",
        operation_id="searchContent",
        summary="Search all content",
        responses=list_responses(),
    )
    async def search_content(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        q: Query,
        type: TypeFilter = None,
        topic: TopicFilter = None,
        locale: LocaleParam = None,
        limit: SearchLimit = DEFAULT_SEARCH_LIMIT,
        cursor: Cursor = None,
        channel: ChannelParam = None,
    ) -> Response[SearchResults]:
        """Articles, conditions, symptoms, treatments and FAQs that match, best first."""
        async with store.snapshot():
            negotiated = negotiate(store, request, locale)
            types = parse_csv("type", type, SEGMENTS)
            terms, found, next_cursor = await run_search(
                store,
                negotiated,
                q,
                types=types,
                topic=topic,
                links=[],
                limit=limit,
                cursor=cursor,
                channel=channel,
            )
            links = site_links(request, store)
        kiosk = is_kiosk(channel)
        data = []
        docs = [_decode_object.decode(hit.summary_json) for hit in found.hits]
        for hit, doc in zip(found.hits, docs, strict=True):
            data.append(
                SearchHit(
                    type=hit.type,  # type: ignore[arg-type]
                    slug=hit.slug,
                    locale=hit.locale,
                    title=doc.get("question") or doc["title"],
                    summary=doc.get("short_answer") or doc["summary"],
                    snippet=_snippet(hit.snippet, kiosk),
                    topic=doc.get("topic"),
                    link=_link(hit, doc, links, negotiated.default),
                    score=hit.score,
                    publication_status=doc.get("publication_status", msgspec.UNSET),
                )
            )
        body = SearchResults(
            data=data,
            meta=SearchMeta(
                total=found.total,
                limit=limit,
                next_cursor=next_cursor,
                locale=negotiated.locale,
                terms=terms,
            ),
        )
        served = sorted({hit.locale for hit in found.hits})
        modified = newest(docs, store.review_policy.due_days)
        return Response(
            content=body, headers={**negotiated.headers(served), **last_modified(modified)}
        )
