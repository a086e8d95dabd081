"""Content over time: what is live at an instant, and when that next changes.

An item is live for a channel at instant `t` when it is not a draft, `published_at <= t <
expires_at`, it is not withdrawn, and its review is not overdue at `t` unless the channel
is served overdue items (api/review.py). Nothing of this is decided at build time: the
build stores each item's bounds (`draft`, `live_from`, `live_until`, `next_review_due`)
and every answer is computed for an instant.

Every instant at which an answer can change without a build is known once content is
built: go-live, expiry, a review falling due, a review falling overdue. Between two of them
(a *transition window*) every answer is the same, so prepared answers last exactly one
window, and cache lifetimes are capped at its end (api/http/delivery.py).
"""

from __future__ import annotations

import bisect
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from api.review import ReviewPolicy, ReviewWindow

State = Literal["draft", "scheduled", "live", "expired"]

#: Items that could ever be served: not tombstones, not withdrawn, not drafts.
PUBLISHED = "deleted = 0 AND withdrawn IS NULL AND draft = 0"


def state(draft: bool, live_from: float | None, live_until: float | None, now: float) -> State:
    """Where an item stands at `now` (withdrawal and review are judged apart)."""
    if draft:
        return "draft"
    if live_from is not None and now < live_from:
        return "scheduled"
    if live_until is not None and now >= live_until:
        return "expired"
    return "live"


def live_at(window: ReviewWindow, alias: str = "") -> tuple[str, list[Any]]:
    """SQL that holds for items live at the window's instant (review aside), and its
    parameters. `alias` names the items table in a subquery. The preview channel's window
    holds every item that exists."""
    a = f"{alias}." if alias else ""
    if window.everything:
        return f"{a}deleted = 0", []
    sql = (
        f"{a}deleted = 0 AND {a}withdrawn IS NULL AND {a}draft = 0"
        f" AND ({a}live_from IS NULL OR {a}live_from <= ?)"
        f" AND ({a}live_until IS NULL OR {a}live_until > ?)"
    )
    return sql, [window.now, window.now]


_FUTURE_BOUNDS = (
    f"SELECT live_from FROM items WHERE live_from > ? AND {PUBLISHED}"
    f" UNION SELECT live_until FROM items WHERE live_until > ? AND {PUBLISHED}"
)
_REVIEW_DAYS = (
    f"SELECT DISTINCT next_review_due FROM items WHERE next_review_due IS NOT NULL AND {PUBLISHED}"
)


def status_sql(window: ReviewWindow, alias: str = "") -> str:
    """A column for the items' `publication_status` at the window's instant, for the
    preview channel's window; `NULL` for any other (public answers never carry it). The
    instant is a float the server computed, never text from a request. `alias` names the
    items table."""
    if not window.everything:
        return "NULL"
    now = repr(float(window.now))
    a = f"{alias}." if alias else ""
    return (
        f"CASE WHEN {a}withdrawn IS NOT NULL THEN 'withdrawn' WHEN {a}draft THEN 'draft'"
        f" WHEN {a}live_from IS NOT NULL AND {a}live_from > {now} THEN 'scheduled'"
        f" WHEN {a}live_until IS NOT NULL AND {a}live_until <= {now} THEN 'expired'"
        " ELSE 'live' END"
    )


def publication_status(
    withdrawn: object, draft: bool, live_from: float | None, live_until: float | None, now: float
) -> str:
    """The same as `status_sql`, for a row already read."""
    return "withdrawn" if withdrawn is not None else state(draft, live_from, live_until, now)


def instants(bounds: Iterable[float], review_days: Iterable[str], policy: ReviewPolicy,
             after: float) -> tuple[float, ...]:  # fmt: skip
    """The transitions after `after`, sorted: the items' bounds and the instants their
    reviews fall due and overdue."""
    found = {b for b in bounds if b > after}
    for day in review_days:
        try:
            found.update(t for t in policy.instants(day) if t > after)
        except ValueError:  # not a date: the build writes ISO dates only
            continue
    return tuple(sorted(found))


_EXPIRIES = f"SELECT DISTINCT live_until FROM items WHERE live_until IS NOT NULL AND {PUBLISHED}"


def read_expiries(db: sqlite3.Connection) -> tuple[float, ...]:
    """Every expiry of the content, past ones included, sorted (empty for a database built
    before items had bounds)."""
    try:
        return tuple(sorted(row[0] for row in db.execute(_EXPIRIES)))
    except sqlite3.OperationalError:
        return ()


def read_instants(db: sqlite3.Connection, policy: ReviewPolicy, after: float) -> tuple[float, ...]:
    """The transitions after `after` in a built database (empty for one built before items
    had bounds: its content does not change over time but for reviews)."""
    try:
        bounds = [row[0] for row in db.execute(_FUTURE_BOUNDS, (after, after))]
        days = [row[0] for row in db.execute(_REVIEW_DAYS)]
    except sqlite3.OperationalError:
        bounds = []
        days = [row[0] for row in db.execute(
            "SELECT DISTINCT next_review_due FROM items WHERE next_review_due IS NOT NULL"
        )]  # fmt: skip
    return instants(bounds, days, policy, after)


@dataclass(frozen=True, slots=True)
class Window:
    """One transition window: answers are the same from `start` until `until`."""

    #: The transition that opened it (None: the revision's own start).
    start: float | None
    #: The next transition (infinity when none is known).
    until: float


def last_before(instants: tuple[float, ...], until: float) -> int:
    """The latest of the sorted instants before `until`, in whole seconds rounded up (an
    HTTP date has no fractions); 0 for none."""
    i = bisect.bisect_left(instants, until)
    return math.ceil(instants[i - 1]) if i else 0


def window_at(transitions: tuple[float, ...], now: float) -> Window:
    i = bisect.bisect_right(transitions, now)
    start = transitions[i - 1] if i else None
    until = transitions[i] if i < len(transitions) else math.inf
    return Window(start, until)
