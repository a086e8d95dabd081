"""The delivery layer notices a new build at once, and only a build that changed content."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from api.build import build
from api.http.revision import RevisionWatch
from tests.support import build_db


def test_no_database_yet(tmp_path: Path) -> None:
    assert RevisionWatch(tmp_path / "missing.db").current() is None


def test_a_build_that_changes_content_is_a_new_revision(content_copy: Path, tmp_path: Path) -> None:
    db = build_db(content_copy, tmp_path / "watch.db")
    watch = RevisionWatch(db)
    try:
        first = watch.current()
        assert first is not None
        assert first.changed_at is not None
        assert watch.current() is first

        asyncio.run(build(content_copy, db))  # nothing changed
        assert watch.current() is first

        faq = content_copy / "faqs" / "about-crps.yaml"
        faq.write_text(faq.read_text(encoding="utf-8").replace("CRPS", "CRPS ", 1), "utf-8")
        asyncio.run(build(content_copy, db))
        second = watch.current()
        assert second is not None
        assert second is not first
        assert second.fingerprint != first.fingerprint
        # The newest date the content gives, not the build's: this edit left the dates.
        assert second.changed_at == first.changed_at
    finally:
        watch.close()


def test_a_replaced_database_file_is_opened_again(content_copy: Path, tmp_path: Path) -> None:
    db = build_db(content_copy, tmp_path / "watch.db")
    watch = RevisionWatch(db)
    try:
        first = watch.current()
        assert first is not None
        shutil.rmtree(content_copy / "symptoms")
        condition = content_copy / "conditions" / "crps.md"
        text = condition.read_text(encoding="utf-8")
        condition.write_text(text[: text.index("symptoms:")] + text[text.index("treatments:") :])
        fresh = build_db(content_copy, tmp_path / "fresh.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        fresh.rename(db)
        watch._next_file_check = 0.0  # the file is looked at about once a second
        second = watch.current()
        assert second is not None
        assert second.fingerprint != first.fingerprint
    finally:
        watch.close()


def test_one_question_per_event_loop_turn(content_copy: Path, tmp_path: Path) -> None:
    """Within one turn of the loop the answer is kept; the next turn asks again, so a commit
    made before a request arrives is always seen."""
    db = build_db(content_copy, tmp_path / "turns.db")

    async def scenario() -> None:
        watch = RevisionWatch(db)
        asked: list[str] = []
        try:
            first = watch.current()
            assert first is not None
            assert watch._db is not None
            watch._db.set_trace_callback(asked.append)
            with sqlite3.connect(db) as other:  # another process's build, in effect
                other.execute("UPDATE meta SET value = 'changed' WHERE key = 'content_hash'")
            assert watch.current() is first  # same turn: not asked again
            assert asked == []
            await asyncio.sleep(0)
            second = watch.current()
            assert second is not None
            assert second.fingerprint[0] == "changed"
            assert asked == ["PRAGMA data_version", *asked[1:]]
        finally:
            watch.close()

    asyncio.run(scenario())
