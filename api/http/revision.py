"""Which content revision is live, noticed cheaply on every request.

A build runs beside the server and commits to the same SQLite file (WAL). `PRAGMA
data_version` on a connection of our own changes exactly when another connection has
committed, and costs a few microseconds, so every request can ask it without a thread hop.
Only when it moves do we read the content fingerprint from `meta`; a build that changed
nothing keeps the prepared responses.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Revision:
    """One live state of the content; prepared responses belong to exactly one."""

    fingerprint: tuple[str, str]
    #: POSIX seconds when the content last changed, or None for a database built before
    #: the build recorded it.
    changed_at: int | None

    @property
    def last_modified(self) -> bytes | None:
        if self.changed_at is None:
            return None
        return formatdate(self.changed_at, usegmt=True).encode("ascii")


class RevisionWatch:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._db: sqlite3.Connection | None = None
        self._version: int | None = None
        self._current: Revision | None = None

    def current(self) -> Revision | None:
        """The live revision, or None while there is no built database to serve."""
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
        return db

    def _read(self, db: sqlite3.Connection, version: int) -> None:
        try:
            meta = dict(
                db.execute(
                    "SELECT key, value FROM meta"
                    " WHERE key IN ('content_hash', 'content_revision', 'changed_at')"
                ).fetchall()
            )
        except sqlite3.OperationalError:  # no build has committed yet
            meta = {}
        self._version = version
        if "content_hash" not in meta:
            self._current = None
            return
        fingerprint = (meta["content_hash"], meta.get("content_revision", ""))
        if self._current is None or self._current.fingerprint != fingerprint:
            changed = meta.get("changed_at")
            self._current = Revision(fingerprint, int(changed) if changed else None)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        self._version = None
        self._current = None
