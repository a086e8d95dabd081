"""After a change: every request in the 10 s after a build, and after a transition, under load.

`python -m bench.after_change` (also run by `python -m bench`): a deterministic corpus
(bench/corpus.py), built, served by uvicorn as production runs it, and wrk `-c64` over a mix
of a few thousand distinct URLs (lists with sorts, filters, fields, include and cursor
pages; details with and without include; FAQ lists and topics; search; the three feeds;
the sitemap; sync pages), round robin, so that after a change no answer is prepared yet.

1. Steady state: the mix under load until every answer is prepared.
2. A build: one article is edited and another one is added, scheduled a few seconds after
   the build's end; `python -m api build` runs beside the loaded server. The moment its
   commit is visible (`PRAGMA data_version` polled from here) the load generator is
   restarted, and every request of the next 10 s is counted.
3. A transition: at the scheduled article's instant the load generator is restarted again,
   and every request of the next 10 s is counted; meanwhile four probes ask the newest
   articles list, the article itself, the JSON feed and sync (with the cursor of a copy
   that synced before the instant) until it appears, and report the delay from the instant.
   A probe that sees the article in an answer to a request sent before the instant counts
   a leak.

Everything is on 127.0.0.1 and bounded in time (about a minute and a half).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.corpus import CONDITIONS, FAQS_PER_TOPIC, SYMPTOMS, TREATMENTS, generate

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SCHEDULED = "scheduled-bench-article"
EDITED = "article-00000"
#: Seconds counted after each change.
WINDOW = 10.0
#: Seconds of load before a change, so that the answers of the old state are prepared.
WARM = 6.0
#: Seconds, after a build's 10 s, for the server to prepare the build's answers again under
#: the load (api/http/ahead.py), before the transition's lead begins.
REFRESH = 20.0
#: The prepared answers of the mix take about 78 MiB, more than the default bound (64 MiB):
#: raised here, so that the figures after a change measure the change, not evictions.
CACHE_MAX_BYTES = 256 * 1024 * 1024
#: The words of the corpus's text, for search.
_SEARCH_WORDS = (
    "pain", "nerve", "swelling", "doctor", "nurse", "infusion", "session", "dose", "treatment",
    "therapy", "clinic", "patient", "skin", "hand", "foot", "joint", "muscle", "sleep", "mood",
    "stress", "brain", "signal", "spinal", "receptor", "medicine", "research", "study",
    "trial", "result", "care", "support", "family", "exercise", "stretch", "burning",
    "throbbing", "stiffness", "colour", "temperature", "symptom", "blood", "pressure", "heart",
    "monitor", "calm", "relaxed", "gentle",
)  # fmt: skip


@dataclass
class Segment:
    """What wrk measured over one stretch of load."""

    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    #: Milliseconds from the change to the start of this stretch's load.
    start_offset_ms: float = 0.0
    #: Answers given from prepared bytes, and prepared anew, over the stretch (/metrics).
    hits: int = 0
    misses: int = 0
    #: Bytes of the prepared responses at the stretch's end.
    prepared_bytes: int = 0
    #: Answers prepared in the background (before a transition's instant, or again after a
    #: build), and answers given from the previous build's while a build's were prepared.
    ahead: int = 0
    stale: int = 0
    #: Answers of the previous build that the build did not change, kept as they were.
    carried: int = 0


@dataclass
class Result:
    urls: int
    steady: Segment
    #: From the build's start to its commit.
    during_build: Segment
    after_build: Segment
    after_transition: Segment
    build_s: float
    rebuild_s: float
    #: Probe name -> seconds from the instant to the first answer showing the article.
    first_seen: dict[str, float | None] = field(default_factory=dict)
    leaks: int = 0
    #: wrk's open connections (`--connections`).
    connections: int = 64
    #: Seconds from the build's commit to the first answer showing the edited article's
    #: change (a busy server gives the previous build's answers while it prepares the new).
    build_seen: float | None = None
    #: Seconds the build process ran on after its commit (recording events, exiting).
    build_after_commit: float = 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.after_change", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=1, help="runs; each is printed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results = [run(args) for _ in range(args.repeat)]
    for r in results:
        print_result(r)
    if len(results) > 1:
        print_medians(results)
    if args.json:
        args.json.write_text(
            json.dumps([as_dict(r) for r in results], indent=2) + "\n", encoding="utf-8"
        )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The same names as python -m bench, so that it can hand its own arguments over.
    for name, default in (("--articles", 1000), ("--faqs", 5000), ("--words", 1500),
                          ("--connections", 64), ("--threads", 2)):  # fmt: skip
        if not any(name in a.option_strings for a in parser._actions):
            parser.add_argument(name, type=int, default=default)
    if not any("--workdir" in a.option_strings for a in parser._actions):
        parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")


def run(args: argparse.Namespace) -> Result:
    from bench.run import build_seconds, free_port, start, step, workspace

    work = args.workdir / f"after-change-a{args.articles}-f{args.faqs}"
    content, db, env = workspace(work)
    env.setdefault("CLINIC_CACHE_MAX_BYTES", str(CACHE_MAX_BYTES))
    step(f"after a change: {args.articles} articles + {args.faqs} FAQs")
    generate(content, args.articles, args.faqs, words=args.words)
    for stale in work.glob("*.db*"):
        stale.unlink()
    build_s = build_seconds(env)
    port = free_port()
    server, _ = start(["api.app:app"], port, env, ready="/ready", name="api",
                      log=work / "api.log")  # fmt: skip
    try:
        urls = url_mix(port, args)
        script = work / "mix.lua"
        write_script(script, urls)
        load = Load(port, script, args)
        step(f"  steady state over {len(urls)} distinct URLs")
        load.start()
        time.sleep(WARM)
        load.stop()  # every answer prepared, and compressed as the mix asks
        load.start()
        time.sleep(WARM)
        steady = load.stop()

        # A build that changes content, with the load on.
        load.start()
        source = content / "articles" / f"{EDITED}.md"
        source.write_text(source.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
        # The instant: after the build (about as long as the first one), its 10 s, the time
        # the server takes to prepare the build's answers again under this load, and then
        # as long as the server prepares a transition's answers ahead of it, so that the
        # transition is measured as it comes on its own, not on top of the build.
        instant = time.time() + 2 * build_s + WINDOW + REFRESH + ahead_seconds(env)
        # Whole milliseconds, as the content states it: an answer between the stated instant
        # and a later fraction of it is not early.
        instant = math.floor(instant * 1000) / 1000
        write_scheduled(content, instant)
        step(f"  rebuilding under load; the scheduled article goes live at {_iso(instant)}")
        revision = content_revision(db)
        started = time.perf_counter()
        build = subprocess.Popen([sys.executable, "-m", "api", "build"], env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL)  # fmt: skip
        edit = Edited(port)
        ended: list[float] = []

        def wait_for_build() -> None:
            build.wait()
            ended.append(time.time())

        waiter = threading.Thread(target=wait_for_build)
        waiter.start()
        committed = wait_for_commit(db, revision, build)
        at_commit = prepared(port)  # what the build's stretch counts ends here
        after_build_run = load.measure(WINDOW, committed)
        during_build = load.stop(at_commit)
        after_build = after_build_run.result()
        build.wait(timeout=300)
        waiter.join()
        rebuild_s = time.perf_counter() - started
        build_after_commit = ended[0] - committed
        build_seen = edit.wait(committed)
        if time.time() + WARM / 2 > instant:
            step("  the build took longer than planned: the transition is measured late")

        # A transition, with the load on.
        cursor = sync_cursor(port)
        load.start()
        probes = Probes(port, instant, cursor)
        probes.start()
        while time.time() < instant:
            time.sleep(min(0.002, max(0.0, instant - time.time())))
        after_transition_run = load.measure(WINDOW, instant)
        load.stop()
        after_transition = after_transition_run.result()
        probes.join()
        return Result(
            len(urls), steady, during_build, after_build, after_transition, build_s,
            rebuild_s, probes.first_seen, probes.leaks, args.connections, build_seen,
            build_after_commit,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)


def ahead_seconds(env: dict[str, str]) -> float:
    """CLINIC_PREPARE_AHEAD as the server reads it (api/settings.py)."""
    from api.settings import Settings

    return float(Settings.from_env(env).prepare_ahead)


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")


def write_scheduled(content: Path, instant: float) -> None:
    """An article that goes live at `instant`, newest of all (so first in the lists)."""
    (content / "articles" / f"{SCHEDULED}.md").write_text(
        f'---\nslug: {SCHEDULED}\ntitle: "Scheduled bench article"\n'
        'summary: "An article scheduled a few seconds ahead."\nauthor: writer\n'
        "reviewed_by: dr-reviewer\nlast_reviewed: 2026-01-10\nnext_review_due: 2027-06-10\n"
        f"published_at: {_iso(instant)}\ntags:\n  - tag-1\nconditions:\n  - condition-1\n"
        "---\n\nIt goes live while the bench is running.\n",
        encoding="utf-8",
    )


def content_revision(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'content_revision'").fetchone()
        return str(row[0] if row else "")
    finally:
        conn.close()


def wait_for_commit(db: Path, before: str, build: subprocess.Popen[bytes]) -> float:
    """The wall-clock time at which the build's commit became visible to a reader."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            row = conn.execute("SELECT value FROM meta WHERE key = 'content_revision'").fetchone()
            if row and str(row[0]) != before:
                return time.time()
            if build.poll() is not None and build.returncode != 0:
                raise RuntimeError(f"the build failed ({build.returncode})")
            time.sleep(0.002)
        raise RuntimeError("the build did not commit within 300 s")
    finally:
        conn.close()


