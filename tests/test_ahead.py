"""Answers prepared before anyone asks: the next transition window's before its instant,
and a new build's in the background while a busy server gives the previous build's.

The transition test runs a real server (the instant is a few seconds ahead, no clock is
mocked) and compares what it prepared ahead with what a second server, which prepares
nothing ahead, answers after the instant. The build tests run the app in process, with
requests gathered in one event loop, so which of them find the server busy is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.events.log import rfc3339
from api.settings import RateLimit
from tests.support import Server, build_db, build_for, client_settings, copy_content
from tests.website_corpus import write_article

SCHEDULED = "harbour-clinic-evening-hours"
#: Seconds from writing the content to the go-live: enough to build and start the server
#: on a busy machine, and to ask every path once before the instant.
LEAD = 9.0
PATHS = [
    "/v1/articles",
    "/v1/articles?sort=-published_at&limit=2",
    "/v1/articles?tag=harbour",
    "/v1/feeds/articles.json",
    "/v1/feeds/articles.atom",
    "/v1/sitemap",
    "/v1/search?q=harbour",
    "/v1/sync?limit=500",
    "/v1/sync?channel=kiosk&locale=en&limit=500",
    "/v1/faqs?topic=about-crps",
]


#: The headers an answer prepared ahead, or kept from the previous build, must have as a
#: server that prepares nothing ahead makes them.
HEADERS = ("etag", "last-modified", "content-language", "vary", "x-content-revision")


#: The tests that ask many times over, from one address.
UNLIMITED = RateLimit(0, 60)


def _counter(metrics: str, name: str) -> float:
    found = re.search(rf"^{name}(?:_total)? ([0-9.e+]+)$", metrics, re.MULTILINE)
    assert found is not None, f"{name} is not in /metrics"
    return float(found.group(1))


def _renewed(metrics: str) -> float:
    """Answers a build's set has without a request: prepared again, or kept as they were."""
    return _counter(metrics, "clinic_prepared_ahead") + _counter(metrics, "clinic_prepared_carried")


class Scheduled:
    def __init__(self, content: Path, db: Path, server: Server, go_live: float) -> None:
        self.content = content
        self.db = db
        self.server = server
        self.go_live = go_live


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory, starts_server: None) -> Iterator[Scheduled]:
    root = tmp_path_factory.mktemp("ahead")
    content = copy_content(root)
    go_live = time.time() + LEAD
    write_article(
        content / "articles",
        SCHEDULED,
        body="The harbour clinic stays open until eight on Thursdays.\n",
        title="Harbour clinic evening hours",
        published_at=rfc3339(go_live),
        tags=["harbour"],
    )
    db = build_db(content, root / "clinic.db")
    server = Server(db, content).start()
    try:
        assert time.time() < go_live - 3, "the build and start took longer than LEAD"
        yield Scheduled(content, db, server, go_live)
    finally:
        server.stop()


@pytest.mark.server
def test_the_next_window_is_prepared_before_its_instant_and_given_from_it(
    scheduled: Scheduled,
) -> None:
    with httpx.Client(base_url=scheduled.server.url, timeout=10) as http:
        before = {path: http.get(path) for path in PATHS}
        for path, response in before.items():
            assert response.status_code == 200, path
            assert SCHEDULED not in response.text, path
        # The go-live is less than CLINIC_PREPARE_AHEAD (30 s) away, so the asking above
        # started preparing every one of these answers as of the instant.
        deadline = scheduled.go_live - 0.5
        while time.time() < deadline:
            metrics = http.get("/metrics").text
            if _counter(metrics, "clinic_prepared_ahead") >= len(PATHS):
                break
            time.sleep(0.1)
        assert _counter(metrics, "clinic_prepared_ahead") >= len(PATHS), metrics
        # Prepared, but given to nobody before the instant.
        for path in PATHS:
            response = http.get(path)
            assert time.time() < scheduled.go_live or SCHEDULED in response.text, path
            if time.time() < scheduled.go_live:
                assert response.headers["etag"] == before[path].headers["etag"], path
        while time.time() < scheduled.go_live:
            time.sleep(0.02)
        misses = _counter(http.get("/metrics").text, "clinic_prepared_misses")
        after = {path: http.get(path) for path in PATHS}
        # Every answer came from the set prepared ahead: none was made on a request's time.
        assert _counter(http.get("/metrics").text, "clinic_prepared_misses") == misses
    for path, response in after.items():
        assert response.status_code == 200, path
        if "faqs" in path:
            # The go-live does not touch FAQs: the same bytes, so the same ETag.
            assert response.headers["etag"] == before[path].headers["etag"], path
        else:
            assert response.headers["etag"] != before[path].headers["etag"], path
            assert SCHEDULED in response.text, path

    # A server that prepares nothing ahead, started after the instant, answers the same
    # bytes with the same validators: what was prepared ahead is what the instant gives.
    fresh = Server(scheduled.db, scheduled.content, CLINIC_PREPARE_AHEAD="0").start()
    try:
        with httpx.Client(base_url=fresh.url, timeout=10) as http:
            for path, prepared in after.items():
                made = http.get(path)
                assert made.status_code == 200, path
                assert made.content == prepared.content, path
                for name in HEADERS:
                    assert made.headers.get(name) == prepared.headers.get(name), (path, name)
    finally:
        fresh.stop()


