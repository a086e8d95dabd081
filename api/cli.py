"""python -m api: check | build | serve | status | preview-link | openapi | schemas | events."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import msgspec

from api.build import ContentErrors, build, check
from api.normalize import normalized
from api.registry import PAGE_FOLDERS, PAGE_SOURCES
from api.settings import Settings, SettingsError
from schemas.content import (
    FaqTopicSource,
    PeopleSource,
    SiteSource,
    SynonymsSource,
)

OPENAPI_PATH = Path("openapi/openapi.json")
SCHEMA_DIR = Path("schemas/json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate content/ and report every problem")
    commands.add_parser("build", help="build the database from content/")
    serve = commands.add_parser("serve", help="build if content changed, then serve with uvicorn")
    defaults = Settings()
    serve.add_argument("--host", help=f"address to bind (default CLINIC_HOST or {defaults.host})")
    serve.add_argument("--port", type=int, help=f"port (default CLINIC_PORT or {defaults.port})")
    serve.add_argument("--workers", type=int, default=1)
    status = commands.add_parser(
        "status", help="the calendar: scheduled, drafts, expiring, reviews, undelivered events"
    )
    status.add_argument(
        "--days", type=int, default=30, help="how far ahead an expiry is listed (default 30)"
    )
    link = commands.add_parser(
        "preview-link", help="a signed URL that opens one item as the preview shows it"
    )
    link.add_argument("slug", help="the item's slug")
    link.add_argument(
        "--type",
        default="article",
        choices=("article", "condition", "symptom", "treatment", "faq"),
        help="the item's type (default article)",
    )
    link.add_argument("--locale", help="the item's locale (default: the site's)")
    link.add_argument("--ttl", default="1h", help="how long it opens: 3600, 90s, 30m, 1h, 7d")
    openapi = commands.add_parser("openapi", help=f"write {OPENAPI_PATH}")
    openapi.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    openapi.add_argument("--output", type=Path, default=OPENAPI_PATH)
    schemas = commands.add_parser(
        "schemas", help=f"write the editors' JSON Schemas to {SCHEMA_DIR}/"
    )
    schemas.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    events = commands.add_parser("events", help="webhook deliveries: list, redeliver, enable")
    actions = events.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="failed deliveries (--all: every delivery)")
    listing.add_argument("--all", action="store_true", help="every delivery, delivered too")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    again = actions.add_parser("redeliver", help="send a delivery again, from the schedule's start")
    again.add_argument("delivery_id", type=int, metavar="ID")
    shown = actions.add_parser("attempts", help="every attempt of one delivery")
    shown.add_argument("delivery_id", type=int, metavar="ID")
    enabled = actions.add_parser("enable", help="enable an endpoint disabled by a 410")
    enabled.add_argument("endpoint", metavar="NAME")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.command == "check":
        return _check(settings)
    if args.command == "build":
        return _build(settings)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers)
    if args.command == "events":
        return asyncio.run(_events(settings, args))
    if args.command == "status":
        return _status(settings, args.days)
    if args.command == "preview-link":
        return _preview_link(settings, args.slug, args.type, args.locale, args.ttl)
    if args.command == "schemas":
        return _write_or_check(editor_schemas(), args.check, "python -m api schemas")
    return _write_or_check({args.output: openapi_document()}, args.check, "python -m api openapi")


def _check(settings: Settings) -> int:
    loaded = check(settings.content_dir)
    for error in loaded.errors:
        print(error, file=sys.stderr)
    if loaded.errors:
        print(f"{len(loaded.errors)} problem(s) in {settings.content_dir}/", file=sys.stderr)
        return 1
    # Notices on standard output: they do not fail the check, and tools that read problems
    # from standard error do not take them for problems.
    for notice in loaded.notices:
        print(notice)
    items = len(loaded.pages) + sum(len(t.faqs) for _, t in loaded.faq_topics)
    noted = f", {len(loaded.notices)} notice(s)" if loaded.notices else ""
    print(f"{settings.content_dir}/: {items} items, no problems{noted}")
    return 0


def _build(settings: Settings) -> int:
    try:
        result = asyncio.run(
            build(
                settings.content_dir,
                settings.db_path,
                base_url=settings.base_url,
                state_path=settings.state_path,
                endpoints=[(e.name, e.url) for e in settings.webhooks],
            )
        )
    except ContentErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(
            f"{len(exc.errors)} problem(s); {settings.db_path} was left as it was",
            file=sys.stderr,
        )
        return 1
    w = result.write
    print(
        f"built {result.items} items into {settings.db_path} in {result.seconds:.2f}s:"
        f" {w.created} created, {w.updated} updated, {w.deleted} deleted,"
        f" {w.unchanged} unchanged; content revision {w.content_revision}"
    )
    return 0


async def _events(settings: Settings, args: argparse.Namespace) -> int:
    """The outbox as operators see it (api/events/outbox.py); the server sends."""
    from api.events import log, outbox

    db = await log.connect(settings.state_path)
    try:
        if args.action == "list":
            rows = await outbox.deliveries(db, everything=args.all)
            for row in rows:
                if args.json:
                    print(json.dumps(row))
                    continue
                status = row["last_status"] or "-"
                note = " (endpoint disabled)" if row["endpoint_disabled"] else ""
                print(
                    f"{row['id']}\t{row['endpoint']}\t{row['event_id']}\t{row['event_type']}"
                    f"\t{row['state']}{note}\ttries={row['tries']}\tlast={status}"
                    f"\t{row['last_error'] or ''}"
                )
            if not args.json:
                print(f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}", file=sys.stderr)
            return 0
        if args.action == "attempts":
            for row in await outbox.attempts(db, args.delivery_id):
                print(json.dumps(row))
            return 0
        if args.action == "redeliver":
            if not await outbox.redeliver(db, args.delivery_id):
                print(f"error: no delivery {args.delivery_id}", file=sys.stderr)
                return 1
            print(f"delivery {args.delivery_id} will be sent again by the running server")
            return 0
        if not await outbox.enable(db, args.endpoint):
            print(f"error: no endpoint named {args.endpoint!r}", file=sys.stderr)
            return 1
        print(f"endpoint {args.endpoint} enabled")
        return 0
    finally:
        await db.close()


def _status(settings: Settings, days: int) -> int:
    import time

    from api.status import report

    try:
        lines = report(settings.db_path, settings.state_path, settings.review_policy,
                       time.time(), max(days, 0))  # fmt: skip
    except FileNotFoundError:
        print(f"error: no built database at {settings.db_path}; run build", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _preview_link(settings: Settings, slug: str, type_: str, locale: str | None, ttl: str) -> int:
    """Print a signed link (api/preview.py) to one item of the built content."""
    import sqlite3
    import time

    from api import preview

    if settings.preview_secret is None:
        print("error: CLINIC_PREVIEW_SECRET is not set: no link can be signed", file=sys.stderr)
        return 2
    try:
        seconds = preview.parse_ttl(ttl)
    except ValueError as exc:
        print(f"error: --ttl: {exc}", file=sys.stderr)
        return 2
    if not settings.db_path.is_file():
        print(f"error: no built database at {settings.db_path}; run build", file=sys.stderr)
        return 1
    db = sqlite3.connect(f"file:{settings.db_path.resolve()}?mode=ro", uri=True)
    try:
        if locale is None:
            row = db.execute("SELECT value FROM meta WHERE key = 'default_locale'").fetchone()
            locale = str(row[0]) if row else "en"
        found = db.execute(
            "SELECT 1 FROM items WHERE type = ? AND slug = ? AND locale = ? AND deleted = 0",
            (type_, slug, locale),
        ).fetchone()
    finally:
        db.close()
    if found is None:
        print(f"error: no {type_} with slug {slug!r} in locale {locale!r}", file=sys.stderr)
        return 1
    expires = int(time.time()) + seconds
    token = preview.sign(settings.preview_secret, type_, slug, locale, expires)
    print(preview.link_url(settings.api_url, type_, slug, locale, token))
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    print(f"opens {type_} {slug} ({locale}) until {moment}", file=sys.stderr)
    return 0


def _serve(settings: Settings, host: str | None, port: int | None, workers: int) -> int:
    import uvicorn

    if settings.build_on_start and _build(settings) != 0 and not settings.db_path.exists():
        return 1
    host = host or settings.host
    port = port or settings.port
    if not settings.public_url:
        # The app is imported by uvicorn (in worker processes too) and reads its settings
        # from the environment: without a public URL, its links name where it listens.
        listening = replace(settings, host=host, port=port)
        os.environ["CLINIC_PUBLIC_URL"] = listening.api_url
    uvicorn.run(
        "api.app:app",
        host=host,
        port=port,
        workers=workers,
        # asyncio's own loop, not uvloop (which uvicorn takes when it is installed): under
        # load uvloop answered up to about 15% more a second, but stopped for 50 to 300 ms
        # every few seconds, which set the 99th percentile after a build (bench/README.md).
        loop="asyncio",
        proxy_headers=False,
        server_header=False,
        access_log=False,  # the API writes its own JSON access log (api/middleware/access_log.py)
        # An idle connection is closed this long after its last answer; beyond the limit,
        # uvicorn answers 503 at once rather than queueing without bound. Neither closes a
        # connection that is slow to send its request: see the README's deployment notes.
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.concurrency_limit or None,
    )
    return 0


def openapi_document() -> bytes:
    from api.app import openapi_document

    return openapi_document()


def editor_schemas() -> dict[Path, bytes]:
    """JSON Schema of each source file kind, for editors' IDEs (e.g. YAML language servers)."""
    files: dict[str, type[msgspec.Struct]] = {
        f"{PAGE_FOLDERS[folder]}.schema.json": struct for folder, struct in PAGE_SOURCES.items()
    }
    files |= {
        "faq-topic.schema.json": FaqTopicSource,
        "people.schema.json": PeopleSource,
        "site.schema.json": SiteSource,
        "synonyms.schema.json": SynonymsSource,
    }
    return {
        SCHEMA_DIR / name: msgspec.json.format(
            msgspec.json.encode(normalized(msgspec.json.schema(struct))), indent=2
        )
        + b"\n"
        for name, struct in sorted(files.items())
    }


def _write_or_check(files: dict[Path, bytes], check_only: bool, fix: str) -> int:
    stale = [path for path, data in files.items() if not path.exists() or path.read_bytes() != data]
    if check_only:
        for path in stale:
            print(f"{path} is out of date; run: {fix}", file=sys.stderr)
        if not stale:
            print(f"{len(files)} file(s) up to date")
        return 1 if stale else 0
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path}")
    return 0
