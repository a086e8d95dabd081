"""Events at transitions, against a real server: a go-live and an expiry between builds
are recorded at their instant with no request made (GET /v1/events shows them with that
instant as `timestamp`) and sent at once as webhooks, which a receiver verifies with the
`standardwebhooks` package; a review falling due and overdue is recorded too; and
`python -m api status` shows an editor the calendar.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.events.transitions import Transitions
from api.review import ReviewPolicy
from tests.support import Server, copy_content
from tests.test_webhooks import FAST, cli, query, wait_for, write_hooks
from tests.webhook_receiver import Receiver, new_secret
from tests.website_corpus import edit_front_matter, write_article

SCHEDULED = "calendar-go-live-notice"
EXPIRING_FAQ = "can-crps-pain-spread"
#: Seconds from the build that schedules them to the go-live, and from it to the expiry.
LEAD = 3.5
GAP = 2.0
#: How long after an instant the test first looks (no request before that).
SETTLE = 1.5


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")


def _seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _expire_faq(content: Path, slug: str, at: float) -> None:
    faqs = content / "faqs" / "about-crps.yaml"
    topic = yaml.safe_load(faqs.read_text(encoding="utf-8"))
    for faq in topic["faqs"]:
        if faq["slug"] == slug:
            faq["expires_at"] = _iso(at)
    faqs.write_text(yaml.safe_dump(topic, sort_keys=False), encoding="utf-8")


class Timed:
    def __init__(
        self, server: Server, receiver: Receiver, state: Path, go_live: float, expiry: float
    ) -> None:
        self.server = server
        self.receiver = receiver
        self.state = state
        self.go_live = go_live
        self.expiry = expiry


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory, starts_server: None) -> Iterator[Timed]:
    """A server started on built content; then a build (no request) schedules an article
    LEAD seconds ahead and an FAQ's expiry GAP seconds after it."""
    root = tmp_path_factory.mktemp("calendar")
    content = copy_content(root)
    secrets = [new_secret()]
    receiver = Receiver(secrets).start()
    state = root / "state" / "state.db"
    env = {
        "CLINIC_CONTENT_DIR": str(content),
        "CLINIC_DB_PATH": str(root / "clinic.db"),
        "CLINIC_STATE_PATH": str(state),
        "CLINIC_WEBHOOKS_FILE": str(write_hooks(root / "webhooks.yaml", receiver.url, secrets)),
        **FAST,
    }
    assert cli(env, "build").returncode == 0
    server = Server(root / "clinic.db", content, **env).start()
    # A second server on the same content and state store: each transition is still
    # recorded once, and each event delivered once.
    replica = Server(root / "clinic.db", content, **env).start()
    try:
        go_live = time.time() + LEAD
        expiry = go_live + GAP
        write_article(
            content / "articles",
            SCHEDULED,
            title="Calendar go-live notice",
            published_at=_iso(go_live),
        )
        _expire_faq(content, EXPIRING_FAQ, expiry)
        built = cli(env, "build")
        assert built.returncode == 0, built.stderr
        assert time.time() < go_live - 1, "the build took longer than LEAD"
        yield Timed(server, receiver, state, go_live, expiry)
    finally:
        server.stop()
        replica.stop()
        receiver.stop()


