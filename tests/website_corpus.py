"""A copy of content/ made to exercise clinical review: items overdue, due and withdrawn.

Dates are relative to today (UTC), because review_status is computed from today's date.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from api.build import build
from api.settings import Settings
from tests.support import copy_content

BASE_URL = "https://clinic.test"
#: The API's own public URL (CLINIC_PUBLIC_URL), which feeds link to themselves with.
API_URL = "https://api.clinic.test"
TODAY = dt.datetime.now(dt.UTC).date()
#: Text that must survive every format intact, and must not break out of a <script>.
TRICKY_TITLE = 'Pain & "flare-ups" <explained>'
TRICKY_SUMMARY = "Why pain flares & what helps: a <short> guide with \"quotes\" and 'apostrophes'."
SCRIPT_BREAKER = "</script><script>alert(1)</script>"

OVERDUE_ARTICLE = "ketamine-for-crps"
DUE_ARTICLE = "flare-ups-explained"
WITHDRAWN_ARTICLE = "old-ketamine-guide"
REPLACEMENT_ARTICLE = "living-with-crps-what-to-expect-from-ketamine-therapy"
OVERDUE_SYMPTOM = "swelling"
WITHDRAWN_FAQ = "is-crps-the-same-as-rsd"


def _days(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


def edit_front_matter(path: Path, **changes: Any) -> None:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    data = yaml.safe_load(front)
    data.update(changes)
    path.write_text(f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}", encoding="utf-8")


def write_article(folder: Path, slug: str, body: str = "Some text.\n", **fields: Any) -> None:
    data: dict[str, Any] = {
        "slug": slug,
        "title": f"Article {slug}",
        "summary": "A short summary.",
        "author": "claire-whitfield",
        "reviewed_by": "daniel-ashford",
        "last_reviewed": _days(-10),
        "next_review_due": _days(300),
        "published_at": "2026-01-05T09:00:00Z",
        "tags": ["crps"],
        "conditions": ["crps"],
    }
    data.update(fields)
    text = f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}"
    (folder / f"{slug}.md").write_text(text, encoding="utf-8")


def make_corpus(root: Path) -> Path:
    content = copy_content(root)
    articles = content / "articles"
    edit_front_matter(
        articles / f"{OVERDUE_ARTICLE}.md", last_reviewed=_days(-400), next_review_due=_days(-10)
    )
    write_article(
        articles,
        DUE_ARTICLE,
        title=TRICKY_TITLE,
        summary=TRICKY_SUMMARY,
        body=(
            "## What a flare is\n\nPain can flare & ease. Editors once pasted "
            f"`{SCRIPT_BREAKER}` here; it must stay text.\n"
        ),
        published_at="2026-11-20T08:00:00Z",
        next_review_due=_days(5),
        tags=["crps", "flare-ups"],
        hero_image={
            "url": "https://clinic.test/images/flare.png",
            "alt": "A calm room",
            "width": 800,
            "height": 600,
        },
    )
    write_article(
        articles,
        WITHDRAWN_ARTICLE,
        published_at="2025-06-01T09:00:00Z",
        withdrawn={
            "reason": "Merged into the newer guide",
            "superseded_by": REPLACEMENT_ARTICLE,
        },
    )
    edit_front_matter(
        content / "symptoms" / f"{OVERDUE_SYMPTOM}.md",
        last_reviewed=_days(-400),
        next_review_due=_days(-1),
    )
    faqs_file = content / "faqs" / "about-crps.yaml"
    topic = yaml.safe_load(faqs_file.read_text(encoding="utf-8"))
    for faq in topic["faqs"]:
        if faq["slug"] == WITHDRAWN_FAQ:
            faq["withdrawn"] = {"reason": "Covered by 'What is CRPS?'"}
    faqs_file.write_text(yaml.safe_dump(topic, sort_keys=False), encoding="utf-8")
    return content


def build_corpus(root: Path) -> Settings:
    """Builds the corpus the way the CLI does, with CLINIC_BASE_URL set to BASE_URL."""
    content = make_corpus(root)
    db = root / "corpus.db"
    asyncio.run(build(content, db, base_url=BASE_URL))
    return Settings(content_dir=content, db_path=db, base_url=BASE_URL, public_url=API_URL)
