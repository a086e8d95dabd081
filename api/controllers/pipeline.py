"""The one pipeline every content type goes through: validate → query → shape.

Each type declares what it allows (sorts, filters, fields, includes) as data in the
registry (api/registry.py); the controllers only name the parameters that vary by type, so
the OpenAPI document lists them, and take the ones every list shares from `list_request`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import PathParameter, QueryParameter

from api import preview
from api.controllers.kiosk import KIOSK_RENDITION, is_kiosk, kiosk_rendition
from api.controllers.locales import Negotiated, negotiate
from api.controllers.modified import header as last_modified
from api.controllers.modified import item_modified, newest, newest_of_rows
from api.cursors import BadCursor
from api.cursors import decode as decode_parts
from api.cursors import encode as encode_parts
from api.errors import Gone, NotFound, bad_param
from api.http.negotiation import REVISION_HEADER
from api.links import api_path
from api.moments import parse_moment
from api.reading import view_of
from api.registry import ContentType
from api.review import ReviewWindow
from api.storage import inline
from api.storage.reader import Change, Found, ListQuery, Store, revision_read
from schemas.content import LOCALE_PATTERN, SLUG_PATTERN
from schemas.resources import Channel, ReviewStatus

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR_LENGTH = 512
MAX_LIST_PARAM_LENGTH = 500

T = TypeVar("T")
_encoder = msgspec.json.Encoder()
_SqlInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_decode_cursor = msgspec.json.Decoder(tuple[str, str | _SqlInt | None, str])


async def name_revision(response: Response[Any]) -> Response[Any]:
    """After any handler: a 200 read from the content names the revision it was read from
    (its snapshot's), as the document says every such answer does."""
    read = revision_read()
    # No status yet is the route's own: 200 for every GET here.
    if read is not None and response.status_code in (None, 200):
        response.headers.setdefault(REVISION_HEADER, read)
    return response


CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CURSOR_DESCRIPTION = (
    'Opaque cursor from `meta.next_cursor` of the previous page (the `Link: rel="next"` URL'
    " carries it). Only cursors this API issued are valid, with the same sort and filters as"
    " the page they came from: any other value gets 400. The `next` link of the 200 answer"
    " says how to follow one."
)
_decode_object = msgspec.json.Decoder(dict[str, Any])

# Parameters shared by the list endpoints, declared once so their documentation agrees.
Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"Items per page, 1 to {MAX_LIMIT}.",
    ),
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description=CURSOR_DESCRIPTION,
    ),
]
LocaleParam = Annotated[
    str | None,
    QueryParameter(
        pattern=LOCALE_PATTERN,
        max_length=10,
        description="Language of the content (BCP 47); the site's default when omitted.",
    ),
]
SlugFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=SLUG_PATTERN, max_length=80, description="Only items related to this slug."
    ),
]
SlugPath = Annotated[
    str, PathParameter(pattern=SLUG_PATTERN, max_length=80, description="The item's slug.")
]
SORT_DESCRIPTION = "Field to sort by; a leading `-` sorts descending."
#: A list's `sort` parameter, of the sorts its type's `Literal` names.
Sort = Annotated[T | None, QueryParameter(description=SORT_DESCRIPTION)]

