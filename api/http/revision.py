"""Which content revision is live, noticed cheaply on every request.

A build runs beside the server and commits to the same SQLite file (WAL). Every commit
rewrites the WAL-index header at the start of the `-shm` file, which SQLite shares by
mmap: comparing its first 96 bytes with what we saw last costs well under a microsecond,
so every request can look (https://www.sqlite.org/walformat.html, "the WAL-index header").
When they differ, `PRAGMA data_version` on a connection of our own says whether another
connection committed, and the content fingerprint in `meta` whether the content changed;
a build that changed nothing keeps the prepared responses. Without a `-shm` file (not in
WAL mode) the pragma is asked on every request instead (a few microseconds).
"""

from __future__ import annotations

import json
import mmap
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Revision:
    """One live state of the content; prepared responses belong to exactly one."""

    fingerprint: tuple[str, str]
    #: POSIX seconds when the content last changed, or None for a database built before
    #: the build recorded it.
    changed_at: int | None
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en",)


#: Bytes of the -shm file that every commit rewrites (two copies of the WAL-index header).
WAL_INDEX_HEADER = 96
#: How often to check that the database file is still the one we opened (replaced files).
REOPEN_CHECK_SECONDS = 1.0


class RevisionWatch:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._db: sqlite3.Connection | None = None
        self._shm: mmap.mmap | None = None
        self._seen = b""
        self._file: tuple[int, int] | None = None
        self._next_file_check = 0.0
        self._version: int | None = None
        self._current: Revision | None = None

    def current(self) -> Revision | None:
        """The live revision, or None while there is no built database to serve."""
        shm = self._shm
        if shm is not None:
            header = shm[:WAL_INDEX_HEADER]
            if header == self._seen and time.monotonic() < self._next_file_check:
                return self._current
        else:
            header = b""
        return self._check(header)

    def _check(self, header: bytes) -> Revision | None:
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
            header = self._shm[:WAL_INDEX_HEADER] if self._shm is not None else b""
        try:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._read(db, version)
        except sqlite3.Error:
            self.close()
            return None
        # Seen before the pragma: a commit after that point changes the header again.
        self._seen = header
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
            wal = db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        except sqlite3.Error:
            return None
        self._db = db
        self._file = _identity(self.db_path)
        self._shm = _map_shm(Path(f"{self.db_path}-shm")) if wal else None
        return db

    def _read(self, db: sqlite3.Connection, version: int) -> None:
        try:
            meta = dict(
                db.execute(
                    "SELECT key, value FROM meta"
                    " WHERE key IN ('content_hash', 'content_revision', 'changed_at', 'site')"
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
            site = json.loads(meta.get("site") or "{}")
            default = str(site.get("default_locale", "en"))
            self._current = Revision(
                fingerprint,
                int(changed) if changed else None,
                default,
                tuple(site.get("locales") or (default,)),
            )

    def close(self) -> None:
        if self._shm is not None:
            self._shm.close()
        if self._db is not None:
            self._db.close()
        self._shm = None
        self._seen = b""
        self._db = None
        self._version = None
        self._current = None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _map_shm(path: Path) -> mmap.mmap | None:
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size < WAL_INDEX_HEADER:
                return None
            return mmap.mmap(file.fileno(), WAL_INDEX_HEADER, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
