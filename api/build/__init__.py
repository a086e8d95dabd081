"""content/ to SQLite: load, check, render and shape, then write in one transaction."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from api import links
from api.build.check import check_relations, check_schedule
from api.build.load import ContentError, ContentErrors, Loaded, load
from api.build.shape import shape
from api.build.synonyms import check_synonyms
from api.build.translations import check_translations
from api.storage.text import words
from api.storage.writer import WriteResult, connect_for_build, write

__all__ = ["BuildResult", "ContentError", "ContentErrors", "build", "check"]


@dataclass(frozen=True, slots=True)
class BuildResult:
    write: WriteResult
    items: int
    seconds: float


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while content is loaded, built and written.

    A large build makes millions of objects that live until it ends; every full collection
    walks them all, several seconds of a 60,000-item build for no garbage found.
    Forked workers inherit the setting and exit when done. Memory still goes back by
    reference counting; the collector is turned back on after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check(content_dir: Path) -> Loaded:
    """Load and validate everything; `errors` lists every problem found, sorted by file."""
    with _collector_paused():
        loaded = load(content_dir)
        if loaded.people is not None or loaded.pages or loaded.faq_topics:
            loaded.errors.extend(check_relations(loaded))
            loaded.errors.extend(check_translations(loaded))
        loaded.errors.extend(check_synonyms(loaded))
        loaded.errors.sort()
        if not loaded.errors:
            loaded.notices = check_schedule(loaded)
    return loaded


async def build(
    content_dir: Path,
    db_path: Path,
    *,
    base_url: str | None = None,
    state_path: Path | None = None,
    endpoints: Sequence[tuple[str, str]] = (),
) -> BuildResult:
    """Build the database from content/. Raises ContentErrors and writes nothing if invalid.

    `base_url` (CLINIC_BASE_URL) replaces site.yaml's base_url: the absolute links baked into
    the stored items (JSON-LD) and the base URL /v1/site reports are the deployment's.
    The build's changes become events in the state store at `state_path` (by default
    `state.db` beside the database; see api/events/log.py), in the build's transaction;
    `endpoints` (name, url) are the webhook endpoints to make known to the outbox first.
    """
    started = time.perf_counter()
    state = state_path or default_state_path(db_path)
    with _collector_paused():
        return await _build(content_dir, db_path, base_url, started, state, endpoints)


def default_state_path(db_path: Path) -> Path:
    """Where the state store is when CLINIC_STATE_PATH does not say: beside the database."""
    return db_path.with_name("state.db")


async def _build(
    content_dir: Path,
    db_path: Path,
    base_url: str | None,
    started: float,
    state_path: Path,
    endpoints: Sequence[tuple[str, str]],
) -> BuildResult:
    loaded = check(content_dir)
    if loaded.errors:
        raise ContentErrors(loaded.errors)
    assert loaded.site is not None
    if base_url:
        configured = links.base_url(base_url, loaded.site.base_url)
        loaded.site = msgspec.structs.replace(loaded.site, base_url=configured)
    shaped = shape(loaded)
    site = msgspec.json.encode(loaded.site)
    synonyms = [
        [" ".join(words(term)) for term in group.terms]
        for group in (loaded.synonyms.groups if loaded.synonyms else [])
    ]
    db = await connect_for_build(db_path)
    try:
        result = await write(
            db,
            shaped.records,
            site,
            synonyms,
            started=started,
            vocab=shaped.vocabulary,
            state_path=state_path,
            endpoints=endpoints,
        )
    finally:
        await db.close()
    return BuildResult(result, len(shaped.records), time.perf_counter() - started)
