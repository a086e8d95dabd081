"""Which content revision is live, noticed cheaply on every request.

A build runs beside the server and commits to the same SQLite file (WAL). `PRAGMA
data_version` on a connection of our own changes whenever another connection commits (a
few microseconds to ask), and the content fingerprint in `meta` says whether the content
changed; a build that changed nothing keeps the prepared responses.

Inside a running event loop the answer is kept until the loop's current turn ends: the
requests a turn handles arrived together, before it began, so one question serves them
all, and any request that arrives after a commit is handled in a later turn and asks again.
Under load that is one question for many requests instead of one each.

The `-shm` file is deliberately never opened here: closing any descriptor of a file drops
every POSIX lock this process holds on it, SQLite's included, and the next build would then
take the WAL index for unused, reset it, and the server's own mapping of it would fault
(SIGBUS). That was seen under load with an earlier version that read the WAL-index header
directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from api.review import ReviewPolicy
from api.storage.reads import changed_by
from api.timeline import PUBLISHED, read_expiries, read_instants


@dataclass(frozen=True, slots=True)
class Revision:
    """One live state of the content; prepared responses belong to exactly one."""

    fingerprint: tuple[str, str]
    #: POSIX seconds of the newest `updated_at` in the content (a date the content gives,
    #: so every replica built from it agrees), or None when it has no item.
    changed_at: int | None
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en",)
    #: The instants (POSIX seconds, sorted) after the revision was read at which answers
    #: change without a build: go-live, expiry, reviews falling due and overdue.
    transitions: tuple[float, ...] = ()
    #: Every expiry of the content (POSIX seconds, sorted), past ones included.
    expiries: tuple[float, ...] = ()
    #: (go-live, updated_at) in POSIX seconds of the items not live yet when the revision
    #: was read, by go-live: `changed_at` counts each from its go-live on.
    scheduled: tuple[tuple[float, int], ...] = ()
    #: What changed since the revision read before it: (that one's fingerprint, the reads
    #: the change touched, api/storage/reads.py); None when not known (the first one read,
    #: a rebuild from scratch, a change too large to be worth listing).
    changes: tuple[tuple[str, str], frozenset[str]] | None = field(default=None, compare=False)

    def changed_before(self, until: float) -> int | None:
        """`changed_at` as of the transition window that ends at `until`: the same on
        every replica, whenever it read the revision."""
        later = [updated for live_from, updated in self.scheduled if live_from < until]
        if not later:
            return self.changed_at
        return max(self.changed_at or 0, *later)


#: How often to check that the database file is still the one we opened (replaced files).
REOPEN_CHECK_SECONDS = 1.0
#: Items a build may change and still have its changes listed (`Revision.changes`): past
#: that, most answers change anyway, and listing them would hold up the server's loop.
MAX_LISTED_CHANGES = 1000


class RevisionWatch:
    def __init__(self, db_path: Path, policy: ReviewPolicy | None = None) -> None:
        self.db_path = db_path
        self.policy = policy or ReviewPolicy()
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self._next_file_check = 0.0
        self._version: int | None = None
        self._current: Revision | None = None
        #: The meta `_current` was read with, for what the next build changed in it.
        self._meta: dict[str, str] = {}
        #: True from a check until the end of the event loop's turn it was made in.
        self._asked = False

    def current(self) -> Revision | None:
        """The live revision, or None while there is no built database to serve."""
        if self._asked:
            return self._current
        current = self._check()
        try:
            asyncio.get_running_loop().call_soon(self._forget)
        except RuntimeError:  # no running loop: ask every time
            return current
        self._asked = True
        return current

    def _forget(self) -> None:
        self._asked = False

    def _check(self) -> Revision | None:
        now = time.monotonic()
        if now >= self._next_file_check:
            self._next_file_check = now + REOPEN_CHECK_SECONDS
            if self._db is not None and self._file != _identity(self.db_path):
                self.close()  # the file was replaced, not written in place: open the new one
        db = self._db
        if db is None:
            db = self._open()
            if db is None:
                return None
        try:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._read(db, version)
        except sqlite3.Error:
            self.close()
            return None
        return self._current

    def _open(self) -> sqlite3.Connection | None:
        if not self.db_path.is_file():
            return None
        try:
            db = sqlite3.connect(
                f"file:{self.db_path.resolve()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("PRAGMA query_only = 1")
        except sqlite3.Error:
            return None
        self._db = db
        self._file = _identity(self.db_path)
        return db

    def _read(self, db: sqlite3.Connection, version: int) -> None:
        # One read transaction: the transitions belong to the build whose meta is read.
        db.execute("BEGIN")
        try:
            self._read_in_snapshot(db, version)
        finally:
            db.execute("COMMIT")

    def _read_in_snapshot(self, db: sqlite3.Connection, version: int) -> None:
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            now = time.time()
            newest, scheduled = _newest(db, now)
        except sqlite3.OperationalError:  # no build has committed yet
            meta, newest, scheduled = {}, None, ()
        self._version = version
        if "content_hash" not in meta:
            self._current = None
            return
        fingerprint = (meta["content_hash"], meta.get("content_revision", ""))
        if self._current is None or self._current.fingerprint != fingerprint:
            changes = None
            if self._current is not None:
                changes = _changes(db, self._current.fingerprint, self._meta, meta)
            self._meta = meta
            site = json.loads(meta.get("site") or "{}")
            default = str(site.get("default_locale", "en"))
            self._current = Revision(
                fingerprint,
                _seconds(newest) if newest else None,
                default,
                tuple(site.get("locales") or (default,)),
                read_instants(db, self.policy, now),
                read_expiries(db),
                scheduled,
                changes,
            )

    def close(self) -> None:
        self._asked = False
        if self._db is not None:
            self._db.close()
        self._db = None
        self._version = None
        self._current = None


def _changes(
    db: sqlite3.Connection,
    before: tuple[str, str],
    old: dict[str, str],
    new: dict[str, str],
) -> tuple[tuple[str, str], frozenset[str]] | None:
    """What changed from the revision `before` (whose meta was `old`) to this one: the
    items of a newer revision (edited, added, removed) and the meta keys that differ."""
    if old.get("lineage") != new.get("lineage"):
        return None  # built again from scratch: revisions started over
    try:
        since = int(before[1])
        if int(new.get("content_revision", "")) < since:
            return None
    except ValueError:
        return None
    rows = db.execute(
        "SELECT DISTINCT type, slug FROM items WHERE revision > ? LIMIT ?",
        (since, MAX_LISTED_CHANGES + 1),
    ).fetchall()
    if len(rows) > MAX_LISTED_CHANGES:
        return None
    keys = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return before, changed_by(rows, keys)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _newest(db: sqlite3.Connection, now: float) -> tuple[str | None, tuple[tuple[float, int], ...]]:
    """The newest updated_at of the items live at `now` (a draft's, or a scheduled item's,
    would tell what is coming), and (go-live, updated_at) of those scheduled after it."""
    try:
        row = db.execute(
            f"SELECT max(updated_at) FROM items WHERE {PUBLISHED}"
            " AND (live_from IS NULL OR live_from <= ?)",
            (now,),
        ).fetchone()
        scheduled = tuple(
            (float(live_from), _seconds(updated))
            for live_from, updated in db.execute(
                f"SELECT live_from, updated_at FROM items WHERE live_from > ? AND {PUBLISHED}"
                " ORDER BY live_from",
                (now,),
            )
        )
    except sqlite3.OperationalError as exc:
        if "no such column" not in str(exc):
            raise
        # Built before items had bounds.
        row = db.execute("SELECT max(updated_at) FROM items WHERE deleted = 0").fetchone()
        scheduled = ()
    return (row[0] if row else None), scheduled


def _seconds(moment: str) -> int:
    """`2026-01-31T09:00:00Z` (as the build stores dates) as POSIX seconds."""
    parsed = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp())
