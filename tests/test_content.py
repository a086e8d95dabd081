"""The clinic's content, as served: what the foundation promises the channels."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

Client = TestClient  # type: ignore[type-arg]

SEED_LINKS = {
    "https://journals.lww.com/clinicalpain/fulltext/2020/07000/optimizing_the_treatment_of_crps_with_ketamine.3.aspx",
    "https://www.sciencedirect.com/science/article/pii/S0887617707001230",
    "https://consultqd.clevelandclinic.org/guiding-research-on-ketamine-usage-for-crps",
    "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC8601938/",
}
REVIEW = {"reviewed_by", "last_reviewed", "next_review_due"}


def everything(client: Client, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/v1/{kind}?limit=100").json()["data"]
    return [client.get(f"/v1/{kind}/{item['slug']}").json() for item in items]


def test_articles(client: Client) -> None:
    articles = everything(client, "articles")
    assert len(articles) >= 2
    for article in articles:
        assert article["summary"]
        assert article["tags"]
        assert article["author"]["name"]
        assert article["conditions"] == ["crps"]
        assert article["treatments"] == ["ketamine-infusion"]
        assert len(article["toc"]) >= 3
        assert article["body_html"].count("<h2") >= 2
        assert article["word_count"] > 300
        assert article["reading_minutes"] >= 2
        assert 0 < article["reading_grade"] < 16
        assert article.keys() >= REVIEW
    links = {ref["url"] for a in articles for ref in a["references"]}
    assert links >= SEED_LINKS
    for article in articles:
        for ref in article["references"]:
            assert ref["title"]
            assert ref["publisher"]


def test_crps_condition(client: Client) -> None:
    crps = client.get("/v1/conditions/crps?include=symptoms,treatments").json()
    names = {n.casefold() for n in crps["also_known_as"]}
    assert {"crps", "complex regional pain syndrome", "rsd"} <= names
    assert len(crps["symptoms"]) >= 8
    assert crps["treatments"] == ["ketamine-infusion"]
    assert len(crps["included"]["symptoms"]) == len(crps["symptoms"])
    assert "G90.50" in crps["codes"]["icd10cm"]


def test_symptoms(client: Client) -> None:
    symptoms = everything(client, "symptoms")
    assert len(symptoms) >= 8
    slugs = {s["slug"] for s in symptoms}
    assert {"burning-pain", "swelling", "touch-sensitivity", "muscle-stiffness"} <= slugs
    for symptom in symptoms:
        assert len(symptom["what_it_is"]) > 40
        assert len(symptom["how_it_shows"]) >= 2
        assert symptom["conditions"] == ["crps"]


def test_ketamine_treatment(client: Client) -> None:
    treatment = client.get("/v1/treatments/ketamine-infusion").json()
    assert "NMDA" in treatment["how_it_works"]
    text = " ".join(treatment["before"] + treatment["during"] + treatment["after"]).casefold()
    assert "fast" in text
    assert "45" in text
    assert "driv" in text
    assert len(treatment["side_effects"]) >= 3
    assert treatment["safety_notes"]
    assert "oral" in treatment["body_text"].casefold()


def test_faqs(client: Client) -> None:
    faqs = client.get("/v1/faqs?limit=100").json()["data"]
    assert len(faqs) >= 15
    assert len({f["topic"] for f in faqs}) >= 4
    for faq in faqs:
        assert 0 < len(faq["short_answer"]) <= 280
        assert "<" not in faq["short_answer"]
        assert "**" not in faq["short_answer"]
        assert faq["answer_html"].startswith("<p>")
        assert faq["condition"] or faq["treatment"]
        assert faq.keys() >= REVIEW


def test_every_item_carries_review_metadata(client: Client) -> None:
    for kind in ("articles", "conditions", "symptoms", "treatments", "faqs"):
        for item in client.get(f"/v1/{kind}?limit=100").json()["data"]:
            assert item["reviewed_by"]["slug"]
            assert item["last_reviewed"] < item["next_review_due"]
            assert item["locale"] == "en"