def _edit(content: Path, edition: int) -> None:
    faqs = content / "faqs" / "about-crps.yaml"
    text = faqs.read_text(encoding="utf-8")
    text = re.sub(r"What is CRPS\?( \(edition \d+\))?", f"What is CRPS? (edition {edition})", text)
    faqs.write_text(text, encoding="utf-8")


def _edition(response: httpx.Response) -> int | None:
    found = re.search(r"What is CRPS\? \(edition (\d+)\)", response.text)
    return int(found.group(1)) if found else None


def _run(content: Path, check: Any, **settings: Any) -> None:
    config = client_settings(content, **settings)
    _edit(content, 1)
    build_for(config)

    async def main() -> None:
        # One event loop for the app and the clients (the framework's own test client runs
        # the app in a thread of its own and asks one request at a time).
        app = create_app(config)
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                await check(client, config)

    asyncio.run(main())


PATH = "/v1/faqs?topic=about-crps"
#: One path asked by many clients at once, and others the previous build prepared.
OTHERS = [
    "/v1/faqs/what-is-crps",
    "/v1/articles",
    "/v1/conditions/crps?include=symptoms,treatments",
    "/v1/treatments",
]


def test_after_a_build_a_busy_server_gives_the_previous_answers_until_it_has_the_new(
    content_copy: Path,
) -> None:
    async def check(client: httpx.AsyncClient, config: Any) -> None:
        old = {path: await client.get(path) for path in [PATH, *OTHERS]}
        assert _edition(old[PATH]) == 1
        _edit(config.content_dir, 2)
        await asyncio.to_thread(build_for, config)
        # Many clients at once: the first finds nobody waiting and gets the new list made
        # for it; those that come while it waits get the previous build's prepared answers,
        # body and validators together.
        answers = await asyncio.gather(*(client.get(p) for p in [PATH, *OTHERS] * 4))
        new_revision = None
        stale = 0
        for answer in answers:
            path = answer.url.raw_path.decode()
            assert answer.status_code == 200, path
            previous = old[path]
            if answer.headers["x-content-revision"] == previous.headers["x-content-revision"]:
                # The previous build's answer: its body and validators together.
                assert answer.content == previous.content, path
                assert answer.headers["etag"] == previous.headers["etag"], path
                stale += 1
            else:
                new_revision = answer.headers["x-content-revision"]
        assert answers[0].headers["etag"] != old[PATH].headers["etag"]
        assert _edition(answers[0]) == 2
        assert new_revision != old[PATH].headers["x-content-revision"]
        assert stale > 0
        # The rest were prepared again in the background: each comes new, made for nobody.
        metrics = (await client.get("/metrics")).text
        misses = _counter(metrics, "clinic_prepared_misses")
        for _ in range(200):
            if _renewed((await client.get("/metrics")).text) >= len(OTHERS):
                break
            await asyncio.sleep(0.02)
        prepared = {}
        for path in [PATH, *OTHERS]:
            answer = await client.get(path)
            assert answer.headers["x-content-revision"] == new_revision, path
            prepared[path] = answer
        assert _edition(await client.get(PATH)) == 2
        metrics = (await client.get("/metrics")).text
        assert _counter(metrics, "clinic_prepared_misses") == misses
        assert _counter(metrics, "clinic_prepared_stale") == stale
        # The edit is to one FAQ: the treatments' list did not read it, and was kept as it
        # was; the FAQ's own answer was made again.
        assert _counter(metrics, "clinic_prepared_carried") >= 1
        assert _counter(metrics, "clinic_prepared_ahead") >= 1
        # What the background made (in its own process, reading there) is what an app that
        # prepares nothing ahead makes for a request: the same bytes and validators.
        fresh = create_app(dataclasses.replace(config, prepare_ahead=0))
        async with fresh.lifespan():
            transport = httpx.ASGITransport(app=fresh)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as other:
                for path, answer in prepared.items():
                    made = await other.get(path)
                    assert made.content == answer.content, path
                    for name in HEADERS:
                        assert made.headers.get(name) == answer.headers.get(name), (path, name)

    _run(content_copy, check)


