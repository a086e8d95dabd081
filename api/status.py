"""`python -m api status`: the calendar as an editor sees it, in plain text.

What is scheduled and when, the drafts, what expires soon, reviews due and overdue, and the
events consumers have not received yet. Read-only: it opens the content database and the
state store without writing either, so it is safe beside a running server and a build.
Every section is in a stable order (by instant or date, then type, slug and locale), so two
runs on the same content print the same text but for the clock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from api.events.log import rfc3339
from api.review import ReviewPolicy
from api.timeline import PUBLISHED, read_instants

#: Days ahead within which an expiry is "soon" unless told otherwise.
DEFAULT_SOON_DAYS = 30


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    db.execute("PRAGMA query_only = 1")
    return db


def _name(type_: str, slug: str, locale: str) -> str:
    return f"{type_} {slug} ({locale})"


def _section(title: str, rows: list[str]) -> list[str]:
    return ["", f"{title} ({len(rows)})", *(f"  {row}" for row in rows or ["none"])]


def report(
    db_path: Path,
    state_path: Path,
    policy: ReviewPolicy,
    now: float,
    soon_days: int = DEFAULT_SOON_DAYS,
) -> list[str]:
    """The status report's lines. Raises FileNotFoundError without a built database."""
    if not db_path.is_file():
        raise FileNotFoundError(str(db_path))
    window = policy.window("editor", now=now)
    db = _connect(db_path)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        upcoming = read_instants(db, policy, now)
        key = "type, slug, locale"
        scheduled = db.execute(
            f"SELECT live_from, {key} FROM items WHERE {PUBLISHED} AND live_from > ?"
            f" ORDER BY live_from, {key}",
            (now,),
        ).fetchall()
        drafts = db.execute(
            f"SELECT {key}, live_from FROM items"
            f" WHERE deleted = 0 AND withdrawn IS NULL AND draft = 1 ORDER BY {key}"
        ).fetchall()
        expiring = db.execute(
            f"SELECT live_until, {key} FROM items WHERE {PUBLISHED}"
            " AND live_until > ? AND live_until <= ? ORDER BY live_until, type, slug, locale",
            (now, now + soon_days * 86400.0),
        ).fetchall()
        # Reviews of what is, or will be, shown: not drafts, not withdrawn, not expired.
        reviewed = (
            f"SELECT next_review_due, {key} FROM items WHERE {PUBLISHED}"
            " AND (live_until IS NULL OR live_until > ?) AND next_review_due IS NOT NULL"
        )
        overdue = db.execute(
            f"{reviewed} AND next_review_due < ? ORDER BY next_review_due, {key}",
            (now, window.today),
        ).fetchall()
        due = db.execute(
            f"{reviewed} AND next_review_due BETWEEN ? AND ? ORDER BY next_review_due, {key}",
            (now, window.today, window.due_until),
        ).fetchall()
    finally:
        db.close()

    lines = [
        f"content revision {meta.get('content_revision', '0')} at {rfc3339(now)}",
        f"next transition: {rfc3339(upcoming[0]) if upcoming else 'none'}",
    ]
    lines += _section(
        "Scheduled", [f"{rfc3339(at)}  {_name(t, s, lo)}" for at, t, s, lo in scheduled]
    )
    lines += _section(
        "Drafts",
        [
            _name(t, s, lo) + (f"  published_at {rfc3339(at)}" if at is not None else "")
            for t, s, lo, at in drafts
        ],
    )
    lines += _section(
        f"Expiring within {soon_days} days",
        [f"{rfc3339(at)}  {_name(t, s, lo)}" for at, t, s, lo in expiring],
    )
    lines += _section("Reviews overdue", [f"{day}  {_name(t, s, lo)}" for day, t, s, lo in overdue])
    lines += _section(
        f"Reviews due (within {policy.due_days} days)",
        [f"{day}  {_name(t, s, lo)}" for day, t, s, lo in due],
    )
    lines += _section("Undelivered events", _undelivered(state_path))
    return lines


def _undelivered(state_path: Path) -> list[str]:
    """Deliveries pending or given up, oldest first (none without a state store)."""
    if not state_path.is_file():
        return []
    db = _connect(state_path)
    try:
        rows = db.execute(
            "SELECT d.id, d.endpoint, e.type, e.id, d.state, d.tries, d.next_attempt_at,"
            " d.last_error FROM deliveries d JOIN events e ON e.seq = d.event_seq"
            " WHERE d.state IN ('pending', 'failed') ORDER BY d.id"
        ).fetchall()
    except sqlite3.OperationalError:  # a store made before it had an outbox
        return []
    finally:
        db.close()
    found = []
    for ident, endpoint, kind, event, state, tries, next_at, error in rows:
        when = f"  next {rfc3339(next_at)}" if state == "pending" and next_at else ""
        found.append(
            f"#{ident}  {endpoint}  {kind}  {event}  {state}  tries={tries}{when}"
            + (f"  {error}" if error else "")
        )
    return found
