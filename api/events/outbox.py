"""The webhook outbox in the state store: what each endpoint is owed, claimed with leases.

Each configured endpoint has a cursor into the event log (`fanned_through`); fanning out
makes one `deliveries` row per new event the endpoint wants. Any number of workers and
replicas share the store: a worker claims due rows in one UPDATE ... RETURNING, setting a
lease, so each attempt is made by exactly one of them; when the attempt ends its outcome
is written under the same lease. A worker that dies mid-attempt leaves its lease to run
out, and the row is claimed again: delivery is at least once, never lost.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

#: The Standard Webhooks specification's example schedule: after the first attempt,
#: retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each failure.
DEFAULT_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)
#: A share of each delay added at random, so retries of many rows spread out.
JITTER = 0.1
#: Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER = 86400.0


async def register(
    db: aiosqlite.Connection, endpoints: Sequence[tuple[str, str]], schema: str = "main"
) -> None:
    """Make the configured endpoints (name, url) known. A new one is owed the events
    recorded from now on; a changed URL is a new address, enabled again."""
    await db.executemany(
        f"INSERT INTO {schema}.endpoints (name, url, fanned_through)"
        f" VALUES (?, ?, (SELECT coalesce(max(seq), 0) FROM {schema}.events))"
        " ON CONFLICT (name) DO UPDATE SET url = excluded.url,"
        " disabled_at = CASE WHEN url = excluded.url THEN disabled_at END,"
        " disabled_reason = CASE WHEN url = excluded.url THEN disabled_reason END",
        endpoints,
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt this worker holds the lease for."""

    delivery_id: int
    attempt_id: int
    endpoint: str
    tries: int
    event_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    error: str | None
    seconds: float
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def _immediate(db: aiosqlite.Connection) -> None:
    await db.execute("BEGIN IMMEDIATE")


async def fan_out(db: aiosqlite.Connection, wanted: dict[str, frozenset[str]], now: float) -> int:
    """Give each enabled endpoint the events recorded since its cursor that it wants;
    the number of rows made. Cheap when there is nothing new (one read, no write)."""
    async with db.execute(
        "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT min(fanned_through)"
        " FROM endpoints WHERE disabled_at IS NULL AND name IN (SELECT value FROM json_each(?)))",
        (json.dumps(sorted(wanted)),),
    ) as cur:
        row = await cur.fetchone()
    if row is None or row[1] is None or int(row[0]) <= int(row[1]):
        return 0
    made = 0
    await _immediate(db)
    try:
        for name, kinds in wanted.items():
            cur = await db.execute(
                "INSERT OR IGNORE INTO deliveries (event_seq, endpoint, next_attempt_at,"
                " created_at) SELECT seq, ?, ?, ? FROM events WHERE seq > (SELECT"
                " fanned_through FROM endpoints WHERE name = ? AND disabled_at IS NULL)"
                " AND type IN (SELECT value FROM json_each(?)) ORDER BY seq",
                (name, now, now, name, json.dumps(sorted(kinds))),
            )
            made += max(cur.rowcount, 0)
            await db.execute(
                "UPDATE endpoints SET fanned_through = (SELECT coalesce(max(seq), 0) FROM"
                " events) WHERE name = ? AND disabled_at IS NULL",
                (name,),
            )
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return made