def test_after_a_build_a_client_alone_gets_the_new_answer_at_once(content_copy: Path) -> None:
    async def check(client: httpx.AsyncClient, config: Any) -> None:
        for path in [PATH, *OTHERS]:
            await client.get(path)
        _edit(config.content_dir, 2)
        await asyncio.to_thread(build_for, config)
        # One request at a time: none finds another waiting, so none is given stale bytes.
        assert _edition(await client.get(PATH)) == 2
        assert _edition(await client.get("/v1/faqs/what-is-crps")) == 2
        metrics = (await client.get("/metrics")).text
        assert _counter(metrics, "clinic_prepared_stale") == 0

    _run(content_copy, check)


@contextlib.asynccontextmanager
async def _paused_after_a_build(
    client: httpx.AsyncClient, config: Any
) -> AsyncIterator[httpx.Response]:
    """Every path asked, a build (edition 2) prepared again in the background, then the
    preparing process paused (SIGSTOP) and another build (edition 3) made: until the block
    ends and it goes on (SIGCONT), no answer of the new build can be made there. Gives
    edition 2's answer to PATH."""
    for path in [PATH, *OTHERS]:
        await client.get(path)
    renewed = _renewed((await client.get("/metrics")).text)
    _edit(config.content_dir, 2)
    await asyncio.to_thread(build_for, config)
    await client.get("/v1/treatments")  # the first request after a build starts its set
    for _ in range(400):
        if _renewed((await client.get("/metrics")).text) >= renewed + len(OTHERS) + 1:
            break
        await asyncio.sleep(0.05)
    # One at a time: each is in the build's set after.
    answers = [await client.get(path) for path in [PATH, *OTHERS]]
    assert _edition(answers[0]) == 2
    (preparer,) = _preparers(os.getpid())
    os.kill(preparer, signal.SIGSTOP)
    try:
        _edit(config.content_dir, 3)
        await asyncio.to_thread(build_for, config)
        yield answers[0]
    finally:
        os.kill(preparer, signal.SIGCONT)


def test_after_a_build_a_request_that_waits_while_others_are_answered_gets_the_previous(
    content_copy: Path,
) -> None:
    async def check(client: httpx.AsyncClient, config: Any) -> None:
        async with _paused_after_a_build(client, config) as previous:
            waiting = asyncio.create_task(client.get(PATH))
            await asyncio.sleep(0.2)  # it has asked the paused process for its own answer
            others = 0
            async with asyncio.timeout(10):
                while not waiting.done():
                    answer = await client.get(OTHERS[others % len(OTHERS)])
                    assert answer.status_code == 200
                    others += 1
                    await asyncio.sleep(0.005)
            answer = waiting.result()
            # Nothing of the new build could be made: the previous build's answer, whole.
            assert answer.status_code == 200
            assert answer.content == previous.content
            for name in HEADERS:
                assert answer.headers.get(name) == previous.headers.get(name), name
            assert others >= 1
        # Its own answer went on being made, and is kept for the next client.
        for _ in range(200):
            answer = await client.get(PATH)
            if _edition(answer) == 3:
                break
            await asyncio.sleep(0.05)
        assert _edition(answer) == 3

    _run(content_copy, check, rate_limit_address=UNLIMITED)


