"""The event log and its producer: every change a consumer could care about, as one event.

Events are recorded in the state store (`state.sql`), never in the content database, so
they outlive a content database rebuilt from scratch. A change becomes an event by
comparing what the content now says of an item with what consumers were last told
(`announced`), in the transaction that makes the change:

- a build (api/storage/writer.py) attaches the state store to its connection and calls
  `announce(..., complete=True, schema="state")` after writing the items: a build that
  fails, or is killed, records nothing;
- anything else that changes what is live without a build (a scheduled item going live,
  an expiry, a review falling due) calls `announce(..., complete=False)` with the items
  whose state changed, inside its own write transaction on the state store
  (`record_transition` opens one). Several processes announcing the same change record
  it once: the second finds it already announced.

Every event is `{"id", "type", "timestamp", "data"}` (the payload shape the Standard
Webhooks specification recommends), encoded once and kept as bytes: the pull log serves
them and the webhooks sign and send exactly those bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import msgspec

from api.links import SiteLinks
from schemas.content import SiteSource

SCHEMA = (Path(__file__).parent / "state.sql").read_text(encoding="utf-8")

ITEM_PUBLISHED = "item.published"
ITEM_UPDATED = "item.updated"
ITEM_UNPUBLISHED = "item.unpublished"
REVIEW_DUE = "review.due"
REVIEW_OVERDUE = "review.overdue"
CONTENT_CHANGED = "content.changed"
#: Every event type, in the order the README lists them.
EVENT_TYPES = (
    ITEM_PUBLISHED, ITEM_UPDATED, ITEM_UNPUBLISHED, REVIEW_DUE, REVIEW_OVERDUE, CONTENT_CHANGED
)  # fmt: skip
_encoder = msgspec.json.Encoder()
_decode_site = msgspec.json.Decoder(SiteSource)


def schema_sql(schema: str) -> str:
    """The state store's DDL for a connection that knows it as `schema`."""
    return SCHEMA.replace("{s}", schema)


async def connect(path: Path) -> aiosqlite.Connection:
    """A read-write connection to the state store, made (with its tables) if new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA busy_timeout=10000")
    await prepare(db, "main")
    return db


async def prepare(db: aiosqlite.Connection, schema: str) -> None:
    """Make the state store's tables if missing, and its lineage: a random name fixed at
    creation, carried by pull cursors so one from another store is told apart."""
    await db.executescript(schema_sql(schema))
    await db.execute(
        f"INSERT OR IGNORE INTO {schema}.state_meta (key, value)"
        " VALUES ('lineage', lower(hex(randomblob(8))))"
    )


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the content says of one item at an instant."""

    type: str
    slug: str
    locale: str
    revision: int
    content_hash: str
    #: Served to the public at that instant (not removed, not withdrawn; and, where the
    #: content says so, not a draft and within its publication window).
    live: bool
    #: An FAQ's topic, for its website URL (the topic's page).
    topic: str | None = None
    #: `current`, `due` or `overdue`; None when the caller does not judge reviews (a build
    #: does not: reviews fall due with time, not with content), keeping what was announced.
    review_status: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.slug, self.locale)


def site_links(site: bytes | str) -> SiteLinks:
    """How an event names its item, from the site settings as the build stores them
    (meta `site`): the API path and the website page."""
    return SiteLinks.of(_decode_site.decode(site))


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as recorded: its place in the log, its id and type."""

    seq: int
    id: str
    type: str


def rfc3339(at: float) -> str:
    """POSIX seconds as an RFC 3339 UTC instant with milliseconds."""
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(*parts: object) -> str:
    """A stable id made from what identifies the event (never from the time it was made):
    the same history announced twice gives the same ids. `evt_` and 24 base32 letters:
    nothing a signature's `id.timestamp.body` could be confused by (no `.`)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:15]
    return "evt_" + base64.b32encode(digest).decode("ascii").lower()


