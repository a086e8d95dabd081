"""Every read endpoint and parameter, good and bad, against a database built from content/."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

Client = TestClient  # type: ignore[type-arg]
LISTS = ["articles", "conditions", "symptoms", "treatments", "faqs"]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("kind", LISTS)
def test_list_shape(client: Client, kind: str) -> None:
    response = client.get(f"/v1/{kind}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert set(body["meta"]) == {"total", "limit", "next_cursor"}
    assert body["meta"]["limit"] == 20
    assert 0 < len(body["data"]) <= 20
    assert body["meta"]["total"] >= len(body["data"])
    assert all(item["type"] == kind.removesuffix("s") for item in body["data"])


@pytest.mark.parametrize("kind", LISTS)
def test_every_listed_item_has_a_detail(client: Client, kind: str) -> None:
    items = client.get(f"/v1/{kind}?limit=100").json()["data"]
    for item in items:
        detail = client.get(f"/v1/{kind}/{item['slug']}")
        assert detail.status_code == 200
        assert detail.json()["slug"] == item["slug"]
        assert detail.json()["revision"] == item["revision"]


@pytest.mark.parametrize("kind", LISTS)
def test_unknown_slug_is_404_problem(client: Client, kind: str) -> None:
    body = problem(client.get(f"/v1/{kind}/no-such-item"), 404)
    assert "no-such-item" in body["detail"]


def test_unknown_route_and_wrong_method(client: Client) -> None:
    problem(client.get("/v1/nothing-here"), 404)
    body = problem(client.post("/v1/articles", json={}), 405)
    assert "POST" in body["detail"]
    problem(client.delete("/v1/articles/ketamine-for-crps"), 405)


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/v1/articles?limit=0", "limit"),
        ("/v1/articles?limit=101", "limit"),
        ("/v1/articles?limit=ten", "limit"),
        ("/v1/articles?sort=popularity", "sort"),
        ("/v1/faqs?sort=-published_at", "sort"),
        ("/v1/articles?cursor=not-a-cursor", "cursor"),
        ("/v1/articles?cursor=" + "a" * 600, "cursor"),
        ("/v1/articles?fields=title,secret", "fields"),
        ("/v1/articles?fields=" + "title," * 200, "fields"),
        ("/v1/articles?include=faqs", "include"),
        ("/v1/symptoms?include=treatments", "include"),
        ("/v1/articles?tag=Not%20A%20Slug", "tag"),
        ("/v1/articles?locale=english", "locale"),
        ("/v1/articles?updated_since=yesterday", "updated_since"),
        ("/v1/articles?colour=blue", "colour"),
        ("/v1/faqs?include=faqs", "include"),
        ("/v1/articles?limit=5&limit=6", "limit"),
        ("/v1/articles/Bad_Slug", "slug"),
        ("/v1/site?x=1", "x"),
    ],
)
def test_bad_parameters_are_named(client: Client, url: str, param: str) -> None:
    body = problem(client.get(url), 400)
    assert [p["name"] for p in body["invalid_params"]] == [param]
    assert body["invalid_params"][0]["reason"]
    assert param in body["detail"]


def test_cursor_from_another_sort_is_refused(client: Client) -> None:
    cursor = client.get("/v1/faqs?limit=1").json()["meta"]["next_cursor"]
    body = problem(client.get(f"/v1/faqs?limit=1&sort=-order&cursor={cursor}"), 400)
    assert "sort" in body["invalid_params"][0]["reason"]


def test_filters(client: Client) -> None:
    articles = client.get("/v1/articles?tag=ketamine").json()["data"]
    assert articles
    assert all("ketamine" in a["tags"] for a in articles)
    assert client.get("/v1/articles?tag=no-such-tag").json() == {
        "data": [],
        "meta": {"total": 0, "limit": 20, "next_cursor": None},
    }
    assert client.get("/v1/articles?condition=crps").json()["meta"]["total"] >= 2
    assert client.get("/v1/articles?treatment=ketamine-infusion").json()["meta"]["total"] >= 2
    symptoms = client.get("/v1/symptoms?condition=crps&limit=100").json()
    assert symptoms["meta"]["total"] >= 8
    conditions = client.get("/v1/conditions?symptom=swelling").json()["data"]
    assert [c["slug"] for c in conditions] == ["crps"]
    topic = client.get("/v1/faqs?topic=about-ketamine&limit=100").json()["data"]
    assert topic
    assert {f["topic"] for f in topic} == {"about-ketamine"}
    assert [f["order"] for f in topic] == sorted(f["order"] for f in topic)
    by_treatment = client.get("/v1/faqs?treatment=ketamine-infusion&limit=100").json()["data"]
    assert by_treatment
    assert all(f["treatment"] == "ketamine-infusion" for f in by_treatment)
    # No article is in Spanish yet: each falls back to English and says so.
    spanish = client.get("/v1/articles?locale=es").json()
    assert spanish["meta"]["total"] == client.get("/v1/articles").json()["meta"]["total"]
    assert {a["locale"] for a in spanish["data"]} == {"en"}
    assert client.get("/v1/articles?locale=fr").status_code == 400


def test_updated_since(client: Client) -> None:
    everything = client.get("/v1/faqs?limit=100").json()["data"]
    newest = max(f["updated_at"] for f in everything)
    recent = client.get(f"/v1/faqs?limit=100&updated_since={newest}").json()["data"]
    assert recent
    assert all(f["updated_at"] >= newest for f in recent)
    assert client.get("/v1/faqs?updated_since=2999-01-01T00:00:00Z").json()["data"] == []


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("-published_at", "published_at", True),
        ("published_at", "published_at", False),
        ("title", "title", False),
        ("-title", "title", True),
        ("-updated_at", "updated_at", True),
    ],
)
def test_article_sorts(client: Client, sort: str, key: str, reverse: bool) -> None:
    data = client.get(f"/v1/articles?sort={sort}").json()["data"]
    values = [a[key].casefold() for a in data]
    assert values == sorted(values, reverse=reverse)


def test_default_article_order_is_newest_first(client: Client) -> None:
    data = client.get("/v1/articles").json()["data"]
    assert [a["published_at"] for a in data] == sorted(
        (a["published_at"] for a in data), reverse=True
    )


@pytest.mark.parametrize("kind", LISTS)
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pagination_walk_has_no_duplicate_or_gap(client: Client, kind: str, limit: int) -> None:
    everything = [i["slug"] for i in client.get(f"/v1/{kind}?limit=100").json()["data"]]
    seen: list[str] = []
    url: str | None = f"/v1/{kind}?limit={limit}"
    pages = 0
    while url:
        response = client.get(url)
        body = response.json()
        assert body["meta"]["total"] == len(everything)
        seen += [i["slug"] for i in body["data"]]
        cursor = body["meta"]["next_cursor"]
        link = response.headers.get("link")
        if cursor:
            assert link == f'</v1/{kind}?limit={limit}&cursor={cursor}>; rel="next"'
            url = link[1 : link.index(">")]
        else:
            assert link is None
            url = None
        pages += 1
        assert pages <= len(everything) + 1
    assert seen == everything


def test_fields_picks_fields(client: Client) -> None:
    data = client.get("/v1/faqs?fields=question,short_answer").json()["data"]
    assert data
    assert all(set(f) == {"type", "slug", "locale", "question", "short_answer"} for f in data)


def test_include_embeds_related_items(client: Client) -> None:
    crps = client.get("/v1/conditions/crps?include=symptoms,treatments,faqs").json()
    included = crps["included"]
    assert [s["slug"] for s in included["symptoms"]] == crps["symptoms"]
    assert [t["slug"] for t in included["treatments"]] == crps["treatments"]
    assert included["faqs"]
    assert all(f["condition"] == "crps" for f in included["faqs"])
    plain = client.get("/v1/conditions/crps").json()
    assert "included" not in plain
    article = client.get("/v1/articles?include=conditions&fields=title").json()["data"][0]
    assert set(article) == {"type", "slug", "locale", "title", "included"}
    assert [c["slug"] for c in article["included"]["conditions"]] == ["crps"]
    treatment = client.get("/v1/treatments/ketamine-infusion?include=faqs").json()
    assert treatment["included"]["faqs"]
    assert all(f["treatment"] == "ketamine-infusion" for f in treatment["included"]["faqs"])


def test_site_health_ready(client: Client) -> None:
    site = client.get("/v1/site").json()
    assert site["name"]
    assert site["disclaimer"]
    assert site["base_url"].startswith("https://")
    assert site["default_locale"] == "en"
    assert "en" in site["locales"]
    assert site["content_revision"] >= 1
    assert len(site["content_hash"]) == 64
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {
        "status": "ok",
        "content_revision": site["content_revision"],
    }
