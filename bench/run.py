"""python -m bench: corpus → build → real server → wrk, with a bare ASGI app as yardstick.

Everything runs on 127.0.0.1. The API runs as production runs it: uvicorn, one worker,
asyncio's own loop and httptools, with the default settings (the JSON access log on,
written to a file in the work folder as a log collector would take it) except the
per-address rate limit, since one address sends every request. In the same run, a bare
ASGI callable
(bench/bare.py) under the same server answers bytes of the same size as each endpoint, and
every figure is printed with its ratio to it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import after_change
from bench.corpus import generate

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
WRK_HELP = (
    "wrk is not installed. On Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y"
    " wrk (other systems: https://github.com/wg/wrk)."
)


@dataclass
class Scenario:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    size: int = 0  # bytes of the body on the wire


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    #: CPU time the server spent per request answered (user + system, from /proc): unlike
    #: req/s, it hardly depends on what else the machine's CPUs are doing meanwhile.
    cpu_us: float = math.nan


@dataclass
class Row:
    name: str
    size: int
    api: Figures
    bare: Figures

    @property
    def ratio(self) -> float:
        return self.api.rps / self.bare.rps if self.bare.rps else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--faqs", type=int, default=5000)
    parser.add_argument("--words", type=int, default=1500, help="words per article")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median kept")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="measure only the endpoints whose name contains TEXT (e.g. 304), beside the bare"
        " app as usual; the sweep and the rebuild are left out",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_HELP, file=sys.stderr)
        return 2

    work = args.workdir / f"a{args.articles}-f{args.faqs}"
    content, _, env = workspace(work)
    report: dict[str, object] = {"articles": args.articles, "faqs": args.faqs}

    step(f"generating {args.articles} articles (~{args.words} words) + {args.faqs} FAQs")
    started = time.perf_counter()
    generate(content, args.articles, args.faqs, words=args.words)
    step(f"  {time.perf_counter() - started:.1f} s")
    for stale in work.glob("bench.db*"):
        stale.unlink()
    step("building")
    report["build_s"] = build_seconds(env)
    step(f"  {report['build_s']:.1f} s")

    api_port, bare_port = free_port(), free_port()
    api, startup_s = start(
        ["api.app:app"], api_port, env, ready="/ready", name="api", log=work / "api.log"
    )
    report["startup_s"] = startup_s
    bare, _ = start(["bench.bare:app"], bare_port, dict(os.environ), ready="/0", name="bare")
    try:
        step(f"start-up to /ready: {startup_s * 1000:.0f} ms")
        report["rss_idle_mb"] = rss_mb(api.pid)
        scenarios = discover(api_port)
        if args.only:
            scenarios = [s for s in scenarios if args.only.lower() in s.name.lower()]
        rows = measure(scenarios, (api_port, api.pid), (bare_port, bare.pid), args)
        report["rows"] = [{**asdict(r), "ratio": round(r.ratio, 3)} for r in rows]
        if not args.only:
            report["sweep"] = sweep(api_port, args, work)
        report["rss_mb"] = rss_mb(api.pid)
        if not args.only:
            report["first_after_build"] = first_after_build(api_port, env, content, args)
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=10)
    # On a server of its own, so that the figures above are of a server left as they found it.
    changed = after_change.run(args)
    report["after_change"] = after_change.as_dict(changed)
    print_report(report, rows, args)
    after_change.print_result(changed)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def workspace(work: Path) -> tuple[Path, Path, dict[str, str]]:
    """A scenario's content folder and database in `work` (made if missing), and the
    server's environment pointing at them."""
    work.mkdir(parents=True, exist_ok=True)
    content, db = work / "content", work / "bench.db"
    env = {
        **os.environ,
        "CLINIC_CONTENT_DIR": str(content),
        "CLINIC_DB_PATH": str(db),
        # One client address sends every request: the per-address limit would measure 429s.
        "CLINIC_RATE_LIMIT": os.environ.get("CLINIC_RATE_LIMIT", "0"),
    }
    return content, db, env