#: The content store, provided by the app (see api.controllers.store.provide_store).
StoreDep = NamedDependency[Store]
UpdatedSince = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="Only items updated at or after this time (RFC 3339, e.g."
        " `2026-01-31T09:00:00Z`).",
        schema_extra={"format": "date-time"},
    ),
]
PublishedSince = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="Only items first published at or after this time (RFC 3339).",
        schema_extra={"format": "date-time"},
    ),
]
ReviewStatusFilter = Annotated[
    ReviewStatus | None,
    QueryParameter(
        description=(
            "Only items with this review status (computed from today's date). `overdue` is an"
            " editor's to-do list: a channel that is not served overdue items (see `channel`)"
            " gets an empty list."
        )
    ),
]
DEFAULT_CHANNEL = "website"
ChannelParam = Annotated[
    Channel | None,
    QueryParameter(
        description=(
            "The channel that will show the content (default `website`). Items whose review is"
            " overdue are left out, or answer 404, unless the server's CLINIC_SERVE_OVERDUE"
            " names the channel (by default only `editor`)."
        )
        + KIOSK_RENDITION
    ),
]
AT_DESCRIPTION = (
    "Answer as the content will be (or was) at this instant (RFC 3339, e.g."
    " `2026-03-02T09:00:00+01:00`): what goes live, expires or falls overdue by then, for"
    " the channel asked for (`channel=kiosk&at=...`: the kiosk on Monday). It shows what is"
    " not public yet, so it needs a `preview` or `editor` key, even where keys are otherwise"
    " off: without one it is refused (401 or 403), never ignored. Its answers are"
    " `Cache-Control: private, no-store` and `X-Robots-Tag: noindex`."
)
#: Read by the preview gate in front (api/middleware/preview.py), which admits it and
#: leaves the instant for `review_window`; the operations name it for the document.
AtParam = Annotated[
    str | None,
    QueryParameter(max_length=64, description=AT_DESCRIPTION, schema_extra={"format": "date-time"}),
]
#: A signed preview link's token, for the operations that get one item: judged by the
#: preview gate too (api/preview.py).
PreviewToken = Annotated[
    str | None,
    QueryParameter(
        min_length=3,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description=(
            "A signed preview link's token (`POST /v1/preview-links`, or `python -m api"
            " preview-link`): opens this one item, in the link's locale (pass `locale` as the"
            " link does), as `channel=preview` shows it, without a key, until the link"
            " expires. An expired or altered token, or one for another item, answers 401,"
            " never the published version."
        ),
    ),
]


def csv_pattern(names: frozenset[str] | Mapping[str, Any]) -> str:
    """The exact language `parse_csv` accepts: allowed names joined by commas, no spaces."""
    choice = "|".join(re.escape(name) for name in sorted(names))
    return f"^({choice})(,({choice}))*$"


def _names_param(names: frozenset[str] | Mapping[str, Any], what: str) -> Any:
    return QueryParameter(
        max_length=MAX_LIST_PARAM_LENGTH,
        pattern=csv_pattern(names),
        description=f"{what} One or more of: {', '.join(sorted(names))}.",
    )


def fields_param(spec: ContentType) -> Any:
    """The `fields` query parameter of a type, its allowed names in the document."""
    what = "Comma-separated fields to return (no spaces); `type`, `slug` and `locale` always come."
    return _names_param(spec.fields, what)


