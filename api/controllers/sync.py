"""GET /v1/sync: what changed since a cursor, for offline copies such as the kiosk's (issue 3).

Every change to an item takes the next number of one database-wide sequence (its revision),
and a removed item stays as a tombstone with a revision of its own; so "what changed since"
is one range scan. The cursor names the database's lineage, fixed by its first build: a
cursor from a database built from scratch since cannot be read against this one, and gets
410 Gone rather than a silently incomplete answer.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter

from api.controllers.modified import header as last_modified
from api.controllers.modified import newest_of_rows
from api.controllers.pipeline import CURSOR_PATTERN, MAX_CURSOR_LENGTH, StoreDep, review_window
from api.controllers.responses import BAD_REQUEST, GUARDED, SYNC_GONE, UNAVAILABLE
from api.errors import bad_param
from api.storage.reader import Change, DatabaseUnavailable
from schemas.resources import SyncPage

MAX_SYNC_LIMIT = 500
DEFAULT_SYNC_LIMIT = 100

_encoder = msgspec.json.Encoder()
#: A revision is a SQLite integer (signed 64 bits); a forged larger one is refused.
_Revision = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_decode_cursor = msgspec.json.Decoder(tuple[str, _Revision])

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
SyncLimit = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_SYNC_LIMIT, description=f"Changes per response, 1 to {MAX_SYNC_LIMIT}."
    ),
]


class Gone(HTTPException):
    status_code = 410


def encode_cursor(lineage: str, revision: int) -> str:
    raw = _encoder.encode((lineage, revision))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        lineage, revision = _decode_cursor.decode(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise bad_param("cursor", "not a sync cursor this API issued") from None
    return lineage, revision


def _change(change: Change) -> bytes:
    head = _encoder.encode(
        {
            "op": "delete" if change.deleted else "upsert",
            "type": change.type,
            "slug": change.slug,
            "locale": change.locale,
            "revision": change.revision,
        }
    )
    if change.deleted or change.detail_json is None:
        return head
    return head[:-1] + b',"item":' + change.detail_json + b"}"


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
    ) -> Response[SyncPage]:
        """Every item (first sync), then only upserts and tombstones since the cursor.

        Without a cursor: every live item, in every locale, in pages while `has_more`.
        With one: the items created or changed since (the whole item, detail form) and the
        ones removed (tombstones), oldest revision first. Keep `meta.next_cursor` for next
        time; a cursor from a rebuilt database gets 410: drop the copy and sync from the start.
        """
        lineage_of_cursor: str | None = None
        after = 0
        if cursor is not None:
            lineage_of_cursor, after = decode_cursor(cursor)
        async with store.snapshot():
            meta = store.meta
            if "content_revision" not in meta or "lineage" not in meta:
                raise DatabaseUnavailable("no build yet")
            lineage, latest = meta["lineage"], int(meta["content_revision"])
            if lineage_of_cursor is not None and (lineage_of_cursor != lineage or after > latest):
                raise Gone(
                    detail=f"This cursor belongs to another build of the content (lineage"
                    f" {lineage_of_cursor}, not {lineage}); the database was rebuilt from"
                    " scratch. Drop the local copy and sync again from the start, without"
                    " a cursor."
                )
            # Every channel's copy gets every item; review_status says which are overdue today.
            window = review_window(store, "editor")
            changes = await store.changes(after, limit, cursor is not None, window)
        has_more = len(changes) > limit
        changes = changes[:limit]
        end = changes[-1].revision if has_more else max(after, latest)
        meta_json = _encoder.encode(
            {
                "has_more": has_more,
                "next_cursor": encode_cursor(lineage, end),
                "content_revision": latest,
            }
        )
        body = b'{"data":[' + b",".join(map(_change, changes)) + b'],"meta":' + meta_json + b"}"
        items = [c.detail_json for c in changes if c.detail_json]
        modified = newest_of_rows(items, store.review_policy.due_days)
        response: Response[Any] = Response(
            content=body, media_type="application/json", headers=last_modified(modified)
        )
        return response
