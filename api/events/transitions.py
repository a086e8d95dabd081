"""Events at transitions: a task in each server process that records, at its instant, what
a go-live, an expiry or a review falling due or overdue changed, with no build and no
request needed.

It sleeps until the next transition of the built content (api/timeline.py), looking at
the content database every `CHECK_SECONDS` so a build that moves the calendar is noticed,
then announces the items the transition changed (`Store.transitioned`) as they stand at
that instant, through `record_transition`, and wakes the webhook sender. Every worker
and replica on one state store does the same at the same instant: the announcement is
recorded once (the others find it already announced). How far transitions have been
recorded is kept in the state store (`transitions_through`), so a server started after
some passed while none was running records them at their own instants, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from api.events import log
from api.review import ReviewPolicy
from api.storage.reader import Store
from api.timeline import read_instants

logger = logging.getLogger("api.events")

#: How often the content database is looked at for a build that moved the calendar.
CHECK_SECONDS = 1.0
#: The state store's record of the latest transition recorded (POSIX seconds).
THROUGH_KEY = "transitions_through"

_ITEM = (
    "SELECT revision, content_hash, deleted = 0 AND withdrawn IS NULL AND draft = 0"
    " AND (live_from IS NULL OR live_from <= ?) AND (live_until IS NULL OR live_until > ?),"
    " topic, next_review_due FROM items WHERE type = ? AND slug = ? AND locale = ?"
)


def _read_only(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None)
    db.execute("PRAGMA query_only = 1")
    return db


class Transitions:
    def __init__(
        self,
        db_path: Path,
        state_path: Path,
        policy: ReviewPolicy,
        *,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.db_path = db_path
        self.state_path = state_path
        self.policy = policy
        #: Called after events were recorded: the webhook sender's wake-up.
        self.wake = wake
        self.task: asyncio.Task[None] | None = None
        #: Set to stop: the task ends between two steps, never in the middle of one (a
        #: connection opened by a cancelled step would be left unclosed).
        self.stopping = asyncio.Event()
        #: (instant, events recorded) of each transition this process recorded, newest last.
        self.recorded: list[tuple[float, int]] = []

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="transitions")

    async def stop(self, timeout: float = 5.0) -> None:
        if self.task is None:
            return
        self.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:  # a step stuck on a locked database: give up on it
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    async def run(self) -> None:
        through = await self._through()
        while not self.stopping.is_set():
            wait = CHECK_SECONDS
            try:
                upcoming = await asyncio.to_thread(self._instants, through)
                for instant in upcoming:
                    if instant > time.time() or self.stopping.is_set():
                        wait = min(wait, instant - time.time())
                        break
                    await self.record(through, instant)
                    through = instant
            except Exception as exc:  # e.g. a build holding the lock: try again shortly
                text = f"{type(exc).__name__}: {exc}"[:300]
                logger.warning(json.dumps({"event": "transitions", "error": text}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), max(wait, 0.0))

    async def _through(self) -> float:
        """Where recording resumes: the last transition recorded on this state store, else
        the last build (it announced everything before it), else now."""
        with contextlib.suppress(OSError, sqlite3.Error):
            db = await log.connect(self.state_path)
            try:
                async with db.execute(
                    "SELECT value FROM state_meta WHERE key = ?", (THROUGH_KEY,)
                ) as cur:
                    row = await cur.fetchone()
            finally:
                await db.close()
            if row is not None:
                return float(row[0])
        with contextlib.suppress(OSError, sqlite3.Error, ValueError, TypeError):
            built = await asyncio.to_thread(self._built_at)
            if built is not None:
                return min(built, time.time())
        return time.time()

    def _built_at(self) -> float | None:
        if not self.db_path.is_file():
            return None
        db = _read_only(self.db_path)
        try:
            row = db.execute("SELECT value FROM build_stats WHERE key = 'built_at'").fetchone()
        finally:
            db.close()
        return None if row is None else float(row[0])

    def _instants(self, after: float) -> tuple[float, ...]:
        if not self.db_path.is_file():
            return ()
        db = _read_only(self.db_path)
        try:
            return read_instants(db, self.policy, after)
        finally:
            db.close()

    async def record(self, since: float, at: float) -> list[log.Recorded]:
        """Announce what changed in (`since`, `at`] as it stands at `at`."""
        store = await Store.open(self.db_path)
        store.review_policy = self.policy
        try:
            async with store.snapshot():
                meta = dict(store.meta)
                # A channel that is served overdue items or not, the items chosen are the
                # same; only whether each is shown differs, and events judge that apart.
                window = self.policy.window("editor", now=at)
                changed = await store.transitioned(since, window)
                states: list[log.ItemState] = []
                for change in changed:
                    async with store.db.execute(
                        _ITEM, (at, at, change.type, change.slug, change.locale)
                    ) as cur:
                        row = await cur.fetchone()
                    if row is None:
                        continue
                    revision, content_hash, live, topic, due = row
                    states.append(
                        log.ItemState(
                            change.type,
                            change.slug,
                            change.locale,
                            int(revision),
                            str(content_hash),
                            bool(live),
                            topic,
                            window.status(due),
                        )
                    )
        finally:
            await store.close()
        if "site" not in meta:
            return []
        recorded = await log.record_transition(
            self.state_path,
            states,
            at=at,
            links=log.site_links(meta["site"]),
            content_revision=int(meta.get("content_revision") or 0),
            through=at,
        )
        self.recorded.append((at, len(recorded)))
        del self.recorded[:-100]
        if recorded:
            logger.info(
                json.dumps(
                    {
                        "event": "transition",
                        "at": log.rfc3339(at),
                        "recorded": len(recorded),
                        "late_seconds": round(time.time() - at, 3),
                    }
                )
            )
            if self.wake is not None:
                self.wake()
        return recorded
