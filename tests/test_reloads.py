"""Reloads and shutdowns that lose nothing, with real processes: a server, and
`python -m api build` beside it.

- Under continuous load for more than 30 s while builds go live one after another: zero
  failed requests, and no response mixes two builds.
- A build that fails validation, or is killed with SIGKILL half-way through writing,
  leaves the served content exactly as it was.
- SIGTERM under load: requests in flight finish, with zero errors.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support import ROOT, Server

LOAD_SECONDS = 32
TOPIC = "about-crps"


def run_build(content: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", "build"],
        cwd=ROOT,
        env={**os.environ, "CLINIC_CONTENT_DIR": str(content), "CLINIC_DB_PATH": str(db)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def set_edition(content: Path, edition: int) -> None:
    """Mark every FAQ of one topic, and the site's name, with the edition number."""
    path = content / "faqs" / f"{TOPIC}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for faq in data["faqs"]:
        faq["question"] = (
            re.sub(r" \[edition \d+\]$", "", faq["question"]) + f" [edition {edition}]"
        )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edition_of(text: str) -> int | None:
    match = re.search(r" \[edition (\d+)\]$", text)
    return int(match.group(1)) if match else None


def snapshot(server: Server) -> dict[str, Any]:
    """What the server serves, in full: the site and every list page and item."""
    seen: dict[str, Any] = {"site": httpx.get(server.url + "/v1/site").json()}
    for kind in ("articles", "conditions", "symptoms", "treatments", "faqs"):
        listing = httpx.get(f"{server.url}/v1/{kind}?limit=100").json()
        seen[kind] = listing
        for item in listing["data"]:
            seen[f"{kind}/{item['slug']}"] = httpx.get(
                f"{server.url}/v1/{kind}/{item['slug']}"
            ).json()
    return seen


@pytest.fixture
def live(
    content_copy: Path, tmp_path: Path, starts_server: None
) -> Iterator[tuple[Server, Path, Path]]:
    db = tmp_path / "clinic.db"
    set_edition(content_copy, 0)
    assert run_build(content_copy, db).returncode == 0
    server = Server(db, content_copy, CLINIC_ACCESS_LOG="0").start()
    yield server, content_copy, db
    server.stop()


def test_builds_go_live_under_load_without_a_failed_or_mixed_response(
    live: tuple[Server, Path, Path],
) -> None:
    server, content, db = live
    stop = threading.Event()
    failures: list[str] = []
    mixed: list[str] = []
    counts = {"requests": 0}
    editions_seen: set[int] = set()
    #: content revision -> (slug -> content hash) as seen in any response of that revision
    by_revision: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def record(revision: str, items: list[dict[str, Any]]) -> None:
        with lock:
            known = by_revision.setdefault(revision, {})
            for item in items:
                if known.setdefault(item["slug"], item["content_hash"]) != item["content_hash"]:
                    mixed.append(f"revision {revision}: {item['slug']} has two contents")
                if item["revision"] > int(revision):
                    mixed.append(f"revision {revision}: {item['slug']} is newer")

    def load(worker: int) -> None:
        paths = [
            f"/v1/faqs?topic={TOPIC}&limit=100",
            "/v1/articles",
            "/v1/site",
            "/v1/faqs/what-is-crps",
            "/v1/conditions/crps?include=symptoms,treatments",
        ]
        with httpx.Client(base_url=server.url, timeout=10) as client:
            i = worker
            while not stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                try:
                    response = client.get(path)
                except httpx.HTTPError as exc:
                    failures.append(f"{path}: {exc!r}")
                    continue
                with lock:
                    counts["requests"] += 1
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")
                    continue
                revision = response.headers["x-content-revision"]
                body = response.json()
                if path.startswith("/v1/faqs?"):
                    editions = {edition_of(item["question"]) for item in body["data"]}
                    if len(editions) != 1:
                        mixed.append(f"one list, several editions: {sorted(map(str, editions))}")
                    editions_seen.update(e for e in editions if e is not None)
                    record(revision, body["data"])
                elif path.startswith("/v1/articles"):
                    record(revision, body["data"])
                elif path == "/v1/site":
                    if str(body["content_revision"]) != revision:
                        mixed.append(f"site says {body['content_revision']}, header {revision}")
                else:
                    included = itertools.chain(*body.get("included", {}).values())
                    record(revision, [body, *included])

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    edition = 0
    try:
        while time.monotonic() - started < LOAD_SECONDS:
            edition += 1
            set_edition(content, edition)
            result = run_build(content, db)
            assert result.returncode == 0, result.stderr
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert time.monotonic() - started >= 30
    assert not failures, failures[:10]
    assert not mixed, mixed[:10]
    assert counts["requests"] > 500
    assert edition >= 5
    assert len(editions_seen) >= 3, editions_seen
    # The last build is live, without a restart.
    faq = httpx.get(server.url + "/v1/faqs/what-is-crps").json()
    assert edition_of(faq["question"]) == edition


