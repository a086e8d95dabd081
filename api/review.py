"""Clinical review as data: an item's review status, and which channels get overdue items.

`review_status` depends on today's date, not only on the content, so it is computed when a
request is answered, never at build time. The days on which it changes for some item are
transitions (api/timeline.py): prepared responses last until the next one.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import get_args

from schemas.resources import PublicChannel, ReviewStatus

REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)
#: The channels CLINIC_SERVE_OVERDUE may name (the preview channel is served everything).
CHANNELS: tuple[str, ...] = get_args(PublicChannel)
#: The status the build writes into stored JSON; the store swaps in the real one on read.
STORED_STATUS: ReviewStatus = "current"
DEFAULT_DUE_DAYS = 30
#: Patient-facing channels stop showing an item once its review has lapsed; editors see all.
DEFAULT_SERVE_OVERDUE = frozenset({"editor"})


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class ReviewWindow:
    """The instant an answer is made for, as the database compares it: today's dates (ISO
    strings) for review, POSIX seconds for what is live (api/timeline.py), and whether the
    channel is served overdue items."""

    today: str
    due_until: str
    serve_overdue: bool
    now: float = 0.0
    #: The preview channel's window: every item that exists (drafts, scheduled, expired and
    #: withdrawn ones too), each saying where it stands (api/preview.py).
    everything: bool = False

    def status(self, next_review_due: str | None) -> ReviewStatus:
        if next_review_due is None or next_review_due > self.due_until:
            return "current"
        return "overdue" if next_review_due < self.today else "due"


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """CLINIC_REVIEW_DUE_DAYS and CLINIC_SERVE_OVERDUE.

    An item is `overdue` once its next_review_due date has passed, `due` from that many days
    before it up to the date itself, and `current` before that.
    """

    due_days: int = DEFAULT_DUE_DAYS
    serve_overdue: frozenset[str] = field(default_factory=lambda: DEFAULT_SERVE_OVERDUE)

    def window(
        self,
        channel: str,
        today: dt.date | None = None,
        *,
        now: float | None = None,
        everything: bool = False,
    ) -> ReviewWindow:
        """The window at `now` (POSIX seconds; the clock when omitted), or at the start of
        `today` (UTC) when only a day is given. `everything`: the preview channel's, which
        is served every item, overdue ones included."""
        if now is None:
            if today is None:
                now = time.time()
            else:
                now = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC).timestamp()
        day = today or dt.datetime.fromtimestamp(now, dt.UTC).date()
        return ReviewWindow(
            today=day.isoformat(),
            due_until=(day + dt.timedelta(days=self.due_days)).isoformat(),
            serve_overdue=everything or channel in self.serve_overdue,
            now=now,
            everything=everything,
        )

    def instants(self, next_review_due: str) -> tuple[float, float]:
        """(when an item's review falls due, when it becomes overdue), as POSIX seconds:
        the starts of the UTC days on which `status` changes for it."""
        day = dt.date.fromisoformat(next_review_due)
        due = day - dt.timedelta(days=self.due_days)
        overdue = day + dt.timedelta(days=1)
        return (
            dt.datetime(due.year, due.month, due.day, tzinfo=dt.UTC).timestamp(),
            dt.datetime(overdue.year, overdue.month, overdue.day, tzinfo=dt.UTC).timestamp(),
        )
