"""The one pipeline every content type goes through: validate → query → shape.

Each type declares what it allows (sorts, filters, fields, includes) as data in a
`TypeSpec`; the controllers only name their parameters, so the OpenAPI document lists them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from api.controllers.kiosk import KIOSK_RENDITION, is_kiosk, kiosk_rendition
from api.controllers.locales import Negotiated, negotiate
from api.controllers.modified import header as last_modified
from api.controllers.modified import item_modified, newest, newest_of_rows
from api.errors import Gone, NotFound, bad_param
from api.reading import view_of
from api.review import ReviewWindow
from api.storage.reader import Found, ListQuery, Store
from schemas.content import LOCALE_PATTERN, SLUG_PATTERN
from schemas.resources import Channel, ReviewStatus

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR_LENGTH = 512
MAX_LIST_PARAM_LENGTH = 500

_encoder = msgspec.json.Encoder()
_SqlInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_decode_cursor = msgspec.json.Decoder(tuple[str, str | _SqlInt | None, str])
#: The header that names the content revision a response was read from (one snapshot).
REVISION_HEADER = "X-Content-Revision"
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

#: The content store, provided by the app (see api.controllers.store.provide_store).
StoreDep = NamedDependency[Store]
#: RFC 3339 date-time, as JSON Schema's `format: date-time` means it (seconds may be 60),
#: matched whole (`fullmatch`: no `$` that lets a final line break through) and in ASCII
#: digits only (`re.ASCII`: Python's `\d` alone also takes other scripts' digits).
RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
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


@dataclass(frozen=True, slots=True)
class Related:
    """How `include=name` finds its items: by the slugs in a field, or by links to the item."""

    type: str
    from_field: str | None = None
    linked_by: str | None = None


def csv_pattern(names: frozenset[str] | Mapping[str, Any]) -> str:
    """The exact language `parse_csv` accepts: allowed names joined by commas, no spaces."""
    choice = "|".join(re.escape(name) for name in sorted(names))
    return f"^({choice})(,({choice}))*$"


@dataclass(frozen=True, slots=True)
class TypeSpec:
    type: str
    path: str
    sorts: tuple[str, ...]
    default_sort: str
    fields: frozenset[str]
    includes: Mapping[str, Related] = field(default_factory=dict)

    @property
    def fields_param(self) -> Any:
        """The `fields` query parameter, its allowed names in the document."""
        return QueryParameter(
            max_length=MAX_LIST_PARAM_LENGTH,
            pattern=csv_pattern(self.fields),
            description="Comma-separated fields to return (no spaces); `type`, `slug` and"
            f" `locale` always come. One or more of: {', '.join(sorted(self.fields))}.",
        )

    @property
    def include_param(self) -> Any:
        """The `include` query parameter, its allowed names in the document."""
        return QueryParameter(
            max_length=MAX_LIST_PARAM_LENGTH,
            pattern=csv_pattern(self.includes),
            description="Comma-separated related items to embed under `included` (no spaces)."
            f" One or more of: {', '.join(sorted(self.includes))}.",
        )


@dataclass(slots=True)
class ListParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    sort: str | None = None
    fields: str | None = None
    include: str | None = None
    locale: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    updated_since: str | None = None
    published_since: str | None = None
    review_status: str | None = None
    channel: str | None = None


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
    """The keyset position after an item, for one sort: base64url JSON [sort, value, slug]."""
    raw = _encoder.encode((sort, key[0], key[1]))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, slug = _decode_cursor.decode(base64.urlsafe_b64decode(padded))
        # JSON can spell a lone surrogate as an escape; SQLite cannot bind one.
        slug.encode("utf-8")
        if isinstance(value, str):
            value.encode("utf-8")
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise bad_param("cursor", "not a cursor this API issued; start again without it") from None
    if cursor_sort != sort:
        raise bad_param("cursor", f"issued for sort={cursor_sort}, not sort={sort}")
    return value, slug


def _sort(spec: TypeSpec, sort: str | None) -> tuple[str, bool]:
    chosen = sort or spec.default_sort
    name = chosen.removeprefix("-")
    if chosen not in spec.sorts:
        raise bad_param("sort", f"'{chosen}' is not one of {', '.join(spec.sorts)}")
    return name, chosen.startswith("-")


def default_locale(store: Store) -> str:
    return store.meta.get("default_locale", "en")


def review_window(store: Store, channel: str | None) -> ReviewWindow:
    """Today's review window for the channel; read once per request (it depends on the date)."""
    return store.review_policy.window(channel or DEFAULT_CHANNEL)


async def list_items(
    store: Store, spec: TypeSpec, params: ListParams, request: Request[Any, Any, Any]
) -> Response[Any]:
    async with store.snapshot():
        negotiated = negotiate(store, request, params.locale)
        return await _list_items(store, spec, params, request, negotiated)


async def get_item(
    store: Store,
    spec: TypeSpec,
    slug: str,
    locale: str | None,
    include: str | None,
    request: Request[Any, Any, Any],
    channel: str | None = None,
) -> Response[Any]:
    async with store.snapshot():
        negotiated = negotiate(store, request, locale)
        return await _get_item(store, spec, slug, negotiated, include, channel)