def test_after_a_build_a_client_alone_waits_for_its_own_answer_however_long(
    content_copy: Path,
) -> None:
    async def check(client: httpx.AsyncClient, config: Any) -> None:
        async with _paused_after_a_build(client, config):
            waiting = asyncio.create_task(client.get(PATH))
            await asyncio.sleep(0.3)
            # Nobody else was answered: it waits, rather than be given the previous build.
            assert not waiting.done()
        async with asyncio.timeout(10):
            answer = await waiting
        assert _edition(answer) == 3

    _run(content_copy, check, rate_limit_address=UNLIMITED)


def test_with_preparing_ahead_off_every_answer_after_a_build_is_new(content_copy: Path) -> None:
    async def check(client: httpx.AsyncClient, config: Any) -> None:
        old = {path: await client.get(path) for path in [PATH, *OTHERS]}
        _edit(config.content_dir, 2)
        await asyncio.to_thread(build_for, config)
        answers = await asyncio.gather(*(client.get(p) for p in [PATH, *OTHERS] * 4))
        revisions = {a.headers["x-content-revision"] for a in answers}
        assert revisions.isdisjoint({old[PATH].headers["x-content-revision"]})
        assert all(_edition(a) == 2 for a in answers if "faqs" in str(a.url))
        metrics = (await client.get("/metrics")).text
        assert _counter(metrics, "clinic_prepared_ahead") == 0
        assert _counter(metrics, "clinic_prepared_stale") == 0

    _run(content_copy, check, prepare_ahead=0)


