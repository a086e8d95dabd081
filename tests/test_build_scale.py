"""What makes a large build fast changes nothing it produces: forked workers load
and render exactly what one process does, problems are reported the same, a database's
first build ends with the same schema, and the fast path of `fold` folds as the slow one."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from api.build import build, check
from api.build.load import load
from api.build.shape import shape
from api.storage.text import fold
from api.storage.writer import SCHEMA, vocabulary
from bench.corpus import generate
from tests.support import CONTENT

load_module = importlib.import_module("api.build.load")
shape_module = importlib.import_module("api.build.shape")


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for any size of content, and many small runs of files for them."""
    monkeypatch.setattr(load_module, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(load_module, "PART_BYTES", 8 * 1024)
    monkeypatch.setattr(shape_module, "PARALLEL_FROM_ITEMS", 0)


@pytest.fixture(params=["clinic", "bench"])
def content(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The clinic's content (every kind, translations, accents) or a synthetic corpus."""
    if request.param == "clinic":
        return CONTENT
    return generate(tmp_path / "bench", articles=40, faqs=1100, words=150)


@pytest.mark.usefixtures("always_parallel")
def test_workers_load_and_render_exactly_what_one_process_does(content: Path) -> None:
    one = load(content, workers=1)
    two = load(content, workers=2)
    assert one.errors == two.errors == []
    assert two == one
    by_one = shape(one, workers=1)
    by_two = shape(two, workers=2)
    assert by_two.records == by_one.records
    assert [r.content_hash for r in by_two.records] == [r.content_hash for r in by_one.records]
    assert by_two.vocabulary == by_one.vocabulary == vocabulary(by_one.records)


@pytest.mark.usefixtures("always_parallel")
def test_workers_report_the_same_problems(content_copy: Path) -> None:
    (content_copy / "symptoms" / "swelling.md").write_text("no front matter\n", encoding="utf-8")
    article = content_copy / "articles" / "ketamine-for-crps.md"
    article.write_text(
        article.read_text(encoding="utf-8").replace("summary: >-", "sumary: x\nsummary: >-", 1),
        encoding="utf-8",
    )
    faqs = sorted((content_copy / "faqs").iterdir())[0]
    faqs.write_text(faqs.read_text(encoding="utf-8") + "\n  - [unclosed\n", encoding="utf-8")
    one = load(content_copy, workers=1)
    two = load(content_copy, workers=2)
    assert len(one.errors) >= 3
    assert two.errors == one.errors
    assert two.invalid_slugs == one.invalid_slugs
    assert set(one.errors) <= set(check(content_copy).errors)


def test_first_build_ends_with_the_schema_of_later_ones(tmp_path: Path) -> None:
    # A first build creates the indexes after its rows; a database that already has the
    # schema is written with them in place. Both end with the same schema and rows.
    fresh, existing = tmp_path / "fresh.db", tmp_path / "existing.db"
    with sqlite3.connect(existing) as conn:
        conn.executescript(SCHEMA)
    conn.close()
    for db in (fresh, existing):
        asyncio.run(build(CONTENT, db))
    schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    rows = "SELECT * FROM items ORDER BY type, slug, locale"
    with sqlite3.connect(fresh) as a, sqlite3.connect(existing) as b:
        assert a.execute(schema).fetchall() == b.execute(schema).fetchall()
        assert a.execute(rows).fetchall() == b.execute(rows).fetchall()
        indexes = {
            name for (name,) in a.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"items_by_revision", "items_sorted_by_published", "links_by_target"} <= indexes
        assert a.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    a.close()
    b.close()


def _slow_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@pytest.mark.parametrize(
    "text",
    [
        "".join(map(chr, range(128))),
        "Ketamine INFUSION, 2 doses; CRPS-type I.",
        "Inyección de KETAMINA",
        "Straße ﬁnal ½ Ⅻ",
    ],
)
def test_fold_is_the_same_on_the_fast_path(text: str) -> None:
    assert fold(text) == _slow_fold(text)
