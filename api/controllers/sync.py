"""GET /v1/sync: what changed since a cursor, for offline copies such as the kiosk's.

Every change to an item takes the next number of one database-wide sequence (its revision),
and a removed item stays as a tombstone with a revision of its own; so "what changed since"
is one range scan. The cursor names the database's lineage, fixed by its first build: a
cursor from a database built from scratch since cannot be read against this one, and gets
410 Gone rather than a silently incomplete answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.params import QueryParameter

from api.controllers.kiosk import is_kiosk, kiosk_rendition
from api.controllers.locales import site_locales
from api.controllers.modified import header as last_modified
from api.controllers.modified import newest_of_rows
from api.controllers.pipeline import (
    CURSOR_PATTERN,
    MAX_CURSOR_LENGTH,
    StoreDep,
    review_window,
    served_related,
)
from api.controllers.responses import BAD_REQUEST, GUARDED, SYNC_GONE, UNAVAILABLE
from api.cursors import BadCursor
from api.cursors import decode as decode_parts
from api.cursors import encode as encode_parts
from api.errors import Gone, bad_param
from api.storage.reader import Change, DatabaseUnavailable
from schemas.content import LOCALE_PATTERN
from schemas.resources import PublicChannel, SyncPage

MAX_SYNC_LIMIT = 500
DEFAULT_SYNC_LIMIT = 100

_encoder = msgspec.json.Encoder()
#: A revision is a SQLite integer (signed 64 bits); a forged larger one is refused.
_Revision = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
#: Milliseconds since the epoch: the instant up to which the copy has seen transitions.
_Millis = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
_decode_cursor = msgspec.json.Decoder(tuple[str, _Revision, _Millis])
_decode_legacy = msgspec.json.Decoder(tuple[str, _Revision])
_decode_item = msgspec.json.Decoder(dict[str, Any])

SyncCursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description="`meta.next_cursor` of the last sync; without it, everything is sent."
        " Only cursors this API issued are valid: any other gets 400, and one issued by a"
        " database since rebuilt from scratch gets 410.",
    ),
]
SyncLocale = Annotated[
    str | None,
    QueryParameter(
        pattern=LOCALE_PATTERN,
        max_length=10,
        description="Only items in this locale (BCP 47); every locale when omitted.",
    ),
]
SyncChannel = Annotated[
    PublicChannel | None,
    QueryParameter(
        description=(
            "The channel the copy shows (without it: everything the `editor` channel is"
            " served, overdue items included). Items the channel is not served (overdue"
            " ones, unless CLINIC_SERVE_OVERDUE names it) come as deletions, and with"
            " `kiosk` each item is in the kiosk's plain-text rendition. Pass the same"
            " channel and locale with every cursor."
        )
    ),
]
SyncLimit = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_SYNC_LIMIT, description=f"Changes per response, 1 to {MAX_SYNC_LIMIT}."
    ),
]


def encode_cursor(lineage: str, revision: int, instant: float) -> str:
    """Base64url JSON [lineage, revision, instant in ms]: the copy has every change up to
    that revision, and every transition up to that instant (rounded down, so a transition
    in the last millisecond is sent again rather than never)."""
    # The smallest nudge, so that a product like 1234.5669999 still names 1234.567.
    return encode_parts(lineage, revision, int(instant * 1000 + 0.001))


def decode_cursor(cursor: str) -> tuple[str, int, float | None]:
    """(lineage, revision, instant); a cursor issued before cursors carried an instant has
    none, and gets every transition again (the upserts are the same items)."""
    try:
        try:
            lineage, revision, millis = decode_parts(cursor, _decode_cursor)
        except BadCursor:
            lineage, revision = decode_parts(cursor, _decode_legacy)
            return lineage, revision, None
    except BadCursor:
        raise bad_param("cursor", "not a sync cursor this API issued") from None
    return lineage, revision, millis / 1000


def _rfc3339(instant: float) -> str:
    moment = dt.datetime.fromtimestamp(instant, dt.UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _change(change: Change, kiosk: bool) -> bytes:
    fields: dict[str, Any] = {
        "op": "delete" if change.deleted else "upsert",
        "type": change.type,
        "slug": change.slug,
        "locale": change.locale,
        "revision": change.revision,
    }
    if change.deleted or change.detail_json is None:
        return _encoder.encode(fields)
    fields["hide_after"] = None if change.hide_after is None else _rfc3339(change.hide_after)
    item = change.detail_json
    if kiosk:
        item = _encoder.encode(kiosk_rendition(_decode_item.decode(item)))
    return _encoder.encode(fields)[:-1] + b',"item":' + item + b"}"


class SyncController(Controller):
    path = "/v1/sync"
    tags = ("sync",)

    @get(
        "/",
        operation_id="syncContent",
        summary="Changes since the last sync",
        responses={400: BAD_REQUEST, **GUARDED, 410: SYNC_GONE, 503: UNAVAILABLE},
    )
    async def sync_content(
        self,
        store: StoreDep,
        cursor: SyncCursor = None,
        limit: SyncLimit = DEFAULT_SYNC_LIMIT,
        channel: SyncChannel = None,
        locale: SyncLocale = None,
    ) -> Response[SyncPage]:
        """Every item (first sync), then only upserts and tombstones since the cursor.

        Without a cursor: every item live for the channel, in every locale (or `locale`),
        in pages while `has_more`. With one: the items created or changed since (the whole
        item, detail form), the ones removed (tombstones), and the ones a moment changed
        without a build (gone live, expired, fallen due or overdue): first those, then the
        rest oldest revision first. Each upsert's `hide_after` says when the channel stops
        showing the item (its expiry, or its review falling overdue), so a copy offline by
        then hides it on time. Keep `meta.next_cursor` for next time; a cursor from a
        rebuilt database gets 410: drop the copy and sync from the start.
        """
        lineage_of_cursor: str | None = None
        after = 0
        since: float | None = None
        if cursor is not None:
            lineage_of_cursor, after, since = decode_cursor(cursor)
            since = since or 0.0
        async with store.snapshot():
            if locale is not None and locale not in site_locales(store)[1]:
                locales = ", ".join(site_locales(store)[1])
                raise bad_param("locale", f"'{locale}' is not one of this site's: {locales}")
            meta = store.meta
            if "content_revision" not in meta or "lineage" not in meta:
                raise DatabaseUnavailable("no build yet")
            lineage, latest = meta["lineage"], int(meta["content_revision"])
            if lineage_of_cursor is not None and (lineage_of_cursor != lineage or after > latest):
                raise Gone(
                    f"This cursor belongs to another build of the content (lineage"
                    f" {lineage_of_cursor}, not {lineage}); the database was rebuilt from"
                    " scratch. Drop the local copy and sync again from the start, without"
                    " a cursor."
                )
            # Without a channel, the editor's view: every item, review_status saying which
            # are overdue.
            window = review_window(store, channel or "editor")
            # The cursor names the last transition, not this instant: the same on every
            # replica and all through the window, so answers are too.
            seen_until = await store.last_transition(window)
            moved, changes = await store.changes(
                after,
                limit,
                cursor is not None,
                window,
                since=since,
                locale=locale,
            )
            # Built JSON names related articles that may not be served yet.
            moved = await served_related(store, moved, window)
            changes = await served_related(store, changes, window)
        # The transitions come whole; the changes after `after` fill the rest of the page,
        # at least one a time so that every call moves on.
        room = max(1, limit - len(moved))
        has_more = len(changes) > room
        changes = changes[:room]
        end = changes[-1].revision if has_more else max(after, latest)
        meta_json = _encoder.encode(
            {
                "has_more": has_more,
                "next_cursor": encode_cursor(lineage, end, seen_until),
                "content_revision": latest,
            }
        )
        kiosk = is_kiosk(channel)
        data = b",".join(_change(change, kiosk) for change in [*moved, *changes])
        body = b'{"data":[' + data + b'],"meta":' + meta_json + b"}"
        items = [c.detail_json for c in [*moved, *changes] if c.detail_json]
        modified = newest_of_rows(items, store.review_policy.due_days)
        response: Response[Any] = Response(
            content=body, media_type="application/json", headers=last_modified(modified)
        )
        return response