def _preparers(pid: int) -> list[int]:
    """The preparing processes the server `pid` started (api/http/preparer.py)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if parent == pid and b"api.http.preparer" in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.server
def test_the_preparing_process_is_started_again_if_it_dies_and_ends_with_the_server(
    tmp_path: Path,
) -> None:
    content = copy_content(tmp_path)
    _edit(content, 1)
    db = build_db(content, tmp_path / "clinic.db")
    server = Server(db, content).start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.url, timeout=10) as http:

            def prepared_ahead() -> float:
                return _renewed(http.get("/metrics").text)

            def change(edition: int) -> None:
                for path in [PATH, *OTHERS]:
                    assert http.get(path).status_code == 200, path
                _edit(content, edition)
                build_db(content, db)
                assert _edition(http.get(PATH)) == edition  # one client alone: at once

            change(2)
            assert _wait_for(lambda: prepared_ahead() >= len(OTHERS)), "nothing prepared ahead"
            [first] = _preparers(pid)
            os.kill(first, signal.SIGKILL)
            assert _wait_for(lambda: not _alive(first))
            # The server answers as before, and the next change is prepared in a new process.
            before = prepared_ahead()
            change(3)
            assert _wait_for(lambda: prepared_ahead() >= before + len(OTHERS)), server.log()
            [second] = _preparers(pid)
            assert second != first
            for path in [PATH, *OTHERS]:
                assert http.get(path).status_code == 200, path
            assert _edition(http.get(PATH)) == 3
    finally:
        server.stop()
    # A server stopped as usual stops it, and says nothing of leaked resources.
    assert _wait_for(lambda: not _alive(second), 10)
    assert "leaked" not in server.log()
    assert "Traceback" not in server.log()

    # One killed outright cannot stop it: it notices, and ends.
    again = Server(db, content).start()
    try:
        process = again.process
        assert process is not None
        with httpx.Client(base_url=again.url, timeout=10) as http:
            for path in [PATH, *OTHERS]:
                http.get(path)
            _edit(content, 4)
            build_db(content, db)
            http.get(PATH)
        assert _wait_for(lambda: len(_preparers(process.pid)) == 1)
        [orphan] = _preparers(process.pid)
        process.kill()
        process.wait(timeout=10)
    finally:
        again.stop()
    assert _wait_for(lambda: not _alive(orphan), 10)


#: Answers of every kind, some reading the symptom edited below (its own, the condition
#: that lists it, lists, search, sync, the sitemap) and some not.
KEPT_OR_MADE = [
    "/v1/symptoms/swelling",
    "/v1/symptoms/burning-pain",
    "/v1/symptoms",
    "/v1/conditions/crps",
    "/v1/conditions/crps?include=symptoms,treatments",
    "/v1/articles",
    "/v1/articles/ketamine-for-crps",
    "/v1/articles/ketamine-for-crps?include=conditions,treatments",
    "/v1/articles/ketamine-for-crps?channel=kiosk",
    "/v1/treatments",
    "/v1/faqs?topic=about-crps",
    "/v1/faqs/what-is-crps",
    "/v1/faq-topics",
    "/v1/search?q=swelling",
    "/v1/search?q=ketamine",
    "/v1/sitemap",
    "/v1/sync?limit=500",
    "/v1/feeds/articles.json",
    "/v1/site",
]


@dataclasses.dataclass
class _Rebuilt:
    #: Answers kept from the previous build (clinic_prepared_carried).
    kept: float
    #: Paths whose body changed.
    changed: set[str]
    revision: str


@pytest.mark.server
def test_answers_a_build_did_not_change_are_kept_and_are_what_a_fresh_server_makes(
    tmp_path: Path,
) -> None:
    content = copy_content(tmp_path)
    db = build_db(content, tmp_path / "clinic.db")
    server = Server(db, content).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:

            def ask() -> dict[tuple[str, str], httpx.Response]:
                asked = {}
                for path in KEPT_OR_MADE:
                    for language in ("en", "es"):
                        answer = http.get(path, headers={"Accept-Language": language})
                        assert answer.status_code == 200, (path, language)
                        asked[path, language] = answer
                return asked

            def compare(asked: dict[tuple[str, str], httpx.Response]) -> None:
                # A server that prepares nothing ahead, on the same database: the same bytes
                # and validators, whether the answer was made again or kept.
                fresh = Server(db, content, CLINIC_PREPARE_AHEAD="0").start()
                try:
                    with httpx.Client(base_url=fresh.url, timeout=10) as other:
                        for (path, language), answer in asked.items():
                            made = other.get(path, headers={"Accept-Language": language})
                            assert made.content == answer.content, (path, language)
                            for name in HEADERS:
                                assert made.headers.get(name) == answer.headers.get(name), (
                                    path, language, name,
                                )  # fmt: skip
                finally:
                    fresh.stop()

            def rebuild(edit: Any) -> _Rebuilt:
                before = ask()
                counted = http.get("/metrics").text
                edit()
                build_db(content, db)
                http.get("/v1/symptoms")  # the server notices the build
                assert _wait_for(
                    lambda: (
                        _renewed(http.get("/metrics").text) - _renewed(counted) >= len(before) - 1
                    )
                ), server.log()
                after = ask()
                metrics = http.get("/metrics").text
                kept = _counter(metrics, "clinic_prepared_carried") - _counter(
                    counted, "clinic_prepared_carried"
                )
                changed = {k for k, a in after.items() if a.content != before[k].content}
                # Every answer names the revision it was read from; kept ones, the new build's.
                revisions = {a.headers.get("x-content-revision") for a in after.values()}
                assert len(revisions) == 1, revisions
                assert None not in revisions
                compare(after)
                return _Rebuilt(kept, {path for path, _ in changed}, revisions.pop())

            symptom = content / "symptoms" / "swelling.md"

            def edit_symptom() -> None:
                text = symptom.read_text(encoding="utf-8")
                symptom.write_text(
                    text.replace('title: "Swelling"', 'title: "Swelling of the limb"'), "utf-8"
                )

            revision = http.get("/v1/site").headers["x-content-revision"]
            first = rebuild(edit_symptom)
            assert first.revision != revision
            changed = first.changed
            for path in ("/v1/symptoms/swelling", "/v1/symptoms", "/v1/conditions/crps",
                         "/v1/search?q=swelling", "/v1/sync?limit=500"):  # fmt: skip
                assert path in changed, (path, changed)
            for path in ("/v1/articles/ketamine-for-crps", "/v1/treatments", "/v1/faq-topics"):
                assert path not in changed, path
            assert first.kept >= 8, first

            site = content / "site.yaml"

            def edit_site() -> None:
                text = site.read_text(encoding="utf-8")
                site.write_text(text.replace("+1 555-010-0142", "+1 555-010-0199"), "utf-8")

            # The site settings are the build's meta: every answer that shows them changes.
            second = rebuild(edit_site)
            assert "/v1/site" in second.changed, second
    finally:
        server.stop()