def include_param(spec: ContentType) -> Any:
    """The `include` query parameter of a type, its allowed names in the document."""
    what = "Comma-separated related items to embed under `included` (no spaces)."
    return _names_param(spec.includes, what)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListParams:
    """The query parameters every list takes (see `list_request`)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    locale: str | None = None
    updated_since: str | None = None
    review_status: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemParams:
    """The parameters every item operation takes (see `item_request`)."""

    slug: str
    locale: str | None = None
    channel: str | None = None


def links(**filters: str | None) -> list[tuple[str, str]]:
    """The slug filters given, as the (relation, slug) pairs storage filters by."""
    return [(rel, slug) for rel, slug in filters.items() if slug]


ALWAYS_FIELDS = frozenset({"type", "slug", "locale"})


def parse_csv(
    name: str, value: str | None, allowed: frozenset[str] | Mapping[str, Any]
) -> list[str]:
    """Split `a,b` into names; every part must be an allowed name (see `csv_pattern`)."""
    if value is None:
        return []
    names = value.split(",")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        choices = ", ".join(sorted(allowed)) or "none"
        shown = ", ".join(repr(n) for n in unknown[:5])
        raise bad_param(name, f"unknown value(s) {shown}; allowed, comma-separated: {choices}")
    return list(dict.fromkeys(names))


def next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    """The `Link: rel="next"` value: this request's parameters, in the one spelling of its
    view (api/reading.py), with the next cursor. The same for every spelling of the
    request, as the prepared answer it is kept in must be."""
    view = view_of(request.scope)
    query = [(k, v) for k, v in view.query_key if k != "cursor"]
    query.append(("cursor", cursor))
    return f'<{quote(view.path)}?{urlencode(query)}>; rel="next"'


def encode_cursor(sort: str, key: tuple[Any, str]) -> str:
    """The keyset position after an item, for one sort: [sort, value, slug]."""
    return encode_parts(sort, key[0], key[1])


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        cursor_sort, value, slug = decode_parts(cursor, _decode_cursor)
        # JSON can spell a lone surrogate as an escape; SQLite cannot bind one.
        slug.encode("utf-8")
        if isinstance(value, str):
            value.encode("utf-8")
    except (BadCursor, UnicodeEncodeError):
        raise bad_param("cursor", "not a cursor this API issued; start again without it") from None
    if cursor_sort != sort:
        raise bad_param("cursor", f"issued for sort={cursor_sort}, not sort={sort}")
    return value, slug


def _sort(spec: ContentType, sort: str | None) -> tuple[str, bool]:
    chosen = sort or spec.default_sort
    name = chosen.removeprefix("-")
    if chosen not in spec.sorts:
        raise bad_param("sort", f"'{chosen}' is not one of {', '.join(spec.sorts)}")
    return name, chosen.startswith("-")


def default_locale(store: Store) -> str:
    return store.meta.get("default_locale", "en")


class Forbidden(HTTPException):
    status_code = 403


def review_window(store: Store, channel: str | None) -> ReviewWindow:
    """The channel's window for this request; read once per request (it depends on the
    date). At the request's `at=` instant when the preview gate admitted one, and the
    preview channel's (every item) for `channel=preview` (api/preview.py)."""
    seen = preview.current()
    if channel == preview.PREVIEW_CHANNEL:
        if seen is None or not seen.preview:
            # Only the gate in front admits the preview channel; never answer it without.
            raise Forbidden(detail="channel=preview needs a key of the preview channel.")
        return store.review_policy.window(channel, now=seen.at, everything=True)
    return store.review_policy.window(
        channel or DEFAULT_CHANNEL, now=seen.at if seen is not None else None
    )