async def announce(
    db: aiosqlite.Connection,
    states: Iterable[ItemState],
    *,
    at: float,
    links: SiteLinks,
    complete: bool,
    cause: str,
    content_revision: int,
    content_hash: str | None = None,
    schema: str = "main",
) -> list[Recorded]:
    """Record, as events, how `states` differ from what was announced, and announce them.

    Call it inside a write transaction on the connection (the caller commits or rolls
    back). `at` is the instant the changes took effect (POSIX seconds). `complete` says
    `states` is every item the content has (a build): an announced live item missing
    from them is unpublished. Otherwise only the items given are looked at. `cause`
    (`build` or `transition`) and `content_revision` go into the `content.changed` event
    recorded when anything changed; `content_hash` (a build's) also makes one when only
    the site settings changed.
    """
    s = schema
    async with db.execute(
        f"SELECT type, slug, locale, content_hash, live, review_status, changes FROM {s}.announced"
    ) as cur:
        told = {(t, sl, lo): (h, bool(live), rs, int(n)) async for t, sl, lo, h, live, rs, n in cur}
    timestamp = rfc3339(at)
    events: list[tuple[str, str, bytes]] = []
    rows: list[tuple[object, ...]] = []
    counts = dict.fromkeys(EVENT_TYPES[:-1], 0)
    seen: set[tuple[str, str, str]] = set()

    def item_event(kind: str, state: ItemState, changes: int) -> None:
        data = {
            "type": state.type,
            "slug": state.slug,
            "locale": state.locale,
            "revision": state.revision,
            "path": links.api_path(state.type, state.slug, state.locale),
            "url": links.item(state.type, state.slug, state.locale, state.topic),
        }
        if kind in (REVIEW_DUE, REVIEW_OVERDUE):
            data["review_status"] = state.review_status
        ident = event_id(kind, *state.key, state.content_hash, changes)
        body = {"id": ident, "type": kind, "timestamp": timestamp, "data": data}
        events.append((ident, kind, _encoder.encode(body)))
        counts[kind] += 1

    for state in sorted(states, key=lambda st: st.key):
        seen.add(state.key)
        previous = told.get(state.key)
        changes = previous[3] if previous else 0
        was_live = previous is not None and previous[1]
        kinds: list[str] = []
        if state.live and not was_live:
            kinds.append(ITEM_PUBLISHED)
        elif was_live and not state.live:
            kinds.append(ITEM_UNPUBLISHED)
        elif state.live and previous is not None and previous[0] != state.content_hash:
            kinds.append(ITEM_UPDATED)
        review = previous[2] if previous else None
        if state.review_status is not None:
            if state.live and state.review_status != review and state.review_status != "current":
                kinds.append(REVIEW_DUE if state.review_status == "due" else REVIEW_OVERDUE)
            review = state.review_status
        for kind in kinds:
            changes += 1
            item_event(kind, state, changes)
        if previous is None or kinds or previous[:3] != (state.content_hash, state.live, review):
            rows.append((*state.key, state.content_hash, state.live, review, changes))
    if complete:
        for key in sorted(told.keys() - seen):
            item_hash, live, review, changes = told[key]
            if live:
                gone = ItemState(*key, revision=0, content_hash=item_hash, live=False)
                changes += 1
                item_event(ITEM_UNPUBLISHED, gone, changes)
                rows.append((*key, item_hash, False, review, changes))

    async with db.execute(
        f"SELECT key, value FROM {s}.state_meta WHERE key IN ('content_hash', 'changes')"
    ) as cur:
        meta = {k: v async for k, v in cur}
    site_changed = content_hash is not None and meta.get("content_hash") != content_hash
    if events or site_changed:
        number = int(meta.get("changes", "0")) + 1
        ident = event_id(CONTENT_CHANGED, content_hash or "", number, *(e[0] for e in events))
        data: dict[str, object] = {
            "cause": cause,
            "content_revision": content_revision,
            "published": counts[ITEM_PUBLISHED],
            "updated": counts[ITEM_UPDATED],
            "unpublished": counts[ITEM_UNPUBLISHED],
            "review_due": counts[REVIEW_DUE],
            "review_overdue": counts[REVIEW_OVERDUE],
        }
        body = {"id": ident, "type": CONTENT_CHANGED, "timestamp": timestamp, "data": data}
        events.append((ident, CONTENT_CHANGED, _encoder.encode(body)))
        updates = {"changes": str(number)}
        if content_hash is not None:
            updates["content_hash"] = content_hash
        await db.executemany(
            f"INSERT INTO {s}.state_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            updates.items(),
        )
    await db.executemany(
        f"INSERT INTO {s}.announced (type, slug, locale, content_hash, live, review_status,"
        " changes) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (type, slug, locale) DO UPDATE SET"
        " content_hash = excluded.content_hash, live = excluded.live,"
        " review_status = excluded.review_status, changes = excluded.changes",
        rows,
    )
    recorded: list[Recorded] = []
    for ident, kind, payload in events:
        async with db.execute(
            f"INSERT INTO {s}.events (id, type, occurred_at, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING RETURNING seq",
            (ident, kind, timestamp, payload),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            recorded.append(Recorded(int(row[0]), ident, kind))
    return recorded


async def content_states(
    db: aiosqlite.Connection, at: float, schema: str = "main"
) -> list[ItemState]:
    """Every item of a content database (tombstones too) as it stands at `at`: live unless
    removed, withdrawn, a draft, not yet published or expired (api/timeline.py). Reviews
    are not judged: they fall due with time, at transitions."""
    async with db.execute(
        "SELECT type, slug, locale, revision, content_hash, deleted = 0 AND withdrawn IS NULL"
        " AND draft = 0 AND (live_from IS NULL OR live_from <= ?)"
        " AND (live_until IS NULL OR live_until > ?),"
        f" topic FROM {schema}.items",
        (at, at),
    ) as cur:
        return [
            ItemState(t, s, lo, int(rev), h, bool(live), topic)
            async for t, s, lo, rev, h, live, topic in cur
        ]


async def adopt(db: aiosqlite.Connection, schema: str, content_schema: str = "main") -> None:
    """A new state store takes what the content database already serves as announced,
    without events: consumers are told of changes from the store's first build on, not
    sent every existing item as news. (With a new content database too, nothing is
    adopted, and the first build announces every item.)"""
    async with db.execute(f"SELECT 1 FROM {schema}.state_meta WHERE key = 'adopted'") as cur:
        if await cur.fetchone() is not None:
            return
    async with db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'"
        if content_schema == "main"
        else f"SELECT 1 FROM {content_schema}.sqlite_master WHERE type = 'table' AND name = 'items'"
    ) as cur:
        has_items = await cur.fetchone() is not None
    if has_items:
        states = await content_states(db, time.time(), content_schema)
        await db.executemany(
            f"INSERT OR IGNORE INTO {schema}.announced (type, slug, locale, content_hash, live)"
            " VALUES (?, ?, ?, ?, ?)",
            [(*st.key, st.content_hash, st.live) for st in states],
        )
    await db.execute(
        f"INSERT INTO {schema}.state_meta (key, value) VALUES ('adopted', ?)",
        (rfc3339(time.time()),),
    )


