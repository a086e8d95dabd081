"""Last-Modified from the content itself, so every replica built from the same content
sends the same one, whenever and wherever it was built.

An item was last modified at its own `updated_at` (written in its source, or its last
review) or, if later, when its review status last changed: `review_status` is part of the
item as served, and it turns `due` and then `overdue` on dates the content fixes
(`next_review_due`, less CLINIC_REVIEW_DUE_DAYS for `due`). A list, a feed or a sitemap was
last modified when the newest of the items in it was. The prepared answers keep this
header (api/http/prepared.py); answers without one get the newest date of the whole content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from typing import Any

import msgspec

HEADER = "Last-Modified"


def _seconds(moment: str) -> int:
    parsed = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp())


def _midnight(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def item_modified(doc: Mapping[str, Any], due_days: int) -> int | None:
    """POSIX seconds when this item, as served today, last changed; None without a date."""
    updated = doc.get("updated_at")
    seconds = _seconds(updated) if isinstance(updated, str) else None
    status, due = doc.get("review_status"), doc.get("next_review_due")
    if isinstance(due, str) and status in ("due", "overdue"):
        day = dt.date.fromisoformat(due)
        # `overdue` from the day after next_review_due, `due` from due_days before it.
        began = day + dt.timedelta(days=1) if status == "overdue" else day - dt.timedelta(due_days)
        seconds = max(seconds or 0, _midnight(began))
    # Embedded items (`include`) are part of the answer too.
    for related in (doc.get("included") or {}).values():
        if isinstance(related, list):
            embedded = newest(related, due_days)
            if embedded is not None:
                seconds = max(seconds or 0, embedded)
    return seconds


def newest(docs: Iterable[Mapping[str, Any]], due_days: int) -> int | None:
    """When the newest of these items last changed; None for none."""
    found = [s for s in (item_modified(doc, due_days) for doc in docs) if s is not None]
    return max(found) if found else None


class _Dated(msgspec.Struct):
    """The fields of a stored item that date it; the rest of its JSON is skipped unread."""

    updated_at: str | None = None
    review_status: str | None = None
    next_review_due: str | None = None


_decode_dated = msgspec.json.Decoder(_Dated)


def newest_of_rows(rows: Iterable[bytes], due_days: int) -> int | None:
    """`newest` of items as stored (JSON), reading only their dates."""
    docs = (msgspec.structs.asdict(_decode_dated.decode(row)) for row in rows)
    return newest(docs, due_days)


def header(seconds: int | None) -> dict[str, str]:
    """The Last-Modified header for a moment, or nothing (the content's newest date is used)."""
    return {} if seconds is None else {HEADER: formatdate(seconds, usegmt=True)}


def moment_header(moments: Iterable[dt.datetime | str]) -> dict[str, str]:
    """The Last-Modified header for the newest of some dates (a feed's, a sitemap's)."""
    found = [_seconds(m) if isinstance(m, str) else int(m.timestamp()) for m in moments]
    return header(max(found) if found else None)
