"""The build: check reports every problem as path: field: reason; builds are idempotent,
revisions grow on change, removals become tombstones, and a failed build changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from api.build import ContentErrors, build, check
from tests.support import CONTENT, ROOT


def errors_of(content: Path) -> list[str]:
    return [str(e) for e in check(content).errors]


def run_build(content: Path, db: Path) -> None:
    asyncio.run(build(content, db))


def rows(db: Path) -> dict[tuple[str, str, str], tuple[int, str, int]]:
    with sqlite3.connect(db) as conn:
        return {
            (t, s, loc): (rev, h, d)
            for t, s, loc, rev, h, d in conn.execute(
                "SELECT type, slug, locale, revision, content_hash, deleted FROM items"
            )
        }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_clinic_content_checks_clean() -> None:
    assert errors_of(CONTENT) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "articles/ketamine-for-crps.md",
            "summary: >-",
            "sumary: x\nsummary: >-",
            "articles/ketamine-for-crps.md: sumary: unknown field (check the spelling)",
        ),
        (
            "articles/ketamine-for-crps.md",
            "slug: ketamine-for-crps",
            "slug: Ketamine_For_CRPS",
            "articles/ketamine-for-crps.md: slug: Expected str matching regex",
        ),
        (
            "articles/ketamine-for-crps.md",
            "author: claire-whitfield",
            "author: nobody-here",
            "articles/ketamine-for-crps.md: author: no person with slug 'nobody-here'"
            " in people.yaml",
        ),
        (
            "articles/ketamine-for-crps.md",
            "conditions:\n  - crps",
            "conditions:\n  - crsp",
            "articles/ketamine-for-crps.md: conditions[0]: no condition with slug 'crsp'",
        ),
        (
            "articles/ketamine-for-crps.md",
            "last_reviewed: 2026-11-02",
            "last_reviewed: not-a-date",
            "articles/ketamine-for-crps.md: last_reviewed: Invalid RFC3339 encoded date",
        ),
        (
            "articles/ketamine-for-crps.md",
            "    year: 2020",
            "    year: 20200",
            "articles/ketamine-for-crps.md: references[0].year: Expected int <= 2100",
        ),
        (
            "articles/ketamine-for-crps.md",
            '    url: "https://journals.lww.com',
            '    url: "ftp://journals.lww.com',
            "articles/ketamine-for-crps.md: references[0].url: Expected str matching regex",
        ),
        (
            "articles/ketamine-for-crps.md",
            "next_review_due: 2027-11-02",
            "next_review_due: 2026-01-01",
            "articles/ketamine-for-crps.md: next_review_due: must be after last_reviewed",
        ),
        (
            "articles/ketamine-for-crps.md",
            "---\nslug:",
            "slug:",
            "articles/ketamine-for-crps.md: front matter: must start with a '---' line",
        ),
        (
            "symptoms/swelling.md",
            "what_it_is:",
            "what_it_is: [unclosed\nwhat_it_was:",
            "symptoms/swelling.md: -: invalid YAML (line",
        ),
        (
            "symptoms/swelling.md",
            "what_it_is:",
            "what_it_was:",
            "symptoms/swelling.md: what_it_is: required field is missing",
        ),
        (
            "conditions/crps.md",
            "  - swelling",
            "  - swollen-knees",
            "conditions/crps.md: symptoms[1]: no symptom with slug 'swollen-knees'",
        ),
        (
            "people.yaml",
            "role: medical-reviewer",
            "role: author",
            "articles/ketamine-for-crps.md: reviewed_by: 'daniel-ashford' is not listed as a"
            " medical reviewer",
        ),
    ],
)
def test_each_kind_of_bad_content_is_named(
    content_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(content_copy / file, old, new)
    errors = errors_of(content_copy)
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_slug_names_both_files(content_copy: Path) -> None:
    source = content_copy / "symptoms" / "swelling.md"
    (content_copy / "symptoms" / "swelling-copy.md").write_bytes(source.read_bytes())
    assert (
        "symptoms/swelling.md: slug: 'swelling' (en) is also used by symptoms/swelling-copy.md"
        in (errors_of(content_copy))
    )


def test_faq_short_answer_limits(content_copy: Path) -> None:
    path = next((content_copy / "faqs").glob("*.yaml"))
    text = path.read_text(encoding="utf-8")
    first = text.index("short_answer:")
    line_end = text.index("\n", first)
    path.write_text(text[:first] + "short_answer: " + "x" * 281 + text[line_end:], encoding="utf-8")
    errors = errors_of(content_copy)
    assert any("faqs[0].short_answer: Expected str of length <= 280" in e for e in errors), errors


def test_faq_short_answer_must_be_plain_text(content_copy: Path) -> None:
    path = next((content_copy / "faqs").glob("*.yaml"))
    text = path.read_text(encoding="utf-8")
    first = text.index("short_answer:")
    line_end = text.index("\n", first)
    path.write_text(
        text[:first] + "short_answer: See **this** [link](https://x.org)" + text[line_end:],
        encoding="utf-8",
    )
    assert f"faqs/{path.name}: faqs[0].short_answer: must be plain text: no Markdown or HTML" in (
        errors_of(content_copy)
    )


def test_unreadable_files_are_refused_with_a_reason(content_copy: Path) -> None:
    (content_copy / "symptoms" / "latin1.md").write_bytes(
        "---\ntitle: caf\xe9\n---\n".encode("latin-1")
    )
    (content_copy / "symptoms" / "huge.md").write_bytes(b"---\n" + b"a" * (600 * 1024))
    (content_copy / "faqs" / "deep.yaml").write_text(
        "a: " + "[" * 100 + "]" * 100, encoding="utf-8"
    )
    errors = errors_of(content_copy)
    assert "symptoms/latin1.md: -: not valid UTF-8 (byte 14, line 2)" in errors
    assert any(
        e.startswith("symptoms/huge.md: -: file is 614404 bytes; the limit is") for e in errors
    )
    assert any(e.startswith("faqs/deep.yaml: -: YAML nested") for e in errors)


def test_every_problem_is_reported_in_one_run(content_copy: Path) -> None:
    edit(content_copy / "symptoms" / "swelling.md", "what_it_is:", "what_it_was:")
    edit(
        content_copy / "symptoms" / "burning-pain.md",
        "reviewed_by: daniel-ashford",
        "reviewed_by: x",
    )
    edit(content_copy / "site.yaml", "default_locale: en", "default_locale: fr")
    errors = errors_of(content_copy)
    assert len(errors) >= 3
    assert [e.split(":")[0] for e in errors] == sorted(e.split(":")[0] for e in errors)


def test_check_command_exits_non_zero_with_path_field_reason(content_copy: Path) -> None:
    edit(content_copy / "symptoms" / "swelling.md", "what_it_is:", "what_it_was:")
    result = subprocess.run(
        [sys.executable, "-m", "api", "check"],
        cwd=ROOT,
        env={"CLINIC_CONTENT_DIR": str(content_copy), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "symptoms/swelling.md: what_it_was: unknown field (check the spelling)" in result.stderr
    assert "Traceback" not in result.stderr


def test_rebuild_with_nothing_changed_changes_nothing(content_copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run_build(content_copy, db)
    before = rows(db)
    run_build(content_copy, db)
    assert rows(db) == before


def test_builds_are_deterministic_across_replicas(tmp_path: Path) -> None:
    run_build(CONTENT, tmp_path / "a.db")
    run_build(CONTENT, tmp_path / "b.db")
    with sqlite3.connect(tmp_path / "a.db") as a, sqlite3.connect(tmp_path / "b.db") as b:
        query = "SELECT type, slug, locale, revision, content_hash, detail_json FROM items"
        query += " ORDER BY 1, 2, 3"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        # No wall-clock time in meta: replicas built at any moment agree on all of it.
        meta = "SELECT key, value FROM meta ORDER BY key"
        assert a.execute(meta).fetchall() == b.execute(meta).fetchall()


def test_changed_file_gets_a_higher_revision(content_copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run_build(content_copy, db)
    before = rows(db)
    edit(content_copy / "symptoms" / "swelling.md", "## ", "## Also\n\nMore text.\n\n## ")
    run_build(content_copy, db)
    after = rows(db)
    key = ("symptom", "swelling", "en")
    assert after[key][0] > max(rev for rev, _, _ in before.values())
    assert after[key][1] != before[key][1]
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }


def test_removed_file_becomes_a_tombstone(content_copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run_build(content_copy, db)
    top = max(rev for rev, _, _ in rows(db).values())
    edit(content_copy / "conditions" / "crps.md", "  - spreading-pain\n", "")
    (content_copy / "symptoms" / "spreading-pain.md").unlink()
    run_build(content_copy, db)
    after = rows(db)
    revision, _, deleted = after[("symptom", "spreading-pain", "en")]
    assert deleted == 1
    assert revision > top
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'content_revision'").fetchone()[
            0
        ] == str(max(rev for rev, _, _ in after.values()))


def test_failed_build_leaves_the_database_untouched(content_copy: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run_build(content_copy, db)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    before = rows(db)
    edit(content_copy / "symptoms" / "swelling.md", "what_it_is:", "what_it_was:")
    with pytest.raises(ContentErrors) as raised:
        run_build(content_copy, db)
    assert "symptoms/swelling.md: what_it_was: unknown field" in str(raised.value)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert rows(db) == before


def test_build_command_reports_and_keeps_previous_content(
    content_copy: Path, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    env = {"CLINIC_CONTENT_DIR": str(content_copy), "CLINIC_DB_PATH": str(db), "PATH": ""}
    first = subprocess.run(
        [sys.executable, "-m", "api", "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    edit(
        content_copy / "treatments" / "ketamine-infusion.md",
        "slug: ketamine-infusion",
        "slug: Bad Slug",
    )
    second = subprocess.run(
        [sys.executable, "-m", "api", "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode == 1
    assert "treatments/ketamine-infusion.md: slug:" in second.stderr
    assert "was left as it was" in second.stderr
    assert ("treatment", "ketamine-infusion", "en") in rows(db)


def test_an_invalid_file_does_not_also_break_references_to_it(content_copy: Path) -> None:
    edit(content_copy / "symptoms" / "swelling.md", "what_it_is:", "what_it_was:")
    assert errors_of(content_copy) == [
        "symptoms/swelling.md: what_it_is: required field is missing",
        "symptoms/swelling.md: what_it_was: unknown field (check the spelling)",
    ]


def test_a_key_given_twice_is_refused(content_copy: Path) -> None:
    edit(content_copy / "symptoms" / "swelling.md", "locale: en\n", "locale: en\nlocale: es\n")
    errors = errors_of(content_copy)
    assert (
        "symptoms/swelling.md: -: invalid YAML (line 3, column 1): duplicate key 'locale'" in errors
    )