def step(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_seconds(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api", "build"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(
    app: list[str], port: int, env: dict[str, str], ready: str, name: str, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], float]:
    """Start uvicorn as production does; return it and the seconds until `ready` said 200.
    Its stderr (the access log) goes to `log`, replacing what an earlier run left."""
    command = [sys.executable, "-m", "uvicorn", *app, "--host", HOST, "--port", str(port),
               "--workers", "1", "--loop", "asyncio", "--http", "httptools",
               "--no-access-log", "--no-server-header", "--log-level", "warning"]  # fmt: skip
    started = time.perf_counter()
    stderr = log.open("wb") if log else None
    try:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=stderr)
    finally:
        if stderr is not None:
            stderr.close()  # the server has its own descriptor
    deadline = started + 60
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited with {process.returncode}")
        try:
            status, _, _ = fetch(port, ready)
            if status == 200:
                return process, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    process.terminate()
    raise RuntimeError(f"{name} server was not ready within 60 s")


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def discover(port: int) -> list[Scenario]:
    """The endpoints measured, with the bytes each sends (the bare app sends as many)."""
    _, _, body = fetch(port, "/v1/articles?limit=20")
    detail = "/v1/articles/" + json.loads(body)["data"][10]["slug"]
    first_page = "/v1/faqs?limit=20"
    path = first_page
    for _ in range(199):  # page 200: walk the cursor chain from the first page
        _, _, body = fetch(port, path)
        path = f"{first_page}&cursor={json.loads(body)['meta']['next_cursor']}"
    _, headers, _ = fetch(port, detail)
    scenarios = [
        Scenario("article list (limit 20)", "/v1/articles?limit=20"),
        Scenario("article detail", detail),
        Scenario("FAQ list by topic", "/v1/faqs?topic=topic-1&limit=20"),
        Scenario("FAQ list, first page", first_page),
        Scenario("FAQ list, page 200 (cursor)", path),
        Scenario("304 revalidation (detail)", detail, {"If-None-Match": headers["etag"]}, 304),
        Scenario("article detail, gzip", detail, {"Accept-Encoding": "gzip"}),
        Scenario("article detail, brotli", detail, {"Accept-Encoding": "br"}),
    ]
    for s in scenarios:
        status, got, body = fetch(port, s.path, s.headers)
        assert status == s.status, (s, status)
        if "Accept-Encoding" in s.headers:
            assert got.get("content-encoding") == s.headers["Accept-Encoding"], got
        s.size = len(body)
    return scenarios


