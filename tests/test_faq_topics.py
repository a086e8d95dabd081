"""GET /v1/faq-topics: the topics in the editors' order, with titles and counts, per locale
and per channel, from the served FAQs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.support import make_client


def test_topics_in_order_with_titles_and_counts(client: TestClient[Any]) -> None:
    answer = client.get("/v1/faq-topics")
    assert answer.status_code == 200
    topics = answer.json()["data"]
    faqs = client.get("/v1/faqs", params={"limit": 100}).json()["data"]
    # The same topics, in the order the FAQ list (sorted by the editors' order) meets them.
    assert [t["slug"] for t in topics] == list(dict.fromkeys(f["topic"] for f in faqs))
    for topic in topics:
        questions = [f for f in faqs if f["topic"] == topic["slug"]]
        assert topic["count"] == len(questions)
        assert topic["title"] == questions[0]["topic_title"]
        assert topic["type"] == "faq-topic"
        assert topic["url"].endswith(f"/faqs/{topic['slug']}")
        assert topic["updated_at"] == max(f["updated_at"] for f in questions)
    assert [t["order"] for t in topics] == sorted(t["order"] for t in topics)
    assert answer.json()["meta"] == {"total": len(topics), "locale": "en"}


def test_topics_in_spanish_and_by_accept_language(client: TestClient[Any]) -> None:
    english = client.get("/v1/faq-topics").json()["data"]
    spanish = client.get("/v1/faq-topics", params={"locale": "es"})
    assert spanish.headers["content-language"] == "es"
    data = spanish.json()["data"]
    assert [t["slug"] for t in data] == [t["slug"] for t in english]
    assert data[0]["title"] == "Sobre el SDRC"
    assert {t["locale"] for t in data} == {"es"}
    negotiated = client.get("/v1/faq-topics", headers={"Accept-Language": "es-MX, en;q=0.5"})
    assert negotiated.json()["data"] == data
    assert "accept-language" in negotiated.headers["vary"].lower()


def test_unknown_locale_and_parameters_are_refused(client: TestClient[Any]) -> None:
    for params in ({"locale": "fr"}, {"locale": "x"}, {"channel": "tv"}, {"limit": "5"}):
        answer = client.get("/v1/faq-topics", params=params)
        assert answer.status_code == 400, params
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_kiosk_counts_no_overdue_question(content_copy: Path) -> None:
    """An overdue question is not counted for the kiosk (nor listed: a topic of overdue
    questions only is left out); the editor's channel counts it."""
    topic = content_copy / "faqs" / "about-crps.yaml"
    text = topic.read_text(encoding="utf-8")
    first = text.index("  - slug: what-is-crps")
    text = text[:first] + text[first:].replace(
        "    order: 0\n",
        "    order: 0\n    last_reviewed: 2019-01-01\n    next_review_due: 2020-01-01\n",
        1,
    )
    topic.write_text(text, encoding="utf-8")
    with make_client(content_copy) as client:
        kiosk = client.get("/v1/faq-topics", params={"channel": "kiosk"}).json()["data"]
        editor = client.get("/v1/faq-topics", params={"channel": "editor"}).json()["data"]
    assert kiosk[0]["slug"] == editor[0]["slug"] == "about-crps"
    assert kiosk[0]["count"] == editor[0]["count"] - 1


def test_drafts_scheduled_and_expired_questions_are_not_counted(content_copy: Path) -> None:
    topic = content_copy / "faqs" / "about-crps.yaml"
    text = topic.read_text(encoding="utf-8")
    for slug, extra in (
        ("what-is-crps", "draft: true"),
        ("what-causes-crps", "published_at: 2999-01-01T00:00:00Z"),
        ("is-crps-the-same-as-rsd", "expires_at: 2020-01-01T00:00:00Z"),
    ):
        text = text.replace(f"  - slug: {slug}\n", f"  - slug: {slug}\n    {extra}\n", 1)
    topic.write_text(text, encoding="utf-8")
    with make_client(content_copy) as client:
        listed = client.get("/v1/faq-topics").json()["data"]
        served = client.get("/v1/faqs", params={"topic": "about-crps", "limit": 100}).json()
    assert listed[0]["slug"] == "about-crps"
    assert listed[0]["count"] == served["meta"]["total"] == 3
