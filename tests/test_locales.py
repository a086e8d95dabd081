"""Spanish and locale negotiation: locale= wins, then Accept-Language with
q-values, then the site default; per-item fallback to English, said by `locale` and
Content-Language; translations are checked against their originals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.build import check
from api.http.negotiation import accepted, match


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es", "es"),
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("fr-CA,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
        ("en;q=0.1, es;q=0.9", "es"),
        ("es;q=0, en", "en"),
        ("fr", None),
        ("*", None),
        ("", None),
        (";;;,q=,es;q=abc,,es;q=2", None),
        ("ES", "es"),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert match(accepted(header), ("en", "es")) == expected


def test_accept_language_picks_spanish(client: TestClient[Any]) -> None:
    response = client.get(
        "/v1/faqs/what-is-ketamine", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.8"}
    )
    assert response.status_code == 200
    assert response.json()["locale"] == "es"
    assert response.json()["question"] == "¿Qué es la ketamina?"
    assert response.headers["content-language"] == "es"
    assert response.headers["vary"].split(", ").count("Accept-Language") == 1


def test_locale_parameter_wins_over_the_header(client: TestClient[Any]) -> None:
    response = client.get(
        "/v1/faqs/what-is-ketamine", params={"locale": "en"}, headers={"Accept-Language": "es"}
    )
    assert response.json()["locale"] == "en"
    assert response.headers["content-language"] == "en"
    assert "Accept-Language" not in response.headers["vary"]


def test_no_preference_gets_the_site_default(client: TestClient[Any]) -> None:
    response = client.get("/v1/faqs/what-is-ketamine", headers={"Accept-Language": "de, fr"})
    assert response.json()["locale"] == "en"


def test_untranslated_item_falls_back_to_english(client: TestClient[Any]) -> None:
    response = client.get("/v1/symptoms/swelling", params={"locale": "es"})
    assert response.status_code == 200
    assert response.json()["locale"] == "en"
    assert response.headers["content-language"] == "en"
    translated = client.get("/v1/symptoms/burning-pain", params={"locale": "es"})
    assert translated.json()["locale"] == "es"
    assert translated.json()["title"] == "Dolor ardiente o punzante"


def test_lists_mix_translations_and_fallbacks(client: TestClient[Any]) -> None:
    body = client.get("/v1/symptoms", params={"locale": "es", "limit": 100})
    items = {item["slug"]: item["locale"] for item in body.json()["data"]}
    english = client.get("/v1/symptoms", params={"limit": 100}).json()
    assert set(items) == {item["slug"] for item in english["data"]}  # each once
    assert items["burning-pain"] == "es"
    assert items["swelling"] == "en"
    assert body.headers["content-language"] == "es, en"
    faqs = client.get("/v1/faqs", params={"locale": "es", "limit": 100}).json()["data"]
    assert faqs
    assert {faq["locale"] for faq in faqs} == {"es"}


def test_includes_fall_back_per_item(client: TestClient[Any]) -> None:
    body = client.get("/v1/conditions/crps", params={"locale": "es", "include": "symptoms"})
    symptoms = {s["slug"]: s["locale"] for s in body.json()["included"]["symptoms"]}
    assert symptoms["burning-pain"] == "es"
    assert symptoms["swelling"] == "en"
    assert body.json()["locale"] == "en"  # the condition itself is not translated yet


def test_unknown_locale_is_a_400(client: TestClient[Any]) -> None:
    response = client.get("/v1/faqs", params={"locale": "fr"})
    assert response.status_code == 400
    assert response.json()["invalid_params"][0]["name"] == "locale"


def test_site_settings_in_spanish(client: TestClient[Any]) -> None:
    english = client.get("/v1/site").json()
    spanish = client.get("/v1/site", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    body = spanish.json()
    assert body["locale"] == "es"
    assert body["locales"] == ["en", "es"]
    assert body["disclaimer"].startswith("La información de este sitio")
    assert body["disclaimer"] != english["disclaimer"]
    assert body["name"] == english["name"]  # a name is not translated
    assert english["locale"] == "en"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_check_ties_translations_to_originals(content_copy: Path) -> None:
    edit(content_copy / "symptoms" / "burning-pain.es.md", "slug: burning-pain", "slug: ardor")
    edit(
        content_copy / "faqs" / "about-crps.es.yaml",
        "slug: can-crps-pain-spread",
        "slug: can-crps-spread",
    )
    edit(content_copy / "faqs" / "about-ketamine.es.yaml", "topic: about-ketamine", "topic: k")
    edit(content_copy / "site.yaml", "translations:\n  es:", "translations:\n  fr:")
    errors = [str(e) for e in check(content_copy).errors]
    assert "site.yaml: translations.fr: 'fr' is not in locales" in errors
    assert (
        "symptoms/burning-pain.es.md: slug: no en symptom 'ardor' to translate;"
        " a translation keeps the slug of its original"
    ) in errors
    assert (
        "faqs/about-crps.es.yaml: faqs[5].slug: no en FAQ 'can-crps-spread' to translate;"
        " a translation keeps the slug of its original"
    ) in errors
    assert (
        "faqs/about-ketamine.es.yaml: faqs[0].slug: its en original is in topic"
        " 'about-ketamine', not 'k'"
    ) in errors


def test_site_translation_fields_are_checked(content_copy: Path) -> None:
    edit(content_copy / "site.yaml", "    disclaimer: >-\n      La", "    disclaimr: >-\n      La")
    errors = [str(e) for e in check(content_copy).errors]
    assert "site.yaml: translations.es.disclaimr: unknown field (check the spelling)" in errors