_LATENCY = re.compile(r"^\s*(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    server: tuple[int, int], path: str, headers: dict[str, str], args: argparse.Namespace
) -> Figures:
    port, pid = server
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
               "--latency", f"http://{HOST}:{port}{path}"]  # fmt: skip
    for name, value in headers.items():
        command[1:1] = ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    latency = {q: float(v) * _UNITS[unit] for q, v, unit in _LATENCY.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    answered = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    cpu_us = cpu / answered * 1e6 if answered else math.nan
    return Figures(rps, latency["50"], latency["99"], errors, cpu_us)


def median(figures: list[Figures]) -> Figures:
    return Figures(
        statistics.median(f.rps for f in figures),
        statistics.median(f.p50_ms for f in figures),
        statistics.median(f.p99_ms for f in figures),
        sum(f.errors for f in figures),
        statistics.median(f.cpu_us for f in figures),
    )


def measure(
    scenarios: list[Scenario],
    api_server: tuple[int, int],
    bare_server: tuple[int, int],
    args: argparse.Namespace,
) -> list[Row]:
    api: dict[str, list[Figures]] = {s.name: [] for s in scenarios}
    bare: dict[str, list[Figures]] = {s.name: [] for s in scenarios}
    for round_ in range(args.repeat):
        for s in scenarios:
            step(f"round {round_ + 1}/{args.repeat}: {s.name}")
            # Interleaved, so a noisy neighbour on a shared machine hits both alike.
            api[s.name].append(wrk(api_server, s.path, s.headers, args))
            bare[s.name].append(wrk(bare_server, f"/{s.size}", {}, args))
    return [Row(s.name, s.size, median(api[s.name]), median(bare[s.name])) for s in scenarios]


def sweep(port: int, args: argparse.Namespace, work: Path) -> dict[str, float]:
    """Every article and a page of every topic, round robin: fills the prepared responses
    (bounded by CLINIC_CACHE_MAX_BYTES) so resident memory is measured under a full set."""
    paths = [f"/v1/articles/article-{i:05d}" for i in range(args.articles)]
    topics = (args.faqs + 499) // 500
    paths += [f"/v1/faqs?topic=topic-{t}&limit=20" for t in range(topics)]
    script = work / "sweep.lua"
    script.write_text(
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip, br"})\nend\n',
        encoding="utf-8",
    )
    step(f"sweep over {len(paths)} distinct URLs")
    duration = max(args.duration * 2, 10)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
               "--latency", "-s", str(script), f"http://{HOST}:{port}/"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {q: float(v) * _UNITS[unit] for q, v, unit in _LATENCY.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"urls": len(paths), "rps": rps, "p50_ms": latency["50"], "p99_ms": latency["99"]}


def first_after_build(
    port: int, env: dict[str, str], content: Path, args: argparse.Namespace
) -> dict[str, float]:
    """Change one article, rebuild beside the running server, then time the first request
    of many URLs in the new revision (none prepared yet), one at a time."""
    source = content / "articles" / "article-00000.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
    step("rebuilding beside the running server")
    rebuild = build_seconds(env)
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    timings = []
    try:
        for i in range(min(args.articles, 300)):
            started = time.perf_counter()
            conn.request("GET", f"/v1/articles/article-{i:05d}", headers={"Accept-Encoding": "br"})
            response = conn.getresponse()
            response.read()
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status == 200
    finally:
        conn.close()
    timings.sort()
    return {
        "rebuild_s": rebuild,
        "requests": len(timings),
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "first_ms": timings[0],
    }


def rss_mb(pid: int) -> float:
    """Resident memory of the server and of the processes it started (the one answers are
    prepared ahead in, api/http/preparer.py, and multiprocessing's resource tracker)."""
    total = 0
    for each in (pid, *_children(pid)):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue  # ended meanwhile
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024 if total else float("nan")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def print_report(report: dict[str, object], rows: list[Row], args: argparse.Namespace) -> None:
    print(
        f"\n{report['articles']} articles + {report['faqs']} FAQs; wrk -t{args.threads}"
        f" -c{args.connections} -d{args.duration}s, median of {args.repeat};"
        f" {os.cpu_count()} CPUs shared by wrk and the server\n"
    )
    print("| endpoint | bytes | req/s | p50 ms | p99 ms | bare req/s | bare p99 ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        errors = f" ({r.api.errors} errors)" if r.api.errors else ""
        print(
            f"| {r.name}{errors} | {r.size} | {r.api.rps:,.0f} | {r.api.p50_ms:.2f} |"
            f" {r.api.p99_ms:.2f} | {r.bare.rps:,.0f} | {r.bare.p99_ms:.2f} | {r.ratio:.0%} |"
        )
    print()
    print("| endpoint | server CPU µs per request | bare | ratio by CPU |")
    print("|---|---:|---:|---:|")
    for r in rows:
        share = r.bare.cpu_us / r.api.cpu_us if r.api.cpu_us else math.nan
        print(f"| {r.name} | {r.api.cpu_us:.1f} | {r.bare.cpu_us:.1f} | {share:.0%} |")
    if args.only:
        return
    by_name = {r.name: r for r in rows}
    deep, first = by_name["FAQ list, page 200 (cursor)"], by_name["FAQ list, first page"]
    sweep = report["sweep"]
    after = report["first_after_build"]
    assert isinstance(sweep, dict)
    assert isinstance(after, dict)
    print()
    print(f"- deep cursor page vs first page: {deep.api.rps / first.api.rps:.0%} of the req/s")
    print(f"- build: {report['build_s']:.1f} s; rebuild after one edit:"
          f" {after['rebuild_s']:.1f} s")  # fmt: skip
    print(f"- start-up to /ready: {report['startup_s'] * 1000:.0f} ms")  # type: ignore[operator]
    print(
        f"- first request after a build (not prepared), {after['requests']} URLs one at a"
        f" time: p50 {after['p50_ms']:.2f} ms, p99 {after['p99_ms']:.2f} ms"
    )
    print(
        f"- sweep over {sweep['urls']} distinct URLs: {sweep['rps']:,.0f} req/s,"
        f" p50 {sweep['p50_ms']:.2f} ms, p99 {sweep['p99_ms']:.2f} ms"
    )
    print(
        "- resident memory of the server and the processes it started:"
        f" {report['rss_idle_mb']:.0f} MB at start,"
        f" {report['rss_mb']:.0f} MB after the runs and the sweep"
    )
