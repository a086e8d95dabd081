"""content/ to SQLite: load, check, render and shape, then write in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from api.build.check import check_relations
from api.build.load import ContentError, ContentErrors, Loaded, load
from api.build.shape import shape
from api.storage.writer import WriteResult, connect_for_build, write

__all__ = ["BuildResult", "ContentError", "ContentErrors", "build", "check"]


@dataclass(frozen=True, slots=True)
class BuildResult:
    write: WriteResult
    items: int
    seconds: float


def check(content_dir: Path) -> Loaded:
    """Load and validate everything; `errors` lists every problem found, sorted by file."""
    loaded = load(content_dir)
    if loaded.people is not None or loaded.pages or loaded.faq_topics:
        loaded.errors.extend(check_relations(loaded))
    loaded.errors.sort()
    return loaded


async def build(content_dir: Path, db_path: Path) -> BuildResult:
    """Build the database from content/. Raises ContentErrors and writes nothing if invalid."""
    started = time.perf_counter()
    loaded = check(content_dir)
    if loaded.errors:
        raise ContentErrors(loaded.errors)
    assert loaded.site is not None
    records = shape(loaded)
    site = msgspec.json.encode(loaded.site)
    db = await connect_for_build(db_path)
    try:
        result = await write(db, records, site)
    finally:
        await db.close()
    return BuildResult(result, len(records), time.perf_counter() - started)
