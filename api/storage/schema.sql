-- The content database. Written only by the build (api/build); read by the API.
-- Every change to an item takes the next number of one sequence, its revision, so
-- "what changed since revision N" is one indexed range scan (used by /v1/sync).

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- When the last build ran and how long it took (for /metrics). Not in meta: meta is the
-- same on every replica built from the same content; these figures are not.
CREATE TABLE IF NOT EXISTS build_stats (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS items (
    type         TEXT    NOT NULL,
    slug         TEXT    NOT NULL,
    locale       TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    sort_title   TEXT    NOT NULL,
    published_at TEXT,
    updated_at   TEXT    NOT NULL,
    topic        TEXT,
    position     INTEGER NOT NULL DEFAULT 0,
    summary_json BLOB,
    detail_json  BLOB,
    -- ISO date; review_status is derived from it and today's date when a request is answered.
    next_review_due TEXT,
    -- JSON {reason, superseded_by} when the content withdraws the item (410 Gone), else NULL.
    -- Unlike a tombstone, a withdrawn item is still content and keeps its JSON.
    withdrawn    BLOB,
    -- 1 for a draft: built and checked, never served.
    draft        INTEGER NOT NULL DEFAULT 0,
    -- POSIX seconds: served from live_from (published_at) until live_until (expires_at);
    -- NULL is no bound. Whether an item is live is decided per request from these.
    live_from    REAL,
    live_until   REAL,
    -- What search ranks on besides the index: how many words of the title are not stop
    -- words, and the indexed title's length. Here rather than in the search table, where
    -- reading either loads the whole indexed row, body included, for every hit.
    title_words  INTEGER NOT NULL DEFAULT 1,
    title_length INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (type, slug, locale)
) WITHOUT ROWID;

CREATE UNIQUE INDEX IF NOT EXISTS items_by_revision ON items (revision);
-- Everything a search hit is filtered and ordered on, by the revision its index row carries:
-- a common word matches most items, and reading each from the table instead costs tens of
-- milliseconds a query (api/storage/search.py names it).
CREATE INDEX IF NOT EXISTS items_by_revision_ranked ON items (revision, type, slug, locale, deleted, draft, withdrawn, live_from, live_until, next_review_due, topic, title_words, title_length);
-- Everything a list is counted on, so that counting one reads this index alone: the
-- columns after the JSON in a row are reached only through its overflow pages (a count of
-- a thousand articles read from the table took 10 ms; from here, 0.2 ms).
CREATE INDEX IF NOT EXISTS items_counted ON items (type, locale, deleted, draft, withdrawn, live_from, live_until, next_review_due, topic);
-- A list's order, with every column its page is chosen on after the order (whether an item
-- is served at the instant, the review and date filters), so that the page's items are
-- chosen from one of these alone and only they are read from the table (storage/reader.py):
-- a tag names a few dozen of a thousand articles, and reading each article in the order
-- to test it took 11 ms a page; from here, 0.7 ms (the page's summaries included).
CREATE INDEX IF NOT EXISTS items_sorted_by_published ON items (type, locale, published_at, slug, deleted, draft, withdrawn, live_from, live_until, next_review_due, updated_at) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS items_sorted_by_updated ON items (type, locale, updated_at, slug, deleted, draft, withdrawn, live_from, live_until, next_review_due, published_at) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS items_sorted_by_title ON items (type, locale, sort_title, slug, deleted, draft, withdrawn, live_from, live_until, next_review_due, published_at, updated_at) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS items_sorted_by_position ON items (type, locale, position, slug, deleted, draft, withdrawn, live_from, live_until, next_review_due, published_at, updated_at) WHERE deleted = 0;
-- The transitions of the content (api/timeline.py) and its newest date, read in the
-- server's loop when a build goes live: each from one of these alone, by a range scan after
-- the columns that say an item is published (read from the table instead, through the
-- rows' overflow pages, they took 90 ms for 6,000 items; from here, 1 ms).
CREATE INDEX IF NOT EXISTS items_served_days ON items (deleted, draft, withdrawn, next_review_due);
CREATE INDEX IF NOT EXISTS items_served_from ON items (deleted, draft, withdrawn, live_from, updated_at);
CREATE INDEX IF NOT EXISTS items_served_until ON items (deleted, draft, withdrawn, live_until);
CREATE INDEX IF NOT EXISTS items_served_updated ON items (deleted, draft, withdrawn, updated_at, live_from);
-- What they replace, in databases built before.
DROP INDEX IF EXISTS items_by_revision_served;
DROP INDEX IF EXISTS items_by_published;
DROP INDEX IF EXISTS items_by_updated;
DROP INDEX IF EXISTS items_by_title;
DROP INDEX IF EXISTS items_by_position;
DROP INDEX IF EXISTS items_by_live_from;
DROP INDEX IF EXISTS items_by_live_until;
DROP INDEX IF EXISTS items_by_review_day;

-- Relations by slug (tag, condition, treatment, symptom, topic), for filters and include.
CREATE TABLE IF NOT EXISTS links (
    type   TEXT NOT NULL,
    slug   TEXT NOT NULL,
    locale TEXT NOT NULL,
    rel    TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (type, slug, locale, rel, target)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS links_by_target ON links (type, rel, target, locale, slug);

-- Full-text search. One row per live item; its rowid is the item's revision, so a
-- hit joins items through items_by_revision and a change replaces exactly one row.
-- porter stems English ("infusions" finds "infusion"); unicode61 folds case and accents
-- ("inyeccion" finds "inyección"). Columns are weighted at query time (bm25).
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    title,
    keywords,
    summary,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Every folded word the index and the synonyms hold, with the number of items using it:
-- what a misspelt or half-typed query word is corrected against. Rebuilt by every build.
CREATE TABLE IF NOT EXISTS search_terms (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
