from __future__ import annotations

import httpx

from tests.support import Server


def test_real_server_serves_articles(server: Server) -> None:
    response = httpx.get(server.url + "/v1/articles")
    assert response.status_code == 200
    assert response.json()["meta"]["total"] >= 2


def test_served_search_finds_what_patients_mean(server: Server) -> None:
    # The acceptance queries, on a real uvicorn.
    response = httpx.get(server.url + "/v1/search", params={"q": "ketamene side efects"})
    assert response.status_code == 200
    first = response.json()["data"][0]
    assert (first["type"], first["slug"]) == ("faq", "what-side-effects-can-ketamine-cause")
    faqs = httpx.get(
        server.url + "/v1/search", params={"q": "inyeccion", "type": "faq", "locale": "es"}
    )
    assert faqs.status_code == 200
    assert faqs.headers["content-language"] == "es"
    assert faqs.json()["data"][0]["slug"] == "why-infusion-instead-of-pills"


def test_served_search_survives_hostile_input(server: Server) -> None:
    for q in ['"NEAR(', "\x00\x1b[31m", "x" * 2000, "title:*^"]:
        response = httpx.get(server.url + "/v1/search", params={"q": q})
        assert response.status_code in (200, 400), (q, response.text)
