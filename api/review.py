"""Clinical review as data: an item's review status, and which channels get overdue items.

`review_status` depends on today's date, not only on the content, so it is computed when a
request is answered, never at build time. Anything that caches responses by content revision
(issue 5) must also key or expire them by the UTC date, or an item that falls due overnight
keeps being served as `current`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import get_args

from schemas.resources import Channel, ReviewStatus

REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)
CHANNELS: tuple[str, ...] = get_args(Channel)
#: The status the build writes into stored JSON; the store swaps in the real one on read.
STORED_STATUS: ReviewStatus = "current"
DEFAULT_DUE_DAYS = 30
#: Patient-facing channels stop showing an item once its review has lapsed; editors see all.
DEFAULT_SERVE_OVERDUE = frozenset({"editor"})


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class ReviewWindow:
    """Today's dates as the database compares them (ISO strings), and what they imply."""

    today: str
    due_until: str
    serve_overdue: bool

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

    def window(self, channel: str, today: dt.date | None = None) -> ReviewWindow:
        day = today or utc_today()
        return ReviewWindow(
            today=day.isoformat(),
            due_until=(day + dt.timedelta(days=self.due_days)).isoformat(),
            serve_overdue=channel in self.serve_overdue,
        )