def item_window(
    store: Store, window: ReviewWindow, type_: str, slug: str, locale: str
) -> ReviewWindow:
    """The window one item is read in: the preview channel's for the item a signed link
    opens (and only that one, in its locale), else the request's."""
    seen = preview.current()
    link = seen.link if seen is not None else None
    if link is None or (link.type, link.slug, link.locale) != (type_, slug, locale):
        return window
    return store.review_policy.window(preview.PREVIEW_CHANNEL, everything=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Varying:
    """What a list takes that differs by type."""

    sort: str | None
    fields: str | None
    include: str | None
    links: list[tuple[str, str]]
    published_since: str | None


async def list_items(
    store: Store,
    spec: ContentType,
    params: ListParams,
    request: Request[Any, Any, Any],
    *,
    sort: str | None,
    fields: str | None,
    include: str | None = None,
    links: list[tuple[str, str]],
    published_since: str | None = None,
) -> Response[Any]:
    """One page of a type's list: the shared `params` and what the type's handler adds."""
    varying = _Varying(
        sort=sort, fields=fields, include=include, links=links, published_since=published_since
    )
    async with store.snapshot():
        negotiated = negotiate(store, request, params.locale)
        return await _list_items(store, spec, params, varying, request, negotiated)


async def get_item(
    store: Store,
    spec: ContentType,
    item: ItemParams,
    request: Request[Any, Any, Any],
    *,
    include: str | None = None,
) -> Response[Any]:
    async with store.snapshot():
        negotiated = negotiate(store, request, item.locale)
        return await _get_item(store, spec, item, negotiated, include)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRequest:
    """A list operation's request with the parameters every list shares."""

    store: Store
    request: Request[Any, Any, Any]
    params: ListParams

    async def answer(
        self,
        spec: ContentType,
        *,
        sort: str | None,
        fields: str | None,
        include: str | None = None,
        published_since: str | None = None,
        **filters: str | None,
    ) -> Response[Any]:
        """One page of the type's list; `filters` are its slug filters, by name."""
        assert set(filters) <= set(spec.filters), filters
        return await list_items(
            self.store,
            spec,
            self.params,
            self.request,
            sort=sort,
            fields=fields,
            include=include,
            links=links(**filters),
            published_since=published_since,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRequest:
    """An item operation's request with the parameters every item operation shares."""

    store: Store
    request: Request[Any, Any, Any]
    params: ItemParams

    async def answer(self, spec: ContentType, *, include: str | None = None) -> Response[Any]:
        return await get_item(self.store, spec, self.params, self.request, include=include)


async def list_request(
    request: Request[Any, Any, Any],
    store: StoreDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    locale: LocaleParam = None,
    updated_since: UpdatedSince = None,
    review_status: ReviewStatusFilter = None,
    channel: ChannelParam = None,
    at: AtParam = None,
) -> ListRequest:
    """The query parameters every list takes, declared once: a dependency of each list
    operation (Litestar documents them on each). A parameter every list gains goes here
    and in `ListParams`. `at` is judged and read by the preview gate, before the framework
    (api/middleware/preview.py): it is named here for the document."""
    params = ListParams(
        limit=limit,
        cursor=cursor,
        locale=locale,
        updated_since=updated_since,
        review_status=review_status,
        channel=channel,
    )
    return ListRequest(store=store, request=request, params=params)


async def item_request(
    request: Request[Any, Any, Any],
    store: StoreDep,
    slug: SlugPath,
    locale: LocaleParam = None,
    channel: ChannelParam = None,
    at: AtParam = None,
    preview_token: PreviewToken = None,
) -> ItemRequest:
    """The parameters every item operation takes, declared once (a dependency). `at` and
    `preview_token` are judged and read by the preview gate, before the framework
    (api/middleware/preview.py): they are named here for the document."""
    params = ItemParams(slug=slug, locale=locale, channel=channel)
    return ItemRequest(store=store, request=request, params=params)


ListDep = NamedDependency[ListRequest]
ItemDep = NamedDependency[ItemRequest]


class ContentController(Controller):
    """A content type's controller. Its list operations take `listing` (the parameters
    every list shares, from `list_request`), its item operations `item` (from
    `item_request`); each operation declares only the parameters that vary by type."""

    dependencies = {  # noqa: RUF012 (how Litestar declares them)
        "listing": Provide(list_request),
        "item": Provide(item_request),
    }


async def _list_items(
    store: Store,
    spec: ContentType,
    params: ListParams,
    varying: _Varying,
    request: Request[Any, Any, Any],
    negotiated: Negotiated,
) -> Response[Any]:
    sort_name, descending = _sort(spec, varying.sort)
    picked = parse_csv("fields", varying.fields, spec.fields)
    includes = parse_csv("include", varying.include, spec.includes)
    sort_key = f"{'-' if descending else ''}{sort_name}"
    after = decode_cursor(params.cursor, sort_key) if params.cursor else None
    locale = negotiated.locale
    kiosk = is_kiosk(params.channel)
    window = review_window(store, params.channel)
    page = await store.list_page(
        ListQuery(
            type=spec.name,
            locale=locale,
            sort=sort_name,
            descending=descending,
            limit=params.limit,
            window=window,
            links=varying.links,
            updated_since=parse_moment("updated_since", params.updated_since),
            published_since=parse_moment("published_since", varying.published_since),
            review_status=params.review_status,
            after=after,
            fallback_locale=negotiated.fallback,
        )
    )
    next_cursor = encode_cursor(sort_key, page.last_key) if page.last_key else None
    rows = page.rows
    due_days = store.review_policy.due_days
    # The page changed when its newest item did (embedded ones included).
    modified = newest_of_rows(rows, due_days)
    if picked or includes or kiosk:
        docs = [_decode_object.decode(row) for row in rows]
        if includes:
            # Started together, the reads of every item's embeds wait for the database
            # once, not once per item: the connection works through them in order.
            await inline.together(
                *(_embed(store, spec, doc, includes, negotiated, window) for doc in docs)
            )
            modified = newest(docs, due_days)
        if kiosk:
            docs = [kiosk_rendition(doc) for doc in docs]
        if picked:
            keep = ALWAYS_FIELDS.union(picked)
            if window.everything:
                keep = keep | {"publication_status"}  # the point of a preview
            docs = [{k: v for k, v in doc.items() if k in keep or k == "included"} for doc in docs]
        rows = [_encoder.encode(doc) for doc in docs]
    meta = _encoder.encode({"total": page.total, "limit": params.limit, "next_cursor": next_cursor})
    body = b'{"data":[' + b",".join(rows) + b'],"meta":' + meta + b"}"
    headers = {
        **negotiated.headers(page.locales),
        **last_modified(modified),
    }
    if next_cursor:
        headers["Link"] = next_link(request, next_cursor)
    return Response(content=body, media_type="application/json", headers=headers)


async def _get_item(
    store: Store,
    spec: ContentType,
    item: ItemParams,
    negotiated: Negotiated,
    include: str | None,
) -> Response[Any]:
    slug, channel = item.slug, item.channel
    includes = parse_csv("include", include, spec.includes)
    default = negotiated.default
    locale = negotiated.locale
    window = review_window(store, channel)
    own = item_window(store, window, spec.name, slug, locale)
    found = _existing(await store.find(spec.name, slug, locale, own), own)
    if found is None and negotiated.fallback is not None:
        own = item_window(store, window, spec.name, slug, negotiated.fallback)
        found = _existing(await store.find(spec.name, slug, negotiated.fallback, own), own)
    if found is None:
        raise NotFound(detail=f"No {spec.name} with slug '{slug}' in locale '{locale}'.")
    if own.everything:
        pass  # a preview shows the item wherever it stands; publication_status says where
    elif found.withdrawn is not None:
        raise _gone(spec, slug=slug, locale=locale, default=default, withdrawn=found.withdrawn)
    elif found.state == "expired":
        raise _expired(spec, slug, found.expired_at)
    elif found.review_status == "overdue" and not window.serve_overdue:
        raise NotFound(
            detail=f"The {spec.name} '{slug}' is overdue for clinical review, so it is not"
            f" served to the {channel or DEFAULT_CHANNEL} channel until it is reviewed again."
        )
    body = found.doc
    doc = _decode_object.decode(body)
    hidden = await _hide_unserved_related(store, doc, window)
    if includes:
        await _embed(store, spec, doc, includes, negotiated, window)
    if is_kiosk(channel):
        doc = kiosk_rendition(doc)
    if includes or is_kiosk(channel) or hidden:
        body = _encoder.encode(doc)
    headers = {
        **negotiated.headers([doc["locale"]]),
        **last_modified(item_modified(doc, store.review_policy.due_days)),
    }
    return Response(content=body, media_type="application/json", headers=headers)


def _existing(found: Found | None, window: ReviewWindow) -> Found | None:
    """The item as a client may know of it: a draft, or one scheduled for later, does not
    exist yet (its answer says nothing of it). A preview knows of every item."""
    if found is None or (found.state in ("draft", "scheduled") and not window.everything):
        return None
    return found


def _expired(spec: ContentType, slug: str, expired_at: float | None) -> Gone:
    when = ""
    if expired_at is not None:
        moment = dt.datetime.fromtimestamp(expired_at, dt.UTC)
        when = f" on {moment:%Y-%m-%dT%H:%M:%SZ}"
    detail = f"The {spec.name} '{slug}' expired{when} and is no longer published."
    return Gone(detail, superseded_by=None)


async def _hide_unserved_related(store: Store, doc: dict[str, Any], window: ReviewWindow) -> bool:
    """Leave out of an article's `related` the articles the channel is not served at the
    window's instant (scheduled, expired, overdue); True if any was left out."""
    related = doc.get("related")
    if not related:
        return False
    slugs = [entry["slug"] for entry in related]
    served = await store.served_slugs("article", slugs, [doc["locale"]], window)
    if len(served) == len(set(slugs)):
        return False
    doc["related"] = [entry for entry in related if entry["slug"] in served]
    return True


async def served_related(store: Store, changes: list[Change], window: ReviewWindow) -> list[Change]:
    """Synced items as the detail serves them: an article's `related` without the articles
    the channel is not served at the window's instant (a scheduled one, say), which the
    stored JSON, made at build time, still names."""
    kept = []
    for change in changes:
        row = change.detail_json
        if row is not None and b'"related":[{' in row:
            doc = _decode_object.decode(row)
            if await _hide_unserved_related(store, doc, window):
                change = dataclasses.replace(change, detail_json=_encoder.encode(doc))
        kept.append(change)
    return kept


def _gone(
    spec: ContentType, *, slug: str, locale: str, default: str, withdrawn: dict[str, Any]
) -> Gone:
    replacement = withdrawn.get("superseded_by")
    path = None
    if replacement:
        path = api_path(spec.name, replacement, locale=locale, default_locale=default)
    reason = str(withdrawn["reason"]).strip()
    if not reason.endswith((".", "!", "?")):
        reason += "."
    detail = f"The {spec.name} '{slug}' was withdrawn: {reason}"
    if path:
        detail += f" It is replaced by {path}."
    return Gone(detail, superseded_by=path)


async def _embed(
    store: Store,
    spec: ContentType,
    doc: dict[str, Any],
    includes: list[str],
    negotiated: Negotiated,
    window: ReviewWindow,
) -> None:
    included: dict[str, list[Any]] = {}
    locale = negotiated.locale
    for name in includes:
        related = spec.includes[name]
        if related.from_field is not None:
            slugs = doc.get(related.from_field) or []
            rows = await store.summaries(related.type, slugs, locale, window)
            if negotiated.fallback is not None and len(rows) < len(slugs):
                rows = await _with_fallback(store, related.type, slugs, negotiated, window)
        else:
            assert related.linked_by is not None
            rows = await store.linked(related.type, related.linked_by, doc["slug"], locale, window)
            if negotiated.fallback is not None:
                fallback = await store.linked(
                    related.type, related.linked_by, doc["slug"], negotiated.fallback, window
                )
                have = {_decode_object.decode(row)["slug"] for row in rows}
                rows += [r for r in fallback if _decode_object.decode(r)["slug"] not in have]
        included[name] = [_decode_object.decode(row) for row in rows]
    doc["included"] = included


async def _with_fallback(
    store: Store, type_: str, slugs: list[str], negotiated: Negotiated, window: ReviewWindow
) -> list[bytes]:
    """Summaries in the asked locale where translated, else in the fallback, in slug order."""
    assert negotiated.fallback is not None
    found: dict[str, bytes] = {}
    for locale in (negotiated.fallback, negotiated.locale):
        for row in await store.summaries(type_, slugs, locale, window):
            found[_decode_object.decode(row)["slug"]] = row
    return [found[s] for s in slugs if s in found]
