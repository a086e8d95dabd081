"""GET /v1/search (the one way to search, FAQs included): synonyms, typos, type-ahead, safe input,
highlighted snippets, paging and filters, against the database built from content/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import make_client


def slugs(client: TestClient[Any], q: str, **params: Any) -> list[str]:
    response = client.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [f"{hit['type']}/{hit['slug']}" for hit in response.json()["data"]]


@pytest.mark.parametrize(
    "q", ["CRPS", "complex regional pain syndrome", "RSD", "reflex sympathetic dystrophy",
          "causalgia"],
)  # fmt: skip
def test_every_name_of_crps_finds_the_condition(client: TestClient[Any], q: str) -> None:
    found = slugs(client, q)
    assert "condition/crps" in found[:5]
    assert {"faq/what-is-crps", "faq/is-crps-the-same-as-rsd"} & set(found[:3])


def test_rsd_finds_pages_that_only_say_crps(client: TestClient[Any]) -> None:
    # "RSD" is in two items; the synonym brings in the ones that say CRPS.
    found = slugs(client, "RSD", limit=50)
    assert "symptom/swelling" in found
    response = client.get("/v1/search", params={"q": "RSD"})
    searched = response.json()["meta"]["terms"][0]["searched"]
    assert "complex regional pain syndrome" in searched


def test_iv_means_infusion(client: TestClient[Any]) -> None:
    assert "faq/how-long-does-an-infusion-take" in slugs(client, "how long does the IV take")[:3]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ketamin", "faq/what-is-ketamine"),
        ("ketamene", "faq/what-is-ketamine"),
        ("ketamine", "faq/what-is-ketamine"),
        ("infusoin", "treatment/ketamine-infusion"),
        ("burnin pain", "symptom/burning-pain"),
        ("swolen", "symptom/swelling"),
        ("keta", "faq/what-is-ketamine"),
        ("side eff", "faq/what-side-effects-can-ketamine-cause"),
        ("causalgya", "faq/is-crps-the-same-as-rsd"),
    ],
)
def test_typos_and_prefixes(client: TestClient[Any], q: str, expected: str) -> None:
    assert expected in slugs(client, q)[:3]


def test_corrections_are_reported(client: TestClient[Any]) -> None:
    terms = client.get("/v1/search", params={"q": "ketamene side efects"}).json()["meta"]["terms"]
    assert terms[0]["typed"] == "ketamene"
    assert "ketamine" in terms[0]["searched"]
    assert terms[1]["typed"] == "side efects"
    assert "side effects" in terms[1]["searched"]


def test_the_issue_query_puts_side_effects_first(client: TestClient[Any]) -> None:
    found = slugs(client, "ketamene side efects")
    assert found[0] == "faq/what-side-effects-can-ketamine-cause"


def test_short_words_are_not_guessed(client: TestClient[Any]) -> None:
    # A one-letter change to a three-letter word makes another word: no correction.
    assert slugs(client, "zzq ") == []


@pytest.mark.parametrize(
    "q",
    [
        '"', '""', "'", "*", "^", "(", ")", "((((", "))", "NEAR", "NEAR(a b)",
        'NEAR("ketamine" "crps", 2)', "title:ketamine", "{title body}: crps", "-crps",
        "crps AND", "OR OR OR", "NOT ketamine", "ket*", "^ketamine", "ketamine + crps",
        "a\x00b", "\x01\x02\x03", "crps\x7f", "\u202e\u200b", "💉 ketamine", "%", "\\",
        "x" * 300, "ketamine " * 33, "ñ" * 299,
    ],
)  # fmt: skip
def test_any_input_is_safe(client: TestClient[Any], q: str) -> None:
    response = client.get("/v1/search", params={"q": q})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["invalid_params"][0]["name"] == "q"
    faqs = client.get("/v1/search", params={"q": q, "type": "faq", "topic": "about-crps"})
    assert faqs.status_code in (200, 400), faqs.text


@pytest.mark.parametrize("q", ["   ", "?!", "\x00", "!!!", "\u202e\u200b", "-- ..."])
def test_a_query_without_words_finds_nothing(client: TestClient[Any], q: str) -> None:
    """The document gives `q` no pattern (which characters make a word is more than a
    portable pattern says), so a query without any is valid and finds nothing."""
    response = client.get("/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
    assert response.json()["meta"]["terms"] == []


def test_a_word_in_any_script_is_searched(client: TestClient[Any]) -> None:
    response = client.get("/v1/search", params={"q": "â"})
    assert response.status_code == 200
    assert response.json()["meta"]["terms"]


def test_fts_syntax_is_read_as_words(client: TestClient[Any]) -> None:
    assert "condition/crps" in slugs(client, 'NEAR("crps" ^causalgia*')[:3]


@pytest.mark.parametrize("q", ["x" * 2000, "ketamine " * 250])
def test_two_thousand_characters_get_a_400(client: TestClient[Any], q: str) -> None:
    response = client.get("/v1/search", params={"q": q})
    assert response.status_code == 400
    assert response.json()["invalid_params"][0]["name"] == "q"


def test_an_empty_query_is_a_400(client: TestClient[Any]) -> None:
    response = client.get("/v1/search", params={"q": ""})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_hits_have_type_slug_title_snippet_link_score(client: TestClient[Any]) -> None:
    body = client.get("/v1/search", params={"q": "swelling"}).json()
    hit = body["data"][0]
    assert hit["type"] == "symptom"
    assert hit["slug"] == "swelling"
    assert hit["title"] == "Swelling"
    assert "<mark>" in hit["snippet"]
    assert hit["link"]["api"] == "/v1/symptoms/swelling"
    assert hit["link"]["site"] == "https://clinic.test/symptoms/swelling"
    scores = [h["score"] for h in body["data"]]
    assert scores == sorted(scores, reverse=True)


def test_faq_links_point_at_their_topic(client: TestClient[Any]) -> None:
    hit = client.get("/v1/search", params={"q": "drive home", "type": "faq"}).json()["data"][0]
    assert (
        hit["link"]["site"] == "https://clinic.test/faqs/preparing-for-treatment#can-i-drive-home"
    )


def test_a_cursor_issued_without_channel_pages_the_default_channel(
    client: TestClient[Any],
) -> None:
    """Without `channel` a search is the website's: its cursor is the same rendition's."""
    first = client.get("/v1/search", params={"q": "crps", "limit": 3}).json()
    cursor = first["meta"]["next_cursor"]
    same = client.get(
        "/v1/search", params={"q": "crps", "limit": 3, "channel": "website", "cursor": cursor}
    )
    assert same.status_code == 200
    plain = client.get("/v1/search", params={"q": "crps", "limit": 3, "cursor": cursor}).json()
    assert same.json()["data"] == plain["data"]
    other = client.get(
        "/v1/search", params={"q": "crps", "limit": 3, "channel": "kiosk", "cursor": cursor}
    )
    assert other.status_code == 400


def test_paging_with_a_cursor(client: TestClient[Any]) -> None:
    first = client.get("/v1/search", params={"q": "crps", "limit": 3}).json()
    assert first["meta"]["total"] > 6
    second = client.get(
        "/v1/search", params={"q": "crps", "limit": 3, "cursor": first["meta"]["next_cursor"]}
    ).json()
    seen = {(h["type"], h["slug"]) for h in first["data"]}
    assert not seen & {(h["type"], h["slug"]) for h in second["data"]}
    everything = client.get("/v1/search", params={"q": "crps", "limit": 50}).json()["data"]
    assert [h["slug"] for h in everything[3:6]] == [h["slug"] for h in second["data"]]
    other = client.get(
        "/v1/search", params={"q": "ketamine", "cursor": first["meta"]["next_cursor"]}
    )
    assert other.status_code == 400
    assert other.json()["invalid_params"][0]["name"] == "cursor"


def test_type_and_topic_filters(client: TestClient[Any]) -> None:
    assert {s.split("/")[0] for s in slugs(client, "pain", type="symptom,condition")} == {
        "symptom",
        "condition",
    }
    found = client.get("/v1/search", params={"q": "ketamine", "topic": "side-effects-and-safety"})
    assert {h["topic"] for h in found.json()["data"]} == {"side-effects-and-safety"}
    bad = client.get("/v1/search", params={"q": "pain", "type": "recipe"})
    assert bad.status_code == 400
    assert bad.json()["invalid_params"][0]["name"] == "type"


def test_topic_with_any_type_is_a_filter_not_an_error(client: TestClient[Any]) -> None:
    """Only FAQs have a topic: with other types it matches nothing, and that is no error."""
    params = {"q": "ketamine", "topic": "side-effects-and-safety"}
    none = client.get("/v1/search", params={**params, "type": "article"})
    assert none.status_code == 200
    assert none.json()["data"] == []
    mixed = client.get("/v1/search", params={**params, "type": "article,faq"}).json()
    assert mixed["data"]
    assert {h["type"] for h in mixed["data"]} == {"faq"}


def test_the_kiosk_faq_box_is_a_search_of_faqs(client: TestClient[Any]) -> None:
    params = {"q": "drive home", "type": "faq", "limit": 3, "channel": "kiosk"}
    body = client.get("/v1/search", params=params).json()
    assert body["data"][0]["slug"] == "can-i-drive-home"
    assert body["data"][0]["summary"]  # the short answer
    # One way to search FAQs: the list has no `q`, and says so by name.
    refused = client.get("/v1/faqs", params={"q": "drive"})
    assert refused.status_code == 400
    assert refused.json()["invalid_params"][0]["name"] == "q"


def test_spanish_search_folds_accents(client: TestClient[Any]) -> None:
    params = {"q": "inyeccion", "locale": "es", "type": "faq"}
    response = client.get("/v1/search", params=params)
    assert response.status_code == 200
    first = response.json()["data"][0]
    assert first["slug"] == "why-infusion-instead-of-pills"
    assert first["locale"] == "es"
    assert "<mark>inyección</mark>" in first["snippet"]
    assert response.headers["content-language"] == "es"
    accented = client.get("/v1/search", params={"q": "INYECCIÓN", "locale": "es"}).json()
    assert accented["data"][0]["slug"] == "why-infusion-instead-of-pills"
    assert accented["data"][0]["link"]["api"] == "/v1/faqs/why-infusion-instead-of-pills?locale=es"


def test_spanish_search_falls_back_to_english_items(client: TestClient[Any]) -> None:
    # Swelling has no Spanish page: Spanish search still finds the English one, marked en.
    body = client.get("/v1/search", params={"q": "swelling", "type": "symptom"},
                      headers={"Accept-Language": "es"})  # fmt: skip
    hit = body.json()["data"][0]
    assert (hit["slug"], hit["locale"]) == ("swelling", "en")
    assert body.headers["content-language"] == "en"
    # No locale=, so the header could count (the delivery layer adds Accept-Encoding).
    assert body.headers["vary"].split(", ").count("Accept-Language") == 1


def test_snippets_escape_content_and_only_mark(content_copy: Path) -> None:
    faq = content_copy / "faqs" / "about-ketamine.yaml"
    text = faq.read_text(encoding="utf-8")
    text = text.replace(
        "Ketamine is a medicine with a long history",
        "Zebrafish `<script>alert(1)</script>` & ketamine is a medicine with a long history",
    )
    faq.write_text(text, encoding="utf-8")
    with make_client(content_copy) as client:
        hit = client.get("/v1/search", params={"q": "zebrafish"}).json()["data"][0]
        assert hit["slug"] == "what-is-ketamine"
        assert "&lt;script&gt;" in hit["snippet"]
        assert "&amp;" in hit["snippet"]
        assert set(re.findall(r"</?[a-z]+", hit["snippet"])) == {"<mark", "</mark"}
        kiosk = client.get("/v1/search", params={"q": "zebrafish", "channel": "kiosk"})
        assert "<mark>" not in kiosk.json()["data"][0]["snippet"]


def test_removed_items_leave_the_index(content_copy: Path) -> None:
    with make_client(content_copy) as client:
        assert slugs(client, "drive home")[0] == "faq/can-i-drive-home"
    (content_copy / "faqs" / "preparing-for-treatment.yaml").unlink()
    (content_copy / "faqs" / "preparing-for-treatment.es.yaml").unlink()
    with make_client(content_copy) as client:  # built again in place
        found = slugs(client, "drive home", limit=50)
        assert found  # other items still mention driving
        assert "faq/can-i-drive-home" not in found
        assert "faq/can-i-drive-home" not in slugs(client, "conducir", locale="es", limit=50)
