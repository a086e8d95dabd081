"""Soak: steady load on a real server for a set time; resident memory at start and end.

    python bench/soak.py --seconds 600

Builds content/ into a temporary database, starts `python -m api serve` on a loopback
port (rate limits off, access log on, written to a temporary file), and runs a fixed
mix of requests from several threads: lists, pages, includes, sparse fields, cursors,
404s and 400s, each with the status it must get. Resident memory (VmRSS) of the server is
sampled every few seconds; the figure after warm-up is the baseline. Prints the figures
and exits 1 on any unexpected answer or when memory grew by 10% or more after warm-up.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MIX: list[tuple[str, int]] = [
    ("/v1/articles", 200),
    ("/v1/articles?limit=1", 200),
    ("/v1/articles/ketamine-for-crps", 200),
    ("/v1/articles/ketamine-for-crps?include=conditions,treatments", 200),
    ("/v1/conditions/crps?include=symptoms,treatments,faqs", 200),
    ("/v1/symptoms?limit=3&fields=title,summary", 200),
    ("/v1/treatments", 200),
    ("/v1/faqs?topic=about-ketamine", 200),
    ("/v1/faqs?limit=100&sort=-updated_at", 200),
    ("/v1/site", 200),
    ("/health", 200),
    ("/ready", 200),
    ("/v1/articles/no-such-article", 404),
    ("/v1/articles?limit=1000", 400),
    ("/v1/faqs?colour=blue", 400),
    ("/no/such/path", 404),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="load time after warm-up")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the baseline")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sample", type=float, default=5, help="seconds between RSS samples")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="clinic-soak-"))
    port = free_port()
    env = {
        **os.environ,
        "CLINIC_DB_PATH": str(work / "clinic.db"),
        "CLINIC_CONTENT_DIR": str(ROOT / "content"),
        "CLINIC_RATE_LIMIT": "0",
        "CLINIC_RATE_LIMIT_KEY": "0",
    }
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("server did not become ready")
        return soak(server.pid, url, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        print(f"server log: {work / 'server.log'}")


def soak(pid: int, url: str, args: argparse.Namespace) -> int:
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"requests": 0, "errors": 0}
    errors: list[str] = []

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            i = n
            while not stop.is_set():
                path, expected = MIX[i % len(MIX)]
                i += 1
                try:
                    status = client.get(path, headers={"X-Request-ID": f"soak-{n}-{i}"}).status_code
                except httpx.HTTPError as exc:
                    status, path = -1, f"{path} ({exc!r})"
                with lock:
                    counts["requests"] += 1
                    if status != expected:
                        counts["errors"] += 1
                        if len(errors) < 20:
                            errors.append(f"{path}: {status}, expected {expected}")

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.threads)]
    started = time.monotonic()
    before_warmup = rss_kib(pid)
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    baseline, warm_requests = rss_kib(pid), counts["requests"]
    samples = [baseline]
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        time.sleep(min(args.sample, max(0.0, deadline - time.monotonic())))
        samples.append(rss_kib(pid))
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    end = samples[-1]
    growth = (end - baseline) / baseline * 100
    measured = counts["requests"] - warm_requests
    print(f"server pid {pid}; {args.threads} threads; warm-up {args.warmup:.0f} s;"
          f" measured {args.seconds:.0f} s")  # fmt: skip
    rate = measured / args.seconds
    print(f"requests: {counts['requests']} in {time.monotonic() - started:.0f} s"
          f" ({rate:.0f}/s after warm-up); unexpected answers: {counts['errors']}")  # fmt: skip
    print(f"RSS: {before_warmup / 1024:.1f} MiB at start, {baseline / 1024:.1f} MiB after warm-up,"
          f" {end / 1024:.1f} MiB at end (peak {max(samples) / 1024:.1f} MiB);"
          f" growth after warm-up {growth:+.1f}%")  # fmt: skip
    for error in errors:
        print("  ", error)
    return 0 if counts["errors"] == 0 and growth < 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