async def record_transition(
    state_path: Path,
    states: Sequence[ItemState],
    *,
    at: float,
    links: SiteLinks,
    content_revision: int,
    through: float | None = None,
) -> list[Recorded]:
    """Announce changes that happened without a build (e.g. an item going live at its
    `published_at`) in one transaction of their own on the state store. Safe to call from
    every worker at the same instant: the first records the events, the others nothing.
    `through` is kept, in the same transaction, as the latest transition recorded
    (`transitions_through`), so a restarted server knows where to resume."""
    db = await connect(state_path)
    try:
        await db.execute("BEGIN IMMEDIATE")
        try:
            recorded = await announce(
                db, states, at=at, links=links, complete=False, cause="transition",
                content_revision=content_revision,
            )  # fmt: skip
            if through is not None:
                await db.execute(
                    "INSERT INTO state_meta (key, value) VALUES ('transitions_through', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                    " WHERE CAST(value AS REAL) < CAST(excluded.value AS REAL)",
                    (repr(through),),
                )
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        return recorded
    finally:
        await db.close()


# Reading the log (GET /v1/events) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogPage:
    payloads: list[bytes]
    last_seq: int
    latest: int
    has_more: bool
    lineage: str


async def read_page(db: aiosqlite.Connection, after: int, limit: int) -> LogPage:
    """Events after `after` (a seq), oldest first, at most `limit`, in one snapshot."""
    await db.execute("BEGIN")
    try:
        async with db.execute("SELECT value FROM state_meta WHERE key = 'lineage'") as cur:
            row = await cur.fetchone()
        lineage = str(row[0]) if row else ""
        async with db.execute("SELECT coalesce(max(seq), 0) FROM events") as cur:
            row = await cur.fetchone()
        latest = int(row[0]) if row else 0
        async with db.execute(
            "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit + 1),
        ) as cur:
            rows = [(int(seq), bytes(payload)) async for seq, payload in cur]
    finally:
        await db.execute("COMMIT")
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if has_more else max(after, latest)
    return LogPage([p for _, p in rows], last, latest, has_more, lineage)
