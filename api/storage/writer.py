"""Writes a build into SQLite in one transaction: upsert what changed, tombstone what went.

Readers keep seeing the previous content until the commit (WAL), and a build that fails or
is killed part-way leaves no trace: SQLite rolls the transaction back.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import msgspec

from api.events import log as events_log
from api.events import outbox as events_outbox
from api.storage.text import STOP_WORDS, index_text, words

SCHEMA = (Path(__file__).parent / "schema.sql").read_text(encoding="utf-8")
#: The schema's indexes, one statement a line. A database's first build creates them once
#: its rows are in, in the same transaction: one sort per index is much cheaper than
#: updating every index for each of 60,000 rows.
INDEXES = re.findall(r"^CREATE (?:UNIQUE )?INDEX IF NOT EXISTS [^;]*;$", SCHEMA, re.M)
#: The schema without its indexes.
TABLES = re.sub(r"^CREATE (?:UNIQUE )?INDEX IF NOT EXISTS [^;]*;$", "", SCHEMA, flags=re.M)
#: 2: next_review_due and withdrawn columns; rows written before them are written
#: again. 3: the search index and its vocabulary, rebuilt from every item.
#: 4: draft, live_from and live_until (content over time); rows are written again.
#: 5: drafts in the search index (the preview channel finds them); the index is rebuilt.
#: 6: what search ranks on besides the index (title_words, title_length) kept in items; the
#: items' rows are given them in place, keeping their revisions.
SCHEMA_VERSION = "6"
#: Columns added since schema version 1, added in place to databases built before them.
ADDED_COLUMNS = {
    "next_review_due": "TEXT",
    "withdrawn": "BLOB",
    "draft": "INTEGER NOT NULL DEFAULT 0",
    "live_from": "REAL",
    "live_until": "REAL",
    "title_words": "INTEGER NOT NULL DEFAULT 1",
    "title_length": "INTEGER NOT NULL DEFAULT 0",
}

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchText:
    """What search indexes of an item, column by column (weights are in storage.search)."""

    title: str
    keywords: str = ""
    summary: str = ""
    body: str = ""

    def columns(self) -> tuple[str, str, str, str]:
        return (
            index_text(self.title),
            index_text(self.keywords),
            index_text(self.summary),
            index_text(self.body),
        )


@dataclass(slots=True)
class Record:
    """One item as storage keeps it. `revision` and `content_hash` are set by the writer."""

    type: str
    slug: str
    locale: str
    sort_title: str
    published_at: str | None
    updated_at: str
    topic: str | None
    position: int
    links: list[tuple[str, str]]
    summary: msgspec.Struct
    detail: msgspec.Struct
    search: SearchText | None = None
    content_hash: str = ""
    next_review_due: str | None = None
    withdrawn: bytes | None = None
    #: Built and checked, never served.
    draft: bool = False
    #: POSIX seconds from which, and until which, the item is served (None: no bound).
    live_from: float | None = None
    live_until: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.slug, self.locale)


@dataclass(frozen=True, slots=True)
class WriteResult:
    created: int
    updated: int
    deleted: int
    unchanged: int
    content_revision: int
    content_hash: str

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


async def connect_for_build(db_path: Path) -> aiosqlite.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(db_path, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA busy_timeout=10000")
    return db


async def write(
    db: aiosqlite.Connection,
    records: list[Record],
    site: bytes,
    synonyms: Sequence[Sequence[str]] = (),
    *,
    started: float | None = None,
    vocab: Counter[str] | None = None,
    state_path: Path | None = None,
    endpoints: Sequence[tuple[str, str]] = (),
) -> WriteResult:
    """Write a build. `synonyms` are groups of equivalent folded terms, kept for search.
    `started` (a perf_counter reading) dates the build's start, so its duration is recorded.
    `vocab` is `vocabulary(records)` when the caller has counted it already.

    With `state_path`, the build's changes are recorded as events in that state store
    (api/events/log.py), in the same transaction: the store is attached to this connection
    as `state`. `endpoints` are the webhook endpoints configured, as (name, url): made
    known to the outbox first, so that a new endpoint receives this build's events.
    """
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        await db.execute("ATTACH DATABASE ? AS state", (str(state_path),))
        await db.execute("PRAGMA state.journal_mode=WAL")
        await events_log.prepare(db, "state")
    async with db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'"
    ) as cur:
        first = await cur.fetchone() is None
    await db.executescript(TABLES)
    async with db.execute("PRAGMA table_info(items)") as cur:
        columns = {row[1] async for row in cur}
    for name, kind in ADDED_COLUMNS.items():
        if name not in columns:
            await db.execute(f"ALTER TABLE items ADD COLUMN {name} {kind}")
    if not first:
        # After the columns they may name are there.
        for statement in INDEXES:
            await db.execute(statement)
    # IMMEDIATE takes the write lock of every attached database, the state store's too.
    await db.execute("BEGIN IMMEDIATE")
    try:
        if state_path is not None:
            await events_log.adopt(db, "state")
            await events_outbox.register(db, endpoints, "state")
        result = await _write(db, records, site, synonyms, started, vocab)
        for statement in INDEXES if first else ():
            await db.execute(statement)
        if state_path is not None:
            now = time.time()
            await events_log.announce(
                db,
                await events_log.content_states(db, now),
                at=now,
                links=events_log.site_links(site),
                complete=True,
                cause="build",
                content_revision=result.content_revision,
                content_hash=result.content_hash,
                schema="state",
            )
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return result


async def _write(
    db: aiosqlite.Connection,
    records: list[Record],
    site: bytes,
    synonyms: Sequence[Sequence[str]],
    started: float | None,
    vocab: Counter[str] | None,
) -> WriteResult:
    async with db.execute(
        "SELECT type, slug, locale, content_hash, deleted, revision FROM items"
    ) as cur:
        stored = {(t, s, loc): (h, bool(d), int(rev)) async for t, s, loc, h, d, rev in cur}
    async with db.execute("SELECT coalesce(max(revision), 0) FROM items") as cur:
        row = await cur.fetchone()
    revision = int(row[0]) if row else 0
    async with db.execute("SELECT value FROM meta WHERE key = 'schema_version'") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row is not None else None
    if version is not None and version < 4:
        # Rows written by an older schema lack the newer columns: write every item again.
        stored = {key: ("", deleted, rev) for key, (_, deleted, rev) in stored.items()}
    reindex = version is None or version < 5
    if reindex:
        await db.execute("DELETE FROM search")
    # Rows written before their ranking columns existed are given them, unchanged items too.
    ranked = version is None or version < 6
    ranks: list[tuple[object, ...]] = []

    created = updated = unchanged = deleted = 0
    live = set()
    # Collected, then written one statement per kind of change: a 60,000-item build was
    # otherwise dominated by round trips to the database thread.
    unindexed: list[tuple[int]] = []
    upserts: list[tuple[object, ...]] = []
    indexed: list[tuple[object, ...]] = []
    for record in records:  # already in (type, slug, locale) order: revisions are deterministic
        live.add(record.key)
        previous = stored.get(record.key)
        if previous is not None and previous[:2] == (record.content_hash, False):
            unchanged += 1
            if reindex:
                indexed.extend(_search_row(record, previous[2]))
            if ranked:
                ranks.append((*_ranking(record), *record.key))
            continue
        revision += 1
        if previous is None:
            created += 1
        else:
            updated += 1
            unindexed.append((previous[2],))
        upserts.append(_item_row(record, revision))
        indexed.extend(_search_row(record, revision))

    gone: list[tuple[int, str, str, str]] = []
    for key in sorted(stored.keys() - live):
        if stored[key][1]:
            continue  # already a tombstone
        unindexed.append((stored[key][2],))
        revision += 1
        deleted += 1
        gone.append((revision, *key))

    await db.executemany("DELETE FROM search WHERE rowid = ?", unindexed)
    await db.executemany(UPSERT_ITEM, upserts)
    await db.executemany(
        "UPDATE items SET title_words = ?, title_length = ? WHERE type = ? AND slug = ?"
        " AND locale = ?",
        ranks,
    )
    changed_keys = [row[:3] for row in upserts] + [row[1:] for row in gone]
    await db.executemany(
        "DELETE FROM links WHERE type = ? AND slug = ? AND locale = ?", changed_keys
    )
    by_key = {record.key: record for record in records}
    await db.executemany(
        "INSERT INTO links (type, slug, locale, rel, target) VALUES (?, ?, ?, ?, ?)",
        [(*key, rel, target) for key in (row[:3] for row in upserts)
         for rel, target in by_key[key].links],  # type: ignore[index]
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO search (rowid, title, keywords, summary, body) VALUES (?, ?, ?, ?, ?)",
        indexed,
    )
    await db.executemany(
        "UPDATE items SET deleted = 1, revision = ?, summary_json = NULL, detail_json = NULL"
        " WHERE type = ? AND slug = ? AND locale = ?",
        gone,
    )

    digest = hashlib.sha256(site)
    for record in records:
        digest.update(
            f"\n{record.type}/{record.slug}/{record.locale}:{record.content_hash}".encode()
        )
    content_hash = digest.hexdigest()
    await _write_vocabulary(db, vocabulary(records) if vocab is None else vocab, synonyms)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "synonyms": _encoder.encode([list(group) for group in synonyms]).decode("utf-8"),
        "content_revision": str(revision),
        "content_hash": content_hash,
        "site": site.decode("utf-8"),
        "default_locale": msgspec.json.decode(site)["default_locale"],
    }
    # A database's lineage is fixed by its first build, so replicas built from the same
    # content agree, and a sync cursor from another lineage can be told apart.
    await db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('lineage', ?)", (content_hash[:16],)
    )
    await db.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        meta.items(),
    )
    # The wall-clock time of the last change, which earlier builds kept here for
    # Last-Modified: replicas' meta must agree, and Last-Modified now comes from the content.
    await db.execute("DELETE FROM meta WHERE key = 'changed_at'")
    if started is not None:
        # When and how long the build ran, for /metrics. Kept out of `meta`, which replicas
        # built from the same content must agree on byte for byte.
        stats = {
            "built_at": f"{time.time():.3f}",
            "build_seconds": f"{time.perf_counter() - started:.3f}",
        }
        await db.executemany(
            "INSERT INTO build_stats (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            stats.items(),
        )
    return WriteResult(created, updated, deleted, unchanged, revision, content_hash)


UPSERT_ITEM = (
    "INSERT INTO items (type, slug, locale, revision, content_hash, deleted, sort_title,"
    " published_at, updated_at, topic, position, summary_json, detail_json,"
    " next_review_due, withdrawn, draft, live_from, live_until, title_words, title_length)"
    " VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (type, slug, locale) DO UPDATE SET"
    " revision = excluded.revision, content_hash = excluded.content_hash, deleted = 0,"
    " sort_title = excluded.sort_title, published_at = excluded.published_at,"
    " updated_at = excluded.updated_at, topic = excluded.topic,"
    " position = excluded.position, summary_json = excluded.summary_json,"
    " detail_json = excluded.detail_json, next_review_due = excluded.next_review_due,"
    " withdrawn = excluded.withdrawn, draft = excluded.draft,"
    " live_from = excluded.live_from, live_until = excluded.live_until,"
    " title_words = excluded.title_words, title_length = excluded.title_length"
)


def _item_row(record: Record, revision: int) -> tuple[object, ...]:
    summary = msgspec.structs.replace(
        record.summary, revision=revision, content_hash=record.content_hash
    )
    detail = msgspec.structs.replace(
        record.detail, revision=revision, content_hash=record.content_hash
    )
    return (
        *record.key,
        revision,
        record.content_hash,
        record.sort_title,
        record.published_at,
        record.updated_at,
        record.topic,
        record.position,
        _encoder.encode(summary),
        _encoder.encode(detail),
        record.next_review_due,
        record.withdrawn,
        int(record.draft),
        record.live_from,
        record.live_until,
        *_ranking(record),
    )


def _search_row(record: Record, revision: int) -> list[tuple[object, ...]]:
    # Every item is indexed, drafts too: the preview channel finds what it shows. A public
    # search is filtered to what its channel is served (api/timeline.py: never a draft),
    # and a draft's words are not offered as corrections (`vocabulary`, below); a scheduled
    # item's are offered once it is live (api/storage/search.py).
    if record.search is None:
        return []
    return [(revision, *record.search.columns())]


def _ranking(record: Record) -> tuple[int, int]:
    """What search ranks an item on besides the index (api/storage/search.py): the words of
    its title that are not stop words (at least 1), and its indexed title's length."""
    if record.search is None:
        return (1, 0)
    title = record.search.title
    title_words = [w for w in words(title) if w not in STOP_WORDS]
    return (max(1, len(title_words)), len(index_text(title)))


def vocabulary(records: Iterable[Record]) -> Counter[str]:
    """Every folded word of the records' search text, with how many of them use it."""
    docs: Counter[str] = Counter()
    for record in records:
        if record.search is not None and not record.draft:
            docs.update(set(words(" ".join(record.search.columns()))))
    return docs


async def _write_vocabulary(
    db: aiosqlite.Connection, counted: Counter[str], synonyms: Sequence[Sequence[str]]
) -> None:
    """Every word of the live items, with how many items use it, plus the synonyms' words."""
    docs = counted.copy()
    for group in synonyms:
        for term in group:
            for word in words(term):
                docs[word] += 0
    await db.execute("DELETE FROM search_terms")
    await db.executemany(
        "INSERT INTO search_terms (term, docs) VALUES (?, ?)",
        sorted((term, count) for term, count in docs.items() if len(term) > 1),
    )