def test_a_build_that_fails_validation_changes_nothing(live: tuple[Server, Path, Path]) -> None:
    server, content, db = live
    before = snapshot(server)
    set_edition(content, 1)  # a real change, which must not go live...
    article = content / "articles" / "ketamine-for-crps.md"
    article.write_text(article.read_text(encoding="utf-8").replace("author: ", "author: nobody-"))
    result = run_build(content, db)
    assert result.returncode == 1
    assert "author: no person with slug 'nobody-claire-whitfield'" in result.stderr
    assert "was left as it was" in result.stderr
    assert snapshot(server) == before


def test_a_build_killed_half_way_changes_nothing(live: tuple[Server, Path, Path]) -> None:
    server, content, db = live
    before = snapshot(server)
    # Enough content that writing it takes a while: 40 articles of about 360 KB each.
    block = "\n".join(["+-" * 60] * 3000)
    for i in range(40):
        front = {"slug": f"bulk-{i:03d}", "title": f"Bulk {i}", "summary": "Bulk.",
                 "author": "claire-whitfield", "reviewed_by": "daniel-ashford",
                 "last_reviewed": "2026-11-02", "next_review_due": "2027-11-02",
                 "published_at": "2026-10-15T09:00:00Z"}  # fmt: skip
        (content / "articles" / f"bulk-{i:03d}.md").write_text(
            f"---\n{yaml.safe_dump(front)}---\nIntro.\n\n```\n{block}\n```\n", encoding="utf-8"
        )
    set_edition(content, 1)
    wal = db.with_name(db.name + "-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    build = subprocess.Popen(
        [sys.executable, "-m", "api", "build"],
        cwd=ROOT,
        env={**os.environ, "CLINIC_CONTENT_DIR": str(content), "CLINIC_DB_PATH": str(db)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Wait until the build's transaction has written a megabyte into the WAL (it is then
    # writing, about 30 MB in all, and has not committed), and kill it there.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and build.poll() is None:
        if wal.exists() and wal.stat().st_size > wal_before + 1_000_000:
            build.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    assert build.wait(timeout=30) == -signal.SIGKILL, "the build finished before it was killed"
    assert wal.stat().st_size > wal_before + 1_000_000  # it was killed in the middle of writing
    assert snapshot(server) == before
    # And the next build completes and goes live.
    assert run_build(content, db).returncode == 0
    assert httpx.get(server.url + "/v1/articles/bulk-000").status_code == 200


@pytest.mark.server
def test_sigterm_lets_requests_in_flight_finish(built_db: Path, tmp_path: Path) -> None:
    server = Server(built_db, CLINIC_ACCESS_LOG="0")
    server.command = lambda: [  # type: ignore[method-assign]
        sys.executable, "-m", "uvicorn", "tests.slow_app:app", "--host", "127.0.0.1",
        "--port", str(server.port), "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    server.start()
    assert server.process is not None
    results: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    # Clients are made first: making one takes a while, and the requests must be in flight.
    clients = [httpx.Client(base_url=server.url, timeout=20) for _ in range(12)]

    def slow(client: httpx.Client) -> None:
        try:
            response = client.get("/v1/articles", headers={"X-Test-Delay": "1.5"})
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = repr(exc)
        with lock:
            results.append((0.0, outcome))

    fast_results: list[tuple[float, str]] = []

    def fast() -> None:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    outcome = str(client.get("/v1/faqs?limit=5").status_code)
                except httpx.ConnectError:
                    break  # the server stopped accepting connections: expected after SIGTERM
                except httpx.HTTPError as exc:
                    outcome = repr(exc)
                with lock:
                    fast_results.append((began, outcome))

    threads = [threading.Thread(target=slow, args=(client,)) for client in clients]
    threads += [threading.Thread(target=fast) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.6)  # the slow requests are now inside the app
    terminated_at = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit by SIGTERM.
    assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "ERROR" not in server.log()
    for client in clients:
        client.close()
    assert [outcome for _, outcome in results] == ["200"] * 12
    early = [outcome for began, outcome in fast_results if began < terminated_at - 0.25]
    assert len(early) > 10
    assert set(early) == {"200"}, early