async def _list_items(
    store: Store,
    spec: TypeSpec,
    params: ListParams,
    request: Request[Any, Any, Any],
    negotiated: Negotiated,
) -> Response[Any]:
    sort_name, descending = _sort(spec, params.sort)
    picked = parse_csv("fields", params.fields, spec.fields)
    includes = parse_csv("include", params.include, spec.includes)
    sort_key = f"{'-' if descending else ''}{sort_name}"
    after = decode_cursor(params.cursor, sort_key) if params.cursor else None
    locale = negotiated.locale
    kiosk = is_kiosk(params.channel)
    window = review_window(store, params.channel)
    page = await store.list_page(
        ListQuery(
            type=spec.type,
            locale=locale,
            sort=sort_name,
            descending=descending,
            limit=params.limit,
            window=window,
            links=params.links,
            updated_since=parse_moment("updated_since", params.updated_since),
            published_since=parse_moment("published_since", params.published_since),
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
            for doc in docs:
                await _embed(store, spec, doc, includes, negotiated, window)
            modified = newest(docs, due_days)
        if kiosk:
            docs = [kiosk_rendition(doc) for doc in docs]
        if picked:
            keep = ALWAYS_FIELDS.union(picked)
            docs = [{k: v for k, v in doc.items() if k in keep or k == "included"} for doc in docs]
        rows = [_encoder.encode(doc) for doc in docs]
    meta = _encoder.encode({"total": page.total, "limit": params.limit, "next_cursor": next_cursor})
    body = b'{"data":[' + b",".join(rows) + b'],"meta":' + meta + b"}"
    headers = {
        **negotiated.headers(page.locales),
        **last_modified(modified),
        REVISION_HEADER: await store.content_revision(),
    }
    if next_cursor:
        headers["Link"] = next_link(request, next_cursor)
    return Response(content=body, media_type="application/json", headers=headers)


async def _get_item(
    store: Store,
    spec: TypeSpec,
    slug: str,
    negotiated: Negotiated,
    include: str | None,
    channel: str | None,
) -> Response[Any]:
    includes = parse_csv("include", include, spec.includes)
    default = negotiated.default
    locale = negotiated.locale
    window = review_window(store, channel)
    found = _existing(await store.find(spec.type, slug, locale, window))
    if found is None and negotiated.fallback is not None:
        found = _existing(await store.find(spec.type, slug, negotiated.fallback, window))
    if found is None:
        raise NotFound(detail=f"No {spec.type} with slug '{slug}' in locale '{locale}'.")
    if found.withdrawn is not None:
        raise _gone(spec, slug, locale, default, found.withdrawn)
    if found.state == "expired":
        raise _expired(spec, slug, found.expired_at)
    if found.review_status == "overdue" and not window.serve_overdue:
        raise NotFound(
            detail=f"The {spec.type} '{slug}' is overdue for clinical review, so it is not"
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
        REVISION_HEADER: await store.content_revision(),
    }
    return Response(content=body, media_type="application/json", headers=headers)


def _existing(found: Found | None) -> Found | None:
    """The item as a client may know of it: a draft, or one scheduled for later, does not
    exist yet (its answer says nothing of it)."""
    if found is None or found.state in ("draft", "scheduled"):
        return None
    return found


def _expired(spec: TypeSpec, slug: str, expired_at: float | None) -> Gone:
    when = ""
    if expired_at is not None:
        moment = dt.datetime.fromtimestamp(expired_at, dt.UTC)
        when = f" on {moment:%Y-%m-%dT%H:%M:%SZ}"
    return Gone(f"The {spec.type} '{slug}' expired{when} and is no longer published.", None)


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


def _gone(spec: TypeSpec, slug: str, locale: str, default: str, withdrawn: dict[str, Any]) -> Gone:
    replacement = withdrawn.get("superseded_by")
    path = None
    if replacement:
        path = f"{spec.path}/{replacement}"
        if locale != default:
            path += f"?locale={locale}"
    reason = str(withdrawn["reason"]).strip()
    if not reason.endswith((".", "!", "?")):
        reason += "."
    detail = f"The {spec.type} '{slug}' was withdrawn: {reason}"
    if path:
        detail += f" It is replaced by {path}."
    return Gone(detail, path)


async def _embed(
    store: Store,
    spec: TypeSpec,
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


def parse_moment(name: str, value: str | None) -> str | None:
    """An RFC 3339 date-time as the UTC text storage compares with (`...THH:MM:SSZ`).

    Only RFC 3339 is accepted (not a bare date or a number). Moments before year 1 or after
    9999 in UTC are clamped, so no valid value can overflow.
    """
    if value is None:
        return None
    match = RFC3339.fullmatch(value)
    if match is None:
        raise bad_param(name, "expected an RFC 3339 date-time such as 2026-01-31T09:00:00Z")
    if match.group(7) and (int(match.group(8)) > 23 or int(match.group(9)) > 59):
        raise bad_param(name, "a time offset is at most 23:59 either way (RFC 3339)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = dt.datetime(max(year, 1), month, day, hour, minute, min(second, 59))
    except ValueError as exc:
        raise bad_param(name, f"not a real date-time: {exc}") from None
    if match.group(7):
        sign = 1 if match.group(7) == "+" else -1
        offset = dt.timedelta(hours=int(match.group(8)), minutes=int(match.group(9)))
        try:
            moment -= sign * offset
        except OverflowError:
            moment = dt.datetime.min if sign > 0 else dt.datetime.max
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"