async def next_due(db: aiosqlite.Connection, names: Sequence[str]) -> float | None:
    """When the next pending row of these endpoints falls due (or its lease runs out)."""
    async with db.execute(
        "SELECT min(max(d.next_attempt_at, coalesce(d.lease_until, 0))) FROM deliveries d"
        " JOIN endpoints e ON e.name = d.endpoint WHERE d.state = 'pending'"
        " AND e.disabled_at IS NULL AND d.endpoint IN (SELECT value FROM json_each(?))",
        (json.dumps(list(names)),),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None or row[0] is None else float(row[0])


async def claim(
    db: aiosqlite.Connection,
    names: Sequence[str],
    owner: str,
    now: float,
    lease: float,
    limit: int,
) -> list[Claim]:
    """Claim up to `limit` due rows of these endpoints for `owner` until `now + lease`,
    recording each attempt as begun. One UPDATE picks and leases the rows, so two
    workers never hold the same row at once."""
    due = await next_due(db, names)
    if due is None or due > now or limit <= 0:
        return []
    await _immediate(db)
    try:
        async with db.execute(
            "UPDATE deliveries SET tries = tries + 1, lease_owner = ?, lease_until = ?"
            " WHERE id IN (SELECT d.id FROM deliveries d JOIN endpoints e ON e.name = d.endpoint"
            " WHERE d.state = 'pending' AND d.next_attempt_at <= ?"
            " AND (d.lease_until IS NULL OR d.lease_until <= ?) AND e.disabled_at IS NULL"
            " AND d.endpoint IN (SELECT value FROM json_each(?))"
            " ORDER BY d.next_attempt_at, d.id LIMIT ?)"
            " RETURNING id, endpoint, tries, event_seq",
            (owner, now + lease, now, now, json.dumps(list(names)), limit),
        ) as cur:
            rows = [(int(i), str(e), int(t), int(s)) async for i, e, t, s in cur]
        claims: list[Claim] = []
        for delivery_id, endpoint, tries, seq in rows:
            async with db.execute(
                "INSERT INTO attempts (delivery_id, attempt, worker, started_at)"
                " VALUES (?, (SELECT count(*) + 1 FROM attempts WHERE delivery_id = ?), ?, ?)"
                " RETURNING id",
                (delivery_id, delivery_id, owner, now),
            ) as cur:
                attempt = await cur.fetchone()
            async with db.execute("SELECT id, payload FROM events WHERE seq = ?", (seq,)) as cur:
                event = await cur.fetchone()
            assert attempt is not None
            assert event is not None
            claims.append(
                Claim(delivery_id, int(attempt[0]), endpoint, tries, str(event[0]), bytes(event[1]))
            )
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return claims


def retry_delay(schedule: Sequence[float], tries: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `tries` failed ones, or None: give up."""
    if tries > len(schedule):
        return None
    delay = schedule[tries - 1]
    delay += delay * JITTER * random.random()
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


async def finish(
    db: aiosqlite.Connection,
    claim: Claim,
    owner: str,
    outcome: Outcome,
    schedule: Sequence[float],
    now: float,
) -> str:
    """Write an attempt's outcome under its lease: `delivered`, `retry`, `failed` (the
    schedule is spent) or `disabled` (the endpoint answered 410 Gone)."""
    await _immediate(db)
    try:
        await db.execute(
            "UPDATE attempts SET seconds = ?, status = ?, error = ? WHERE id = ?",
            (round(outcome.seconds, 4), outcome.status, outcome.error, claim.attempt_id),
        )
        held = "id = ? AND lease_owner = ? AND state = 'pending'"
        if outcome.delivered:
            result = "delivered"
            await db.execute(
                "UPDATE deliveries SET state = 'delivered', delivered_at = ?, lease_until = NULL,"
                f" last_status = ?, last_error = NULL WHERE {held}",
                (now, outcome.status, claim.delivery_id, owner),
            )
        elif outcome.status == 410:
            result = "disabled"
            await db.execute(
                "UPDATE endpoints SET disabled_at = ?, disabled_reason = ? WHERE name = ?",
                (now, "answered 410 Gone", claim.endpoint),
            )
            await db.execute(
                "UPDATE deliveries SET state = 'failed', lease_until = NULL, last_status = 410,"
                f" last_error = 'endpoint answered 410 Gone: disabled' WHERE {held}",
                (claim.delivery_id, owner),
            )
        else:
            delay = retry_delay(schedule, claim.tries, outcome.retry_after)
            result = "failed" if delay is None else "retry"
            await db.execute(
                "UPDATE deliveries SET state = ?, next_attempt_at = ?, lease_until = NULL,"
                f" last_status = ?, last_error = ? WHERE {held}",
                (
                    "failed" if delay is None else "pending",
                    now + (delay or 0.0),
                    outcome.status,
                    outcome.error,
                    claim.delivery_id,
                    owner,
                ),
            )
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return result


async def release(db: aiosqlite.Connection, owner: str) -> None:
    """Give up this worker's leases (at shutdown), so another worker need not wait them out."""
    await db.execute(
        "UPDATE deliveries SET lease_until = NULL WHERE lease_owner = ? AND state = 'pending'",
        (owner,),
    )


# For /metrics -----------------------------------------------------------------------


DELIVERY_STATES = ("pending", "delivered", "failed")
ATTEMPT_OUTCOMES = ("delivered", "refused", "error", "unfinished")


@dataclass(slots=True)
class EndpointStats:
    """What /metrics says of one endpoint's deliveries (api/metrics.py)."""

    #: Deliveries by state: pending, delivered, failed.
    deliveries: dict[str, int] = field(default_factory=dict)
    #: Attempts by outcome: delivered (2xx), refused (another status), error (no answer:
    #: refused connection, timeout), unfinished (under way, or cut short by a crash).
    attempts: dict[str, int] = field(default_factory=dict)
    #: When the oldest delivery still pending was made (POSIX seconds), if any is.
    oldest_pending: float | None = None
    disabled: bool = False


async def stats(db: aiosqlite.Connection) -> dict[str, EndpointStats]:
    """Per endpoint, as the state store has it now."""
    found: dict[str, EndpointStats] = {}
    for name, disabled in await db.execute_fetchall(
        "SELECT name, disabled_at IS NOT NULL FROM endpoints"
    ):
        found[name] = EndpointStats(disabled=bool(disabled))
    for endpoint, state, count, oldest in await db.execute_fetchall(
        "SELECT endpoint, state, count(*), min(created_at) FROM deliveries GROUP BY 1, 2"
    ):
        each = found.setdefault(endpoint, EndpointStats())
        each.deliveries[state] = count
        if state == "pending":
            each.oldest_pending = oldest
    for endpoint, outcome, count in await db.execute_fetchall(
        "SELECT d.endpoint, CASE WHEN a.status BETWEEN 200 AND 299 THEN 'delivered'"
        " WHEN a.status IS NOT NULL THEN 'refused' WHEN a.error IS NOT NULL THEN 'error'"
        " ELSE 'unfinished' END, count(*)"
        " FROM attempts a JOIN deliveries d ON d.id = a.delivery_id GROUP BY 1, 2"
    ):
        found.setdefault(endpoint, EndpointStats()).attempts[outcome] = count
    return found


# For the command line ------------------------------------------------------------------


async def deliveries(db: aiosqlite.Connection, everything: bool = False) -> list[dict[str, Any]]:
    """Deliveries that failed (given up, or failed at least once and waiting to retry);
    with `everything`, all of them."""
    where = (
        "" if everything else " WHERE d.state = 'failed' OR (d.state = 'pending' AND d.tries > 0)"
    )
    async with db.execute(
        "SELECT d.id, d.endpoint, e.id, e.type, d.state, d.tries, d.last_status, d.last_error,"
        " d.next_attempt_at, p.disabled_at IS NOT NULL FROM deliveries d"
        " JOIN events e ON e.seq = d.event_seq LEFT JOIN endpoints p ON p.name = d.endpoint"
        f"{where} ORDER BY d.id"
    ) as cur:
        names = ("id", "endpoint", "event_id", "event_type", "state", "tries", "last_status",
                 "last_error", "next_attempt_at", "endpoint_disabled")  # fmt: skip
        return [dict(zip(names, row, strict=True)) async for row in cur]


async def attempts(db: aiosqlite.Connection, delivery_id: int) -> list[dict[str, Any]]:
    async with db.execute(
        "SELECT attempt, worker, started_at, seconds, status, error FROM attempts"
        " WHERE delivery_id = ? ORDER BY id",
        (delivery_id,),
    ) as cur:
        names = ("attempt", "worker", "started_at", "seconds", "status", "error")
        return [dict(zip(names, row, strict=True)) async for row in cur]


async def redeliver(db: aiosqlite.Connection, delivery_id: int) -> bool:
    """Send a delivery again from the start of the schedule (delivered or not); False if
    there is no such delivery."""
    cur = await db.execute(
        "UPDATE deliveries SET state = 'pending', tries = 0, next_attempt_at = ?,"
        " lease_until = NULL WHERE id = ?",
        (time.time(), delivery_id),
    )
    return cur.rowcount > 0


async def enable(db: aiosqlite.Connection, name: str) -> bool:
    """Enable an endpoint disabled by a 410; False if no endpoint has that name."""
    cur = await db.execute(
        "UPDATE endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE name = ?", (name,)
    )
    return cur.rowcount > 0