def prepared(port: int) -> dict[str, float]:
    """The prepared responses' counters, from /metrics."""
    _, body = fetch(port, "/metrics")
    found = {}
    for line in body.decode().splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("clinic_prepared_"):
            found[name.removeprefix("clinic_prepared_")] = float(value)
    return found


def counted(segment: Segment, before: dict[str, float], after: dict[str, float]) -> Segment:
    segment.hits = int(after["hits_total"] - before["hits_total"])
    segment.misses = int(after["misses_total"] - before["misses_total"])
    segment.prepared_bytes = int(after["bytes"])
    segment.ahead = int(after.get("ahead_total", 0) - before.get("ahead_total", 0))
    segment.stale = int(after.get("stale_total", 0) - before.get("stale_total", 0))
    segment.carried = int(after.get("carried_total", 0) - before.get("carried_total", 0))
    return segment


def fetch(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def url_mix(port: int, args: argparse.Namespace) -> list[str]:
    """A few thousand distinct URLs of every kind a site, an app, a kiosk and a newsletter
    would ask, in a fixed shuffled order."""
    rng = random.Random(13)
    n = args.articles
    topics = (args.faqs + FAQS_PER_TOPIC - 1) // FAQS_PER_TOPIC
    urls: list[str] = []
    articles = [f"article-{i:05d}" for i in range(n)]
    # Every answer of the mix fits in the prepared responses' default bound (64 MiB), with
    # room: a round robin over more would be the least-recently-used worst case, measured
    # by bench/run.py's sweep, not what a change costs.
    urls += [f"/v1/articles/{s}" for s in articles[: n // 2]]
    urls += [f"/v1/articles/{s}?include=conditions,treatments" for s in articles[::10]]
    urls += [f"/v1/articles/{s}?channel=kiosk" for s in articles[1::16]]
    sorts = ("-published_at", "published_at", "-updated_at", "updated_at", "title", "-title")
    for sort in sorts:
        for limit in (10, 20, 50):
            first = f"/v1/articles?sort={sort}&limit={limit}"
            urls.append(first)
            urls += pages(port, first, 3)
    for t in range(50):
        urls.append(f"/v1/articles?tag=tag-{t}")
        urls.append(f"/v1/articles?tag=tag-{t}&sort=title&fields=slug,title,summary")
    for c in range(CONDITIONS):
        urls.append(f"/v1/articles?condition=condition-{c}&include=treatments")
        urls.append(f"/v1/conditions/condition-{c}")
        urls.append(f"/v1/conditions/condition-{c}?include=symptoms,treatments")
    for c in range(TREATMENTS):
        urls.append(f"/v1/articles?treatment=treatment-{c}&limit=10")
        urls.append(f"/v1/treatments/treatment-{c}")
    for c in range(SYMPTOMS):
        urls.append(f"/v1/symptoms/symptom-{c}")
    for kind in ("conditions", "symptoms", "treatments"):
        for sort in ("title", "-title", "updated_at"):
            urls.append(f"/v1/{kind}?sort={sort}")
    for t in range(topics):
        first = f"/v1/faqs?topic=topic-{t}&limit=20"
        urls.append(first)
        urls += pages(port, first, 2)
        if t < 3:  # a topic's page has every question and answer (1 MB of 500)
            urls.append(f"/v1/faq-topics/topic-{t}")
        count = min(FAQS_PER_TOPIC, args.faqs - t * FAQS_PER_TOPIC)
        urls += [f"/v1/faqs/faq-{t}-{q}" for q in rng.sample(range(count), min(count, 60))]
    urls += ["/v1/faq-topics", "/v1/faq-topics?channel=kiosk", "/v1/faqs?limit=20"]
    for word in _SEARCH_WORDS:
        urls.append(f"/v1/search?q={word}")
        urls.append(f"/v1/search?q={word}&type=article&limit=10")
        urls.append(f"/v1/search?q={word}+{rng.choice(_SEARCH_WORDS)}")
    for fmt in ("atom", "rss", "json"):
        urls.append(f"/v1/feeds/articles.{fmt}")
        urls += [f"/v1/feeds/articles.{fmt}?tag=tag-{t}" for t in range(0, 50, 20)]
    urls += ["/v1/sitemap", "/v1/sitemap.xml", "/v1/site"]
    urls += ["/v1/sync?limit=20", "/v1/sync?limit=20&channel=kiosk&locale=en"]
    urls += pages(port, "/v1/sync?limit=20", 3)
    urls.append(f"/v1/sync?cursor={sync_cursor(port)}")
    for url in urls:
        status, _ = fetch(port, url)
        assert status == 200, (url, status)
    rng.shuffle(urls)
    return urls


def pages(port: int, first: str, count: int) -> list[str]:
    """The next `count` pages after `first`, by their cursors."""
    found = []
    url = first
    base = first.split("?")[0]
    query = first.split("?", 1)[1] if "?" in first else ""
    for _ in range(count):
        _, body = fetch(port, url)
        cursor = json.loads(body)["meta"].get("next_cursor")
        if not cursor:
            break
        url = f"{base}?{query}&cursor={cursor}" if query else f"{base}?cursor={cursor}"
        found.append(url)
    return found


def sync_cursor(port: int) -> str:
    """The cursor of a copy of the website's sync that is up to date now."""
    url = "/v1/sync?limit=500&channel=website"
    while True:
        _, body = fetch(port, url)
        meta = json.loads(body)["meta"]
        if not meta["has_more"]:
            return str(meta["next_cursor"])
        url = f"/v1/sync?limit=500&channel=website&cursor={meta['next_cursor']}"


def write_script(path: Path, urls: list[str]) -> None:
    """wrk's Lua: round robin over the URLs, each thread from its own offset, figures in
    microseconds as JSON on the last line."""
    path.write_text(
        "local paths = {" + ",".join(json.dumps(u) for u in urls) + "}\n"
        "local threads = {}\n"
        "local counter = 0\n"
        "function setup(thread)\n  thread:set('id', counter)\n  counter = counter + 1\n"
        "  table.insert(threads, thread)\nend\n"
        "local i = 0\n"
        "function init(args)\n  i = math.floor(#paths * id / 2)\nend\n"
        "function request()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip, br"})\nend\n'
        "function done(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        '  io.write(string.format(\'\\nFIGURES {"requests": %d, "p50": %d, "p99": %d,'
        ' "max": %d, "errors": %d, "status": %d, "us": %d}\\n\', summary.requests,'
        " latency:percentile(50), latency:percentile(99), latency.max,"
        " e.connect + e.read + e.write + e.timeout, e.status, summary.duration))\n"
        "end\n",
        encoding="utf-8",
    )


class Load:
    """wrk over the mix; started, stopped (SIGINT: wrk reports what it measured) and
    started again around each change."""

    def __init__(self, port: int, script: Path, args: argparse.Namespace) -> None:
        self.port = port
        self.script = script
        self.args = args
        self.process: subprocess.Popen[str] | None = None
        self.counters: dict[str, float] = {}

    def _command(self, seconds: float) -> list[str]:
        return ["wrk", f"-t{self.args.threads}", f"-c{self.args.connections}",
                f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(self.script),
                f"http://{HOST}:{self.port}/"]  # fmt: skip

    def start(self, seconds: float = 600) -> None:
        self.counters = prepared(self.port)
        self.process = subprocess.Popen(
            self._command(seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def stop(self, counters: dict[str, float] | None = None) -> Segment:
        """Stop; the prepared responses' counters are read now, unless given."""
        assert self.process is not None
        process, self.process = self.process, None
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
        return counted(parse(out), self.counters, counters or prepared(self.port))

    def measure(self, seconds: float, since: float) -> Measured:
        """wrk for `seconds`, started now, `since` being the change's wall-clock time. The
        load before it is stopped after this one started, so that no moment goes unloaded."""
        started = time.time()
        process = subprocess.Popen(
            self._command(seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return Measured(process, (started - since) * 1000, self.port, prepared(self.port))


@dataclass
class Measured:
    process: subprocess.Popen[str]
    start_offset_ms: float
    port: int
    counters: dict[str, float]

    def result(self) -> Segment:
        out, err = self.process.communicate(timeout=120)
        if self.process.returncode != 0:
            raise RuntimeError(f"wrk failed: {err}")
        segment = counted(parse(out), self.counters, prepared(self.port))
        segment.start_offset_ms = self.start_offset_ms
        return segment


def parse(out: str) -> Segment:
    line = next(x for x in out.splitlines() if x.startswith("FIGURES "))
    f = json.loads(line.removeprefix("FIGURES "))
    return Segment(
        seconds=f["us"] / 1e6,
        requests=f["requests"],
        p50_ms=f["p50"] / 1000,
        p99_ms=f["p99"] / 1000,
        max_ms=f["max"] / 1000,
        errors=f["errors"] + f["status"],
    )


class Edited:
    """A client asking for the edited article from the build's start until its edit shows."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: float | None = None
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()

    def wait(self, committed: float) -> float | None:
        """Seconds from `committed` (wall-clock seconds) to the first answer with it."""
        self._thread.join(timeout=60)
        return None if self.seen is None else max(0.0, self.seen - committed)

    def _probe(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        deadline = time.time() + 60
        try:
            while time.time() < deadline:
                conn.request("GET", f"/v1/articles/{EDITED}")
                response = conn.getresponse()
                if b"One more line." in response.read():
                    self.seen = time.time()
                    return
                time.sleep(0.005)
        finally:
            conn.close()


class Probes:
    """Four clients asking, from just before the instant, until the article appears."""

    def __init__(self, port: int, instant: float, cursor: str) -> None:
        self.port = port
        self.instant = instant
        self.first_seen: dict[str, float | None] = {}
        self.leaks = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._probe, args=(name, path), daemon=True)
            for name, path in (
                ("list", "/v1/articles?limit=20"),
                ("detail", f"/v1/articles/{SCHEDULED}"),
                ("feed", "/v1/feeds/articles.json"),
                ("sync", f"/v1/sync?channel=website&cursor={cursor}"),
            )
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=15)

    def _probe(self, name: str, path: str) -> None:
        while time.time() < self.instant - 1.0:
            time.sleep(0.01)
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        found: float | None = None
        try:
            while time.time() < self.instant + 5:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                received = time.time()
                seen = response.status == 200 and SCHEDULED.encode() in body
                if seen and received < self.instant:
                    with self._lock:
                        self.leaks += 1
                elif seen:
                    found = received - self.instant
                    break
                time.sleep(0.005)
        finally:
            conn.close()
            self.first_seen[name] = found


def as_dict(r: Result) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(r)


def print_result(r: Result) -> None:
    print(f"\nafter a change: {r.urls} distinct URLs, round robin, wrk -c{r.connections}"
          f" (build {r.build_s:.1f}"
          f" s, rebuild under load {r.rebuild_s:.1f} s)\n")  # fmt: skip
    print("| stretch of load | requests | req/s | p50 ms | p99 ms | max ms | errors | load from"
          " | prepared for a request | prepared ahead | kept as they were"
          " | previous build's |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = (
        ("(steady state, before)", r.steady),
        ("(during the build, to its commit)", r.during_build),
        ("a build", r.after_build),
        ("a transition", r.after_transition),
    )
    for name, s in rows:
        offset = f"+{s.start_offset_ms:.0f} ms" if not name.startswith("(") else "-"
        print(
            f"| {name} | {s.requests:,} | {s.requests / s.seconds:,.0f} | {s.p50_ms:.2f} |"
            f" {s.p99_ms:.2f} | {s.max_ms:.1f} | {s.errors} | {offset} | {s.misses:,} |"
            f" {s.ahead:,} | {s.carried:,} | {s.stale:,} |"
        )
    print(
        f"\n- prepared responses after the steady state: {r.steady.prepared_bytes / 2**20:.1f} MiB"
    )
    seen = ", ".join(
        f"{k} {'never' if v is None else f'{v * 1000:.0f} ms'}" for k, v in r.first_seen.items()
    )
    print(f"\n- scheduled article first seen after its instant: {seen}; leaks before: {r.leaks}")
    shown = "never" if r.build_seen is None else f"{r.build_seen * 1000:.0f} ms"
    print(f"- the build's edit first seen, under load, after its commit: {shown}")
    print(f"- the build process ran on for {r.build_after_commit:.1f} s after its commit")


def print_medians(results: list[Result]) -> None:
    print(f"\nmedians of {len(results)} runs:")
    for name in ("after_build", "after_transition"):
        segs = [getattr(r, name) for r in results]
        print(
            f"- {name.replace('_', ' ')}: p50 {statistics.median(s.p50_ms for s in segs):.2f} ms,"
            f" p99 {statistics.median(s.p99_ms for s in segs):.2f} ms,"
            f" max {statistics.median(s.max_ms for s in segs):.1f} ms"
        )
    shown = [r.build_seen for r in results if r.build_seen is not None]
    if shown:
        print(f"- the build's edit first seen: {statistics.median(shown) * 1000:.0f} ms")
    for probe in ("list", "detail", "feed", "sync"):
        values = [r.first_seen.get(probe) for r in results]
        known = [v for v in values if v is not None]
        text = f"{statistics.median(known) * 1000:.0f} ms" if known else "never"
        print(f"- first seen in {probe}: {text} ({len(values) - len(known)} never)")


if __name__ == "__main__":
    raise SystemExit(main())