def _events(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        body = httpx.get(f"{url}/v1/events", params=params, timeout=10).json()
        found += body["data"]
        cursor = body["meta"]["next_cursor"]
        if not body["data"] or not cursor:
            return found


def _about(events: list[dict[str, Any]], kind: str, slug: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind and e["data"].get("slug") == slug]


def _delivered(receiver: Receiver, event_id: str) -> list[Any]:
    return [r for r in receiver.snapshot() if r.id == event_id and 200 <= r.answered < 300]


def test_a_go_live_is_announced_at_its_instant_without_a_request(timed: Timed) -> None:
    # Nothing asks the server anything until the instant has passed.
    time.sleep(max(0.0, timed.go_live + SETTLE - time.time()))
    events = _events(timed.server.url)
    published = _about(events, "item.published", SCHEDULED)
    assert len(published) == 1, [e["type"] for e in events[-5:]]
    event = published[0]
    assert abs(_seconds(event["timestamp"]) - timed.go_live) < 1
    assert event["data"]["path"] == f"/v1/articles/{SCHEDULED}"
    changed = [
        e for e in events if e["type"] == "content.changed" and e["data"]["cause"] == "transition"
    ]
    assert [c["timestamp"] for c in changed][:1] == [event["timestamp"]]
    assert changed[0]["data"]["published"] == 1
    # Sent as a webhook at once, not at the next build; the receiver verified it.
    wait_for(lambda: bool(_delivered(timed.receiver, event["id"])), 5, "the webhook")
    got = _delivered(timed.receiver, event["id"])[0]
    assert got.verified[0] is not None
    assert json.loads(got.body) == event
    assert len(_delivered(timed.receiver, event["id"])) == 1
    late = got.at - timed.go_live
    print(f"go-live delivered {late:.3f} s after its instant")
    assert late < SETTLE + 1


def test_an_expiry_is_announced_at_its_instant(timed: Timed) -> None:
    time.sleep(max(0.0, timed.expiry + SETTLE - time.time()))
    events = _events(timed.server.url)
    gone = _about(events, "item.unpublished", EXPIRING_FAQ)
    assert len(gone) == 1
    assert abs(_seconds(gone[0]["timestamp"]) - timed.expiry) < 1
    wait_for(lambda: bool(_delivered(timed.receiver, gone[0]["id"])), 5, "the webhook")
    got = _delivered(timed.receiver, gone[0]["id"])[0]
    assert got.verified[0] is not None
    print(f"expiry delivered {got.at - timed.expiry:.3f} s after its instant")
    # Recorded once, and where recording resumes after a restart.
    assert len(_about(_events(timed.server.url), "item.unpublished", EXPIRING_FAQ)) == 1
    (through,) = query(timed.state, "SELECT value FROM state_meta WHERE key ="
                       " 'transitions_through'")[0]  # fmt: skip
    assert float(str(through)) >= _seconds(_iso(timed.expiry))


@pytest.mark.server
def test_a_transition_passed_while_no_server_ran_is_recorded_at_its_instant(
    content_copy: Path, tmp_path: Path
) -> None:
    go_live = time.time() + 2.0
    write_article(content_copy / "articles", SCHEDULED, published_at=_iso(go_live))
    env = {
        "CLINIC_CONTENT_DIR": str(content_copy),
        "CLINIC_DB_PATH": str(tmp_path / "clinic.db"),
        "CLINIC_STATE_PATH": str(tmp_path / "state.db"),
    }
    assert cli(env, "build").returncode == 0
    time.sleep(max(0.0, go_live + 0.5 - time.time()))
    server = Server(tmp_path / "clinic.db", content_copy, **env).start()
    try:
        started = time.time()
        wait_for(
            lambda: bool(_about(_events(server.url), "item.published", SCHEDULED)), 10, "the event"
        )
    finally:
        server.stop()
    (event,) = _about(_events_in(tmp_path / "state.db"), "item.published", SCHEDULED)
    assert abs(_seconds(event["timestamp"]) - go_live) < 0.01
    assert _seconds(event["timestamp"]) < started


def _events_in(state: Path) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(p)) for (p,) in query(state, "SELECT payload FROM events ORDER BY seq")
    ]


