"""python -m api: check | build | serve | openapi."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from api.build import ContentErrors, build, check
from api.settings import Settings

OPENAPI_PATH = Path("openapi/openapi.json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate content/ and report every problem")
    commands.add_parser("build", help="build the database from content/")
    serve = commands.add_parser("serve", help="build if content changed, then serve with uvicorn")
    serve.add_argument("--host", help="address to bind (default CLINIC_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default CLINIC_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1)
    openapi = commands.add_parser("openapi", help=f"write {OPENAPI_PATH}")
    openapi.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    openapi.add_argument("--output", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    if args.command == "check":
        return _check(settings)
    if args.command == "build":
        return _build(settings)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers)
    return _openapi(args.output, args.check)


def _check(settings: Settings) -> int:
    loaded = check(settings.content_dir)
    for error in loaded.errors:
        print(error, file=sys.stderr)
    if loaded.errors:
        print(f"{len(loaded.errors)} problem(s) in {settings.content_dir}/", file=sys.stderr)
        return 1
    items = len(loaded.pages) + sum(len(t.faqs) for _, t in loaded.faq_topics)
    print(f"{settings.content_dir}/: {items} items, no problems")
    return 0


def _build(settings: Settings) -> int:
    try:
        result = asyncio.run(build(settings.content_dir, settings.db_path))
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


def _serve(settings: Settings, host: str | None, port: int | None, workers: int) -> int:
    import uvicorn

    if settings.build_on_start and _build(settings) != 0 and not settings.db_path.exists():
        return 1
    uvicorn.run(
        "api.app:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _openapi(output: Path, check_only: bool) -> int:
    from api.app import openapi_document

    document = openapi_document()
    if check_only:
        current = output.read_bytes() if output.exists() else b""
        if current != document:
            print(
                f"{output} differs from the served document; run: python -m api openapi",
                file=sys.stderr,
            )
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(document)
    print(f"wrote {output}")
    return 0
