"""schema.org JSON-LD on every detail response, and its <script>-safe serialization."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.jsonld import script
from tests.website_corpus import BASE_URL, DUE_ARTICLE, SCRIPT_BREAKER, TRICKY_TITLE

Client = TestClient  # type: ignore[type-arg]
URL_KEYS = {"url", "@id", "sameAs", "@context"}


def urls(node: Any) -> Iterator[str]:
    """Every value of a URL-valued key, anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in URL_KEYS:
                yield from value if isinstance(value, list) else [value]
            else:
                yield from urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from urls(value)


def json_ld(client: Client, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    doc: dict[str, Any] = body["json_ld"]
    assert json.loads(body["json_ld_script"]) == doc
    assert "<" not in body["json_ld_script"]
    assert doc["@context"] == "https://schema.org"
    found = list(urls(doc))
    assert found
    for url in found:
        assert url.startswith("https://"), url
    return doc


def test_article_is_a_medical_web_page(client: Client) -> None:
    doc = json_ld(client, "/v1/articles/ketamine-for-crps")
    assert doc["@type"] == "MedicalWebPage"
    assert doc["url"] == "https://www.example-clinic.org/articles/ketamine-for-crps"
    assert doc["about"] == [
        {
            "@type": "MedicalCondition",
            "name": "Complex regional pain syndrome (CRPS)",
            "url": "https://www.example-clinic.org/conditions/crps",
        }
    ]
    assert doc["mentions"][0]["@type"] == "MedicalTherapy"
    assert doc["lastReviewed"] == "2026-11-02"
    assert doc["reviewedBy"]["@type"] == "Person"
    assert doc["reviewedBy"]["name"] == "Dr. Daniel Ashford"
    assert doc["author"] == {
        "@type": "Person",
        "name": "Claire Whitfield",
        "honorificSuffix": "RN, BSN",
        "jobTitle": "Clinical Nurse Writer",
        "url": "https://www.example-clinic.org/team/claire-whitfield",
    }
    assert len(doc["citation"]) == 4
    assert all(c["@type"] == "CreativeWork" for c in doc["citation"])
    pmc = doc["citation"][3]
    assert pmc["sameAs"] == ["https://www.ncbi.nlm.nih.gov/pmc/articles/PMC8601938/"]
    assert doc["medicalAudience"] == {"@type": "MedicalAudience", "audienceType": "Patient"}
    assert doc["datePublished"] == "2026-10-15T09:00:00Z"
    assert doc["dateModified"] == "2026-11-02T10:30:00Z"
    assert doc["image"]["@type"] == "ImageObject"


def test_condition_is_a_medical_condition_with_codes(client: Client) -> None:
    doc = json_ld(client, "/v1/conditions/crps")
    assert doc["@type"] == "MedicalCondition"
    assert "RSD" in doc["alternateName"]
    assert len(doc["signOrSymptom"]) == 10
    assert {s["@type"] for s in doc["signOrSymptom"]} == {"MedicalSignOrSymptom"}
    assert doc["signOrSymptom"][0] == {
        "@type": "MedicalSignOrSymptom",
        "name": "Burning or throbbing pain",
        "url": "https://www.example-clinic.org/symptoms/burning-pain",
    }
    assert doc["possibleTreatment"] == [
        {
            "@type": "MedicalTherapy",
            "name": "Ketamine infusion therapy",
            "url": "https://www.example-clinic.org/treatments/ketamine-infusion",
        }
    ]
    codes = {(c["codingSystem"], c["codeValue"]) for c in doc["code"]}
    assert ("ICD-10-CM", "G90.50") in codes
    assert ("SNOMED CT", "128200000") in codes
    assert {c["@type"] for c in doc["code"]} == {"MedicalCode"}
    page = doc["mainEntityOfPage"]
    assert page["@type"] == "MedicalWebPage"
    assert page["lastReviewed"] == "2026-11-02"
    assert page["reviewedBy"]["name"] == "Dr. Daniel Ashford"


def test_symptom_is_a_medical_sign_or_symptom(client: Client) -> None:
    doc = json_ld(client, "/v1/symptoms/swelling")
    assert doc["@type"] == "MedicalSignOrSymptom"
    assert doc["name"] == "Swelling"
    assert doc["description"].startswith("Swelling means extra fluid")
    assert doc["mainEntityOfPage"]["medicalAudience"]["audienceType"] == "Patient"


def test_treatment_is_a_medical_therapy(client: Client) -> None:
    doc = json_ld(client, "/v1/treatments/ketamine-infusion")
    assert doc["@type"] == "MedicalTherapy"
    assert doc["howPerformed"].startswith("Ketamine has a long track record")
    assert len(doc["adverseOutcome"]) == 5
    assert doc["adverseOutcome"][0]["@type"] == "MedicalEntity"
    assert len(doc["mainEntityOfPage"]["citation"]) == 4


def test_faq_topic_is_an_faq_page(client: Client) -> None:
    response = client.get("/v1/faq-topics/about-crps")
    faqs = response.json()["faqs"]
    doc = json_ld(client, "/v1/faq-topics/about-crps")
    assert doc["@type"] == "FAQPage"
    assert doc["url"] == "https://clinic.test/faqs/about-crps"
    assert [q["name"] for q in doc["mainEntity"]] == [f["question"] for f in faqs]
    assert all(q["@type"] == "Question" for q in doc["mainEntity"])
    first = doc["mainEntity"][0]["acceptedAnswer"]
    assert first["@type"] == "Answer"
    assert first["text"] == faqs[0]["answer_html"]
    assert doc["lastReviewed"] == "2026-11-02"
    assert doc["reviewedBy"][0]["name"] == "Dr. Daniel Ashford"


def test_unknown_faq_topic_is_404(client: Client) -> None:
    response = client.get("/v1/faq-topics/no-such-topic")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_json_ld_uses_the_base_url_the_build_was_given(corpus_client: Client) -> None:
    doc = json_ld(corpus_client, "/v1/conditions/crps")
    assert doc["url"] == f"{BASE_URL}/conditions/crps"


def test_text_cannot_break_out_of_a_script_element(corpus_client: Client) -> None:
    body = corpus_client.get(f"/v1/articles/{DUE_ARTICLE}").json()
    assert body["json_ld"]["name"] == TRICKY_TITLE
    embedded = body["json_ld_script"]
    assert "</script" not in embedded.lower()
    assert "<" not in embedded
    assert ">" not in embedded
    assert "&" not in embedded
    assert "\\u003cexplained\\u003e" in embedded
    assert json.loads(embedded)["name"] == TRICKY_TITLE


@pytest.mark.parametrize("text", [SCRIPT_BREAKER, "<!-- <script>", "a & b > c", "\u2028\u2029"])
def test_script_serialization_round_trips(text: str) -> None:
    embedded = script({"text": text})
    assert not set(embedded) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(embedded) == {"text": text}