def test_reviews_falling_due_and_overdue_are_announced(content_copy: Path, tmp_path: Path) -> None:
    """At the start of the day a review falls due, and of the day after its date, with no
    build: `review.due`, then `review.overdue`, each once."""
    policy = ReviewPolicy()
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date()
    due_at, overdue_at = policy.instants(day.isoformat())
    slug = "ketamine-for-crps"
    edit_front_matter(content_copy / "articles" / f"{slug}.md", next_review_due=day.isoformat())
    state = tmp_path / "state.db"
    env = {
        "CLINIC_CONTENT_DIR": str(content_copy),
        "CLINIC_DB_PATH": str(tmp_path / "clinic.db"),
        "CLINIC_STATE_PATH": str(state),
    }
    assert cli(env, "build").returncode == 0
    woken: list[bool] = []
    recorder = Transitions(tmp_path / "clinic.db", state, policy, wake=lambda: woken.append(True))

    async def both() -> list[list[Any]]:
        return [
            await recorder.record(due_at - 1, due_at),
            await recorder.record(overdue_at - 1, overdue_at),
            await recorder.record(overdue_at - 1, overdue_at),  # another worker, same instant
        ]

    due, overdue, again = asyncio.run(both())
    assert "review.due" in [r.type for r in due]
    assert "review.overdue" in [r.type for r in overdue]
    assert again == []
    assert woken == [True, True]
    mine = [
        (e["type"], _seconds(e["timestamp"]))
        for e in _events_in(state)
        if e["type"].startswith("review.") and e["data"]["slug"] == slug
    ]
    assert mine == [("review.due", due_at), ("review.overdue", overdue_at)]


@pytest.mark.server
def test_status_prints_the_calendar(content_copy: Path, tmp_path: Path) -> None:
    """A draft, a scheduled article, an expiring FAQ, an overdue review, and an event the
    endpoint refused: each in its section, in a stable order; exit 0."""
    articles = content_copy / "articles"
    later = time.time() + 5 * 86400
    write_article(articles, "calendar-draft-notice", draft=True)
    write_article(articles, "calendar-scheduled-notice", published_at=_iso(later))
    _expire_faq(content_copy, EXPIRING_FAQ, later + 3600)
    overdue_day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).date().isoformat()
    edit_front_matter(articles / "ketamine-for-crps.md", next_review_due=overdue_day)
    dead = Receiver([new_secret()])  # never started: its port refuses
    env = {
        "CLINIC_CONTENT_DIR": str(content_copy),
        "CLINIC_DB_PATH": str(tmp_path / "clinic.db"),
        "CLINIC_STATE_PATH": str(tmp_path / "state.db"),
        "CLINIC_WEBHOOKS_FILE": str(write_hooks(tmp_path / "hooks.yaml", dead.url, dead.secrets)),
        "CLINIC_WEBHOOK_RETRY_SCHEDULE": "0",
        "CLINIC_WEBHOOK_POLL": "0.1",
    }
    assert cli(env, "build").returncode == 0
    server = Server(tmp_path / "clinic.db", content_copy, **env).start()
    try:
        failed = "SELECT 1 FROM deliveries WHERE state = 'failed'"
        wait_for(lambda: bool(query(tmp_path / "state.db", failed)), 20, "a failed delivery")
    finally:
        server.stop()
    first = cli(env, "status")
    assert first.returncode == 0, first.stderr
    text = first.stdout
    sections = {block.splitlines()[0]: block.splitlines()[1:] for block in text.split("\n\n")[1:]}
    assert sections["Scheduled (1)"] == [
        f"  {_iso(later)[:23]}Z  article calendar-scheduled-notice (en)"
    ]
    assert sections["Drafts (1)"] == [
        "  article calendar-draft-notice (en)  published_at 2026-01-05T09:00:00.000Z"
    ]
    assert sections["Expiring within 30 days (1)"] == [
        f"  {_iso(later + 3600)[:23]}Z  faq {EXPIRING_FAQ} (en)"
    ]
    assert (
        f"  {overdue_day}  article ketamine-for-crps (en)"
        in sections[next(k for k in sections if k.startswith("Reviews overdue"))]
    )
    undelivered = next(v for k, v in sections.items() if k.startswith("Undelivered events"))
    assert undelivered
    assert all("  receiver  " in row for row in undelivered)
    assert any(" failed  tries=1" in row for row in undelivered)
    # Stable: a second run prints the same but for the clock on the first line.
    second = cli(env, "status")
    assert second.stdout.splitlines()[1:] == text.splitlines()[1:]
