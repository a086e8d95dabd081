"""Clinical review as data: review_status, the channel policy, withdrawn items, urgent care,
related articles, the sitemap; over a corpus with items made overdue, due and withdrawn."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.build import build, check
from api.settings import Settings
from tests.website_corpus import (
    BASE_URL,
    DUE_ARTICLE,
    OVERDUE_ARTICLE,
    OVERDUE_SYMPTOM,
    REPLACEMENT_ARTICLE,
    WITHDRAWN_ARTICLE,
    WITHDRAWN_FAQ,
    edit_front_matter,
    make_corpus,
    write_article,
)

Client = TestClient  # type: ignore[type-arg]


def slugs(client: Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["data"]]


def statuses(client: Client, path: str) -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return {item["slug"]: item["review_status"] for item in response.json()["data"]}


def test_website_lists_leave_out_overdue_and_withdrawn(corpus_client: Client) -> None:
    assert statuses(corpus_client, "/v1/articles") == {
        DUE_ARTICLE: "due",
        REPLACEMENT_ARTICLE: "current",
    }
    response = corpus_client.get("/v1/articles")
    assert response.json()["meta"]["total"] == 2
    assert OVERDUE_SYMPTOM not in slugs(corpus_client, "/v1/symptoms?limit=100")
    assert WITHDRAWN_FAQ not in slugs(corpus_client, "/v1/faqs?topic=about-crps&limit=100")


def test_editor_channel_sees_overdue_items_but_not_withdrawn(corpus_client: Client) -> None:
    assert statuses(corpus_client, "/v1/articles?channel=editor") == {
        DUE_ARTICLE: "due",
        REPLACEMENT_ARTICLE: "current",
        OVERDUE_ARTICLE: "overdue",
    }
    todo = "?channel=editor&review_status=overdue"
    assert slugs(corpus_client, "/v1/articles" + todo) == [OVERDUE_ARTICLE]
    assert slugs(corpus_client, "/v1/symptoms" + todo) == [OVERDUE_SYMPTOM]
    assert slugs(corpus_client, "/v1/articles?channel=editor&review_status=due") == [DUE_ARTICLE]
    current = slugs(corpus_client, "/v1/articles?channel=editor&review_status=current")
    assert current == [REPLACEMENT_ARTICLE]


def test_overdue_filter_on_a_channel_without_overdue_items_finds_none(
    corpus_client: Client,
) -> None:
    """The two parameters combine, as filters do: the channel is served no overdue item."""
    response = corpus_client.get("/v1/articles?review_status=overdue")
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total"] == 0
    bad = corpus_client.get("/v1/articles?review_status=stale")
    assert bad.status_code == 400
    assert corpus_client.get("/v1/articles?channel=fax").status_code == 400


def test_overdue_detail_is_404_on_the_website_and_served_to_editors(
    corpus_client: Client,
) -> None:
    response = corpus_client.get(f"/v1/articles/{OVERDUE_ARTICLE}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "overdue for clinical review" in response.json()["detail"]
    editor = corpus_client.get(f"/v1/articles/{OVERDUE_ARTICLE}?channel=editor")
    assert editor.status_code == 200
    assert editor.json()["review_status"] == "overdue"
    due = corpus_client.get(f"/v1/articles/{DUE_ARTICLE}")
    assert due.json()["review_status"] == "due"


def test_withdrawn_item_is_410_naming_its_replacement(corpus_client: Client) -> None:
    for channel in ("", "?channel=editor"):
        response = corpus_client.get(f"/v1/articles/{WITHDRAWN_ARTICLE}{channel}")
        assert response.status_code == 410
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["link"] == (
            f'</v1/articles/{REPLACEMENT_ARTICLE}>; rel="successor-version"'
        )
        problem = response.json()
        assert problem["type"] == "https://clinic-content-api.dev/problems/gone"
        assert problem["status"] == 410
        assert problem["superseded_by"] == f"/v1/articles/{REPLACEMENT_ARTICLE}"
        assert problem["detail"] == (
            f"The article '{WITHDRAWN_ARTICLE}' was withdrawn: Merged into the newer guide."
            f" It is replaced by /v1/articles/{REPLACEMENT_ARTICLE}."
        )
    assert WITHDRAWN_ARTICLE not in slugs(corpus_client, "/v1/articles?channel=editor")


def test_withdrawn_faq_without_replacement(corpus_client: Client) -> None:
    response = corpus_client.get(f"/v1/faqs/{WITHDRAWN_FAQ}")
    assert response.status_code == 410
    assert response.json()["superseded_by"] is None
    assert "link" not in response.headers
    topic = corpus_client.get("/v1/faq-topics/about-crps").json()
    assert WITHDRAWN_FAQ not in [faq["slug"] for faq in topic["faqs"]]
    assert len(topic["json_ld"]["mainEntity"]) == len(topic["faqs"])


def test_include_leaves_out_what_the_channel_is_not_served(corpus_client: Client) -> None:
    condition = corpus_client.get("/v1/conditions/crps?include=symptoms").json()
    assert OVERDUE_SYMPTOM in condition["symptoms"]
    embedded = [s["slug"] for s in condition["included"]["symptoms"]]
    assert OVERDUE_SYMPTOM not in embedded
    assert len(embedded) == len(condition["symptoms"]) - 1
    editor = corpus_client.get("/v1/conditions/crps?include=symptoms&channel=editor").json()
    by_slug = {s["slug"]: s["review_status"] for s in editor["included"]["symptoms"]}
    assert by_slug[OVERDUE_SYMPTOM] == "overdue"


def test_serve_overdue_setting_and_due_window(corpus_settings: Settings) -> None:
    relaxed = dataclasses.replace(
        corpus_settings, serve_overdue=frozenset({"website", "editor"}), review_due_days=0
    )
    with TestClient(create_app(relaxed)) as client:
        assert statuses(client, "/v1/articles") == {
            DUE_ARTICLE: "current",  # due in 5 days: outside a 0-day window
            REPLACEMENT_ARTICLE: "current",
            OVERDUE_ARTICLE: "overdue",
        }
        assert client.get(f"/v1/articles/{OVERDUE_ARTICLE}").status_code == 200
        # The newsletter channel is still not served the overdue article.
        feed = client.get("/v1/feeds/articles.json").json()
        assert OVERDUE_ARTICLE not in " ".join(item["id"] for item in feed["items"])


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {"CLINIC_SERVE_OVERDUE": "website, kiosk", "CLINIC_REVIEW_DUE_DAYS": "14"}
    )
    assert settings.serve_overdue == frozenset({"website", "kiosk"})
    assert settings.review_due_days == 14
    assert Settings.from_env({}).serve_overdue == frozenset({"editor"})
    assert Settings.from_env({"CLINIC_SERVE_OVERDUE": "none"}).serve_overdue == frozenset()
    with pytest.raises(ValueError, match="unknown channel"):
        Settings.from_env({"CLINIC_SERVE_OVERDUE": "webiste"})
    with pytest.raises(ValueError, match="CLINIC_REVIEW_DUE_DAYS"):
        Settings.from_env({"CLINIC_REVIEW_DUE_DAYS": "-1"})


def test_sitemap_lists_what_the_website_is_served(corpus_client: Client) -> None:
    response = corpus_client.get("/v1/sitemap")
    assert response.status_code == 200
    sitemap = response.json()
    locs = [entry["loc"] for entry in sitemap["data"]]
    assert sitemap["meta"]["total"] == len(locs) == len(set(locs))
    assert all(loc.startswith(BASE_URL + "/") for loc in locs)
    assert f"{BASE_URL}/articles/{DUE_ARTICLE}" in locs
    assert f"{BASE_URL}/articles/{OVERDUE_ARTICLE}" not in locs
    assert f"{BASE_URL}/articles/{WITHDRAWN_ARTICLE}" not in locs
    assert f"{BASE_URL}/symptoms/{OVERDUE_SYMPTOM}" not in locs
    assert f"{BASE_URL}/conditions/crps" in locs
    assert f"{BASE_URL}/faqs/about-crps" in locs
    entry = next(e for e in sitemap["data"] if e["slug"] == REPLACEMENT_ARTICLE)
    assert entry["lastmod"] == "2026-11-09T14:00:00Z"
    assert entry["type"] == "article"
    xml = corpus_client.get("/v1/sitemap.xml")
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text.count("<url>") == len(locs)
    assert f"<loc>{BASE_URL}/faqs/about-crps</loc>" in xml.text


def test_urgent_care_is_structured(client: Client) -> None:
    crps = client.get("/v1/conditions/crps").json()["urgent_care"]
    assert crps["title"] == "When to get emergency help"
    assert any("Chest pain" in sign for sign in crps["when"])
    assert "emergency" in crps["action"]
    ketamine = client.get("/v1/treatments/ketamine-infusion").json()["urgent_care"]
    assert len(ketamine["when"]) >= 5
    assert "ketamine infusion" in ketamine["action"]
    listed = client.get("/v1/treatments").json()["data"][0]
    assert listed["urgent_care"] == ketamine


def test_related_articles_best_first_without_withdrawn(corpus_client: Client) -> None:
    related = corpus_client.get(f"/v1/articles/{REPLACEMENT_ARTICLE}?channel=editor").json()[
        "related"
    ]
    assert [r["slug"] for r in related] == [OVERDUE_ARTICLE, DUE_ARTICLE]
    # A channel not served the overdue article is not pointed at it either.
    website = corpus_client.get(f"/v1/articles/{REPLACEMENT_ARTICLE}").json()["related"]
    assert [r["slug"] for r in website] == [DUE_ARTICLE]
    assert related[0]["shared_conditions"] == ["crps"]
    assert related[0]["shared_treatments"] == ["ketamine-infusion"]
    assert related[1]["shared_treatments"] == []
    assert related[1]["shared_tags"] == ["crps"]


def test_published_since_filter(corpus_client: Client) -> None:
    recent = slugs(corpus_client, "/v1/articles?published_since=2026-10-20T00:00:00Z")
    assert recent == [DUE_ARTICLE, REPLACEMENT_ARTICLE]
    bad = corpus_client.get("/v1/articles?published_since=yesterday")
    assert bad.status_code == 400
    assert bad.json()["invalid_params"][0]["name"] == "published_since"


def test_superseded_by_is_checked(tmp_path: Path) -> None:
    content = make_corpus(tmp_path)
    articles = content / "articles"
    write_article(articles, "points-nowhere", withdrawn={"reason": "x", "superseded_by": "nope"})
    write_article(
        articles, "points-at-itself", withdrawn={"reason": "x", "superseded_by": "points-at-itself"}
    )
    write_article(
        articles,
        "points-at-withdrawn",
        withdrawn={"reason": "x", "superseded_by": WITHDRAWN_ARTICLE},
    )
    errors = [str(e) for e in check(content).errors]
    assert errors == [
        "articles/points-at-itself.md: withdrawn.superseded_by: an item cannot replace itself",
        f"articles/points-at-withdrawn.md: withdrawn.superseded_by: the article"
        f" '{WITHDRAWN_ARTICLE}' is withdrawn too; name the item that replaces it",
        "articles/points-nowhere.md: withdrawn.superseded_by: no article with slug 'nope'"
        " in locale 'en'",
    ]


def test_urgent_care_needs_warning_signs(tmp_path: Path) -> None:
    content = make_corpus(tmp_path)
    edit_front_matter(
        content / "conditions" / "crps.md", urgent_care={"title": "Help", "when": [], "action": "x"}
    )
    errors = [str(e) for e in check(content).errors if e.path == "conditions/crps.md"]
    assert errors == ["conditions/crps.md: urgent_care.when: Expected array of length >= 1"]


def test_database_from_an_older_schema_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "clinic.db"
    content = make_corpus(tmp_path)
    asyncio.run(build(content, db))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("UPDATE items SET next_review_due = NULL")
    conn.close()
    result = asyncio.run(build(content, db))
    assert result.write.updated == result.items
    with sqlite3.connect(db) as conn:
        missing = conn.execute(
            "SELECT count(*) FROM items WHERE next_review_due IS NULL"
        ).fetchone()[0]
    conn.close()
    assert missing == 0
