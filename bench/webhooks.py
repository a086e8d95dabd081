"""Webhook figures: how soon events reach a receiver after a build, how fast a backlog
drains after the receiver comes back, and what a delivery burst costs requests served.

```sh
python -m bench.webhooks --articles 500
```

Writes a synthetic corpus (bench/corpus.py), starts the API under uvicorn as production
does (bench/run.py), with a webhooks file naming a receiver on 127.0.0.1 that checks every
delivery with the `standardwebhooks` package (tests/webhook_receiver.py), then:

1. builds the corpus: one event per item and a `content.changed`; the time from the end
   of the build to the first and the last delivery, and the share of signatures verified;
2. measures `GET /v1/articles` with wrk (`-t2 -c32`) without deliveries, then while every
   article is changed and rebuilt beside the server (one `item.updated` each), and gives
   both p99s;
3. takes the receiver down for a while (answers 500, then refused connections), changes
   and rebuilds again, brings it back, and times how long the backlog takes to drain, with
   the number of attempts the outbox recorded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.corpus import generate
from bench.run import ROOT, Figures, free_port, start, wrk
from tests.webhook_receiver import Receiver, new_secret


def build(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api", "build"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def touch_articles(content: Path, mark: str) -> None:
    for path in (content / "articles").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        text = text.rstrip("\n").rsplit("\n<!-- edition", 1)[0]
        path.write_text(text + f"\n<!-- edition {mark} -->\n", encoding="utf-8")


def wait(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--down", type=float, default=5.0, help="seconds the receiver is down")
    args = parser.parse_args(argv)
    args.threads, args.connections = 2, 32
    work = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    try:
        content = generate(work / "content", args.articles, 0, words=300)
        secrets = [new_secret()]
        receiver = Receiver(secrets).start()
        hooks = work / "webhooks.yaml"
        hooks.write_text(
            f"endpoints: [{{name: receiver, url: '{receiver.url}', secrets: [{secrets[0]}]}}]\n"
        )
        env = {
            **os.environ,
            "CLINIC_CONTENT_DIR": str(content),
            "CLINIC_DB_PATH": str(work / "clinic.db"),
            "CLINIC_WEBHOOKS_FILE": str(hooks),
            "CLINIC_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.5", "1"] + ["2"] * 20),
            "CLINIC_RATE_LIMIT": "0",
            "CLINIC_RATE_LIMIT_KEY": "0",
            "CLINIC_ACCESS_LOG": "0",
            "CLINIC_BUILD_ON_START": "0",
        }
        state = work / "state.db"
        port = free_port()
        server, _ = start(["api.app:app"], port, env, "/health", "api")
        try:
            seconds = build(env)  # the endpoint is new: it is owed this build's events
            built = time.time()
            events = sqlite3.connect(state).execute("SELECT count(*) FROM events").fetchone()[0]
            wait(lambda: len(receiver.delivered_ids()) >= events, 120)
            got = receiver.snapshot()
            verified = sum(all(v is not None for v in r.verified) for r in got)
            print(f"first build: {events} events ({seconds:.2f} s build); first delivered"
                  f" {min(r.at for r in got) - built:.3f} s after it ended, the last"
                  f" {max(r.at for r in got) - built:.3f} s after;"
                  f" {verified}/{len(got)} signatures verified")  # fmt: skip

            base = wrk((port, server.pid), "/v1/articles", {}, args)
            touch_articles(content, "1")
            before = len(receiver.snapshot())
            during: list[Figures] = []

            def load() -> None:
                during.append(wrk((port, server.pid), "/v1/articles", {}, args))

            thread = threading.Thread(target=load)
            thread.start()
            time.sleep(0.5)
            built = time.time()
            build(env)
            done_building = time.time()
            thread.join()
            load_ended = time.time()
            events = sqlite3.connect(state).execute("SELECT count(*) FROM events").fetchone()[0]
            wait(lambda: len(receiver.delivered_ids()) >= events, 120)
            burst = receiver.snapshot()[before:]
            under_load = sum(r.at <= load_ended for r in burst)
            print(f"GET /v1/articles p99: {base.p99_ms:.2f} ms at {base.rps:,.0f} req/s without"
                  f" deliveries; {during[0].p99_ms:.2f} ms at {during[0].rps:,.0f} req/s"
                  f" while a build beside it changed every article ({done_building - built:.2f} s)"
                  f" and {under_load} of its {len(burst)} events were delivered; the last"
                  f" {max(r.at for r in burst) - done_building:.2f} s after the build ended,"
                  f" {max(r.at for r in burst) - load_ended:.2f} s after the load")  # fmt: skip

            receiver.status = 500
            touch_articles(content, "2")
            build(env)
            time.sleep(args.down / 2)
            receiver.stop()
            time.sleep(args.down / 2)
            receiver.status = 200
            receiver.start()
            back = time.time()
            owed = (
                sqlite3.connect(state)
                .execute("SELECT count(*) FROM deliveries WHERE state = 'pending'")
                .fetchone()[0]
            )
            wait(lambda: sqlite3.connect(state).execute(
                "SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0] == 0,
                300)  # fmt: skip
            drained = time.time() - back
            attempts, deliveries = (
                sqlite3.connect(state)
                .execute(
                    "SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM deliveries)"
                )
                .fetchone()
            )
            print(f"receiver down {args.down:.0f} s (500s, then refused): {owed} deliveries"
                  f" owed, all delivered {drained:.2f} s after it came back; {attempts}"
                  f" attempts recorded for {deliveries} deliveries")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
            receiver.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
