-- The state store: what the API has told its consumers, and what it still owes them.
-- A file of its own (CLINIC_STATE_PATH), beside the content database but not part of it:
-- a content database rebuilt from scratch starts a new lineage of revisions, while the
-- events already recorded and the deliveries still owed must go on. Every statement names
-- its schema as {s}: the build attaches this file to its own connection as `state`, so
-- that the events of a build are written in the build's transaction; the server opens it
-- as `main`.

CREATE TABLE IF NOT EXISTS {s}.state_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- What consumers were last told about each item. Events are the differences between this
-- and the content as a build (or a transition) leaves it, so a content database rebuilt
-- from scratch announces only what really changed, and two processes announcing the same
-- change one after the other record it once.
CREATE TABLE IF NOT EXISTS {s}.announced (
    type          TEXT    NOT NULL,
    slug          TEXT    NOT NULL,
    locale        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    live          INTEGER NOT NULL,
    review_status TEXT,
    -- How many events were recorded about the item: part of each event's id, so ids are
    -- the same wherever the same history is announced.
    changes       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (type, slug, locale)
) WITHOUT ROWID;

-- The event log, oldest first (GET /v1/events). `payload` is the JSON body exactly as
-- pulled and as signed and sent to webhooks.
CREATE TABLE IF NOT EXISTS {s}.events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    occurred_at TEXT    NOT NULL,
    payload     BLOB    NOT NULL
);

-- Webhook endpoints as last configured. `fanned_through` is the last event given to the
-- outbox for the endpoint; an endpoint that answered 410 Gone is disabled until an
-- operator enables it again (or its URL changes).
CREATE TABLE IF NOT EXISTS {s}.endpoints (
    name            TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL,
    fanned_through  INTEGER NOT NULL,
    disabled_at     REAL,
    disabled_reason TEXT
) WITHOUT ROWID;

-- The outbox: one row per event and endpoint, until delivered or given up. A worker claims
-- rows by setting a lease in one UPDATE; a lease that runs out (the worker died mid-attempt)
-- makes the row claimable again, so delivery is at least once.
CREATE TABLE IF NOT EXISTS {s}.deliveries (
    id              INTEGER PRIMARY KEY,
    event_seq       INTEGER NOT NULL,
    endpoint        TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',  -- pending, delivered, failed
    -- Attempts since the row was made or last redelivered: the place in the retry schedule.
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      REAL    NOT NULL,
    delivered_at    REAL,
    UNIQUE (event_seq, endpoint)
);

CREATE INDEX IF NOT EXISTS {s}.deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS {s}.deliveries_by_state ON deliveries (state, id);

-- Every attempt, recorded when it starts (so one cut short by a crash is still there, with
-- no outcome) and completed when it ends.
CREATE TABLE IF NOT EXISTS {s}.attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT    NOT NULL,
    started_at  REAL    NOT NULL,
    seconds     REAL,
    status      INTEGER,
    error       TEXT
);

CREATE INDEX IF NOT EXISTS {s}.attempts_by_delivery ON attempts (delivery_id, id);
