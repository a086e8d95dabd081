"""GET /v1/events: the event log, page by page, for consumers that cannot take webhooks.

The log lives in the state store (api/events/log.py), not in the content database: it
goes on across content databases rebuilt from scratch. Its cursor names the store's
lineage, so a cursor from another store (one made anew) gets 410 Gone rather than a
silently incomplete answer, as a sync cursor does. Answers are never prepared or cached
(`no-store`): the log grows between builds too, at every transition.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import aiosqlite
import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from api.controllers.pipeline import CURSOR_PATTERN, MAX_CURSOR_LENGTH
from api.controllers.responses import BAD_REQUEST, GUARDED, UNAVAILABLE, _problem
from api.cursors import BadCursor
from api.cursors import decode as decode_parts
from api.cursors import encode as encode_parts
from api.errors import Gone, bad_param
from api.events import log, outbox
from api.storage.reader import DatabaseUnavailable
from schemas.resources import EventPage

MAX_EVENTS_LIMIT = 500
DEFAULT_EVENTS_LIMIT = 100

_encoder = msgspec.json.Encoder()
_Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_decode_cursor = msgspec.json.Decoder(tuple[str, _Seq])

EVENTS_GONE = _problem(
    410,
    "Gone",
    "This cursor belongs to another event log (lineage 9c1f0a7e3b2d4c65); the state store"
    " was made anew. Read again from the start, without a cursor.",
)

EventsCursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description="`meta.next_cursor` of the last page; without it, the log is read from"
        " its first event. Only cursors this API issued are valid: any other gets 400, and"
        " one issued by a state store since made anew gets 410.",
    ),
]
EventsLimit = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_EVENTS_LIMIT, description=f"Events per page, 1 to {MAX_EVENTS_LIMIT}."
    ),
]


@dataclass(slots=True)
class EventLog:
    """The server's read-only connection to the state store's log."""

    db: aiosqlite.Connection
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(cls, path: Path) -> EventLog:
        # Made if missing (tables and lineage), so the log answers before the first event.
        writer = await log.connect(path)
        await writer.close()
        db = await aiosqlite.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        await db.execute("PRAGMA query_only = 1")
        return cls(db)

    async def page(self, after: int, limit: int) -> log.LogPage:
        async with self._lock:  # one read transaction at a time on this connection
            return await log.read_page(self.db, after, limit)

    async def webhook_stats(self) -> dict[str, outbox.EndpointStats]:
        """Each endpoint's deliveries and attempts, for /metrics."""
        async with self._lock:
            return await outbox.stats(self.db)

    async def close(self) -> None:
        await self.db.close()


def encode_cursor(lineage: str, seq: int) -> str:
    return encode_parts(lineage, seq)


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        return decode_parts(cursor, _decode_cursor)
    except BadCursor:
        raise bad_param("cursor", "not an events cursor this API issued") from None


class EventController(Controller):
    path = "/v1/events"
    tags = ("events",)

    @get(
        "/",
        operation_id="listEvents",
        summary="Changes as events, oldest first",
        responses={400: BAD_REQUEST, **GUARDED, 410: EVENTS_GONE, 503: UNAVAILABLE},
    )
    async def list_events(
        self,
        state: State,
        cursor: EventsCursor = None,
        limit: EventsLimit = DEFAULT_EVENTS_LIMIT,
    ) -> Response[EventPage]:
        """Every change as an event: the same events, with the same ids, that webhooks send.

        Without a cursor the log is read from its first event; keep `meta.next_cursor` and
        pass it as `cursor` to get only the events recorded since (an empty `data` when
        there are none). Page while `meta.has_more`. A cursor from another event log (the
        state store was made anew) gets 410: read again from the start. Any channel's key
        may read the log: events name items and links, as the content operations do.
        """
        events: EventLog | None = state.get("events")
        if events is None:
            raise DatabaseUnavailable("the state store could not be opened")
        lineage_of_cursor: str | None = None
        after = 0
        if cursor is not None:
            lineage_of_cursor, after = decode_cursor(cursor)
        page = await events.page(after, limit)
        if lineage_of_cursor is not None and (
            lineage_of_cursor != page.lineage or after > page.latest
        ):
            raise Gone(
                f"This cursor belongs to another event log (lineage {lineage_of_cursor},"
                f" not {page.lineage}); the state store was made anew. Read again from the"
                " start, without a cursor."
            )
        meta = _encoder.encode(
            {"has_more": page.has_more, "next_cursor": encode_cursor(page.lineage, page.last_seq)}
        )
        body = b'{"data":[' + b",".join(page.payloads) + b'],"meta":' + meta + b"}"
        response: Response[Any] = Response(
            content=body, media_type="application/json", headers={"Cache-Control": "no-store"}
        )
        return response
