"""The OpenAPI document is valid 3.1, complete, committed as served, and self-hosted at /docs."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from openapi_spec_validator import validate

from api.app import openapi_document
from api.cli import editor_schemas
from api.normalize import normalized_document
from api.registry import TYPES
from api.settings import Settings
from tests.support import ROOT

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture(scope="module")
def document(client: Client) -> dict[str, Any]:
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete", "head"}
    ]


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_committed_document_is_the_served_one(document: dict[str, Any]) -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == document, "openapi/openapi.json is out of date; run: python -m api openapi"


def test_served_bytes_are_the_committed_bytes(client: Client) -> None:
    served = client.get("/docs/openapi.json").content
    assert served == (ROOT / "openapi" / "openapi.json").read_bytes()


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}/{index}")


def test_document_is_normalized(document: dict[str, Any]) -> None:
    """Made from normalized input, so releases that word or order their output differently
    give the same bytes: descriptions cleaned like docstrings, keys sorted except a
    schema's properties (their declared order) and example values (data as given)."""
    for path, value in _walk(document):
        if isinstance(value, dict) and isinstance(value.get("description"), str):
            text = value["description"]
            assert text == inspect.cleandoc(text), path
        data = re.search(r"/(example|examples|default|enum)(/|$)", path)
        if isinstance(value, dict) and not path.endswith("/properties") and not data:
            assert list(value) == sorted(value), path


def test_normalizing_is_stable_and_cleans_what_a_release_might_not() -> None:
    raw = {
        "paths": {"/b": {}, "/a": {}},
        "description": "First line\n    indented by an older release\n",
        "properties": {"zeta": {"type": "string", "description": "  z"}, "alpha": {}},
        "example": {"z": 1, "a": 2},
    }
    once = normalized_document(raw)
    assert list(once) == ["description", "example", "paths", "properties"]
    assert once["description"] == "First line\nindented by an older release"
    assert list(once["paths"]) == ["/a", "/b"]
    assert list(once["properties"]) == ["zeta", "alpha"]
    assert list(once["properties"]["zeta"]) == ["description", "type"]
    assert list(once["example"]) == ["z", "a"]
    assert normalized_document(once) == once


def test_openapi_check_command_detects_drift(tmp_path: Any) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "api", "openapi", "--check", "--output", str(stale)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "run: python -m api openapi" in result.stderr


def test_editor_json_schemas_are_current() -> None:
    for path, data in editor_schemas().items():
        assert (ROOT / path).read_bytes() == data, (
            f"{path} is out of date; run: python -m api schemas"
        )


JSON_OR_DOCUMENTED_MEDIA_TYPES = {
    "application/json",
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/xml",
}


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    ids = set()
    for name, op in operations(document):
        assert op.get("operationId"), name
        assert re.fullmatch(r"[a-z][A-Za-z]+", op["operationId"]), name
        ids.add(op["operationId"])
        assert op.get("summary"), name
        assert op.get("description"), name
        assert op.get("tags"), name
        for param in op.get("parameters", []):
            assert param.get("description"), f"{name} {param['name']}"
        # JSON, except feeds and sitemap.xml; each 200 documents one media type and its schema.
        media = op["responses"]["200"]["content"]
        assert len(media) == 1, name
        assert set(media) <= JSON_OR_DOCUMENTED_MEDIA_TYPES, name
        ok = next(iter(media.values()))["schema"]
        assert ok, name
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                content = response["content"]["application/problem+json"]
                assert content["schema"]["$ref"].endswith("/Problem"), name
                assert content.get("examples") or content.get("example"), name
    assert len(ids) == len(operations(document))
    assert {
        "listArticles", "getArticle", "listConditions", "getCondition", "listSymptoms",
        "getSymptom", "listTreatments", "getTreatment", "listFaqs", "getFaq", "getSite",
    } <= ids  # fmt: skip


def test_operations_with_parameters_document_400(document: dict[str, Any]) -> None:
    for name, op in operations(document):
        if op.get("parameters"):
            assert "400" in op["responses"], name
        if "{slug}" in name:
            assert "404" in op["responses"], name


def test_list_parameters_carry_their_limits(document: dict[str, Any]) -> None:
    params = {p["name"]: p for p in document["paths"]["/v1/articles"]["get"]["parameters"]}
    limit = params["limit"]["schema"]
    assert (limit.get("minimum"), limit.get("maximum"), limit.get("default")) == (1, 100, 20)
    assert params["cursor"]["schema"]["maxLength"] == 512
    assert params["tag"]["schema"]["pattern"] == "^[a-z0-9]+(-[a-z0-9]+)*$"
    assert "-published_at" in json.dumps(params["sort"]["schema"])


def test_channel_dependent_shapes_carry_a_discriminator(document: dict[str, Any]) -> None:
    """An item answer is the full item or the kiosk's plain-text copy; `rendition` tells
    them apart, so a typed client narrows on it before reading `body_html`."""
    schemas = document["components"]["schemas"]

    def rendition(name: str) -> Any:
        assert "rendition" in schemas[name]["required"], name
        return schemas[name]["properties"]["rendition"]["const"]

    for kind in ("articles", "conditions", "symptoms", "treatments", "faqs"):
        answer = document["paths"][f"/v1/{kind}/{{slug}}"]["get"]["responses"]["200"]
        schema = answer["content"]["application/json"]["schema"]
        full, kiosk = (ref["$ref"].rsplit("/", 1)[-1] for ref in schema["oneOf"])
        assert kiosk == f"{full}Kiosk"
        refs = "#/components/schemas/"
        mapping = {"full": refs + full, "kiosk": refs + kiosk}
        assert schema["discriminator"] == {"propertyName": "rendition", "mapping": mapping}
        assert (rendition(full), rendition(kiosk)) == ("full", "kiosk")
        assert (
            "body_html" in schemas[full]["properties"]
            or "answer_html" in schemas[full]["properties"]
        )
        assert not {"body_html", "answer_html"} & set(schemas[kiosk]["properties"])
    faqs = schemas["FaqList"]["properties"]["data"]["items"]["anyOf"]
    assert [ref["$ref"].rsplit("/", 1)[-1] for ref in faqs] == ["Faq", "FaqKiosk", "FaqFields"]


def test_docs_page_uses_only_its_own_assets(client: Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page.text)
    assert sources
    assert all(s.startswith("/docs/") for s in sources), sources
    assert "cdn." not in page.text
    assert "unpkg" not in page.text
    for asset in sources:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 100, asset


def test_a_304_documents_only_what_a_cache_needs(document: dict[str, Any]) -> None:
    limits = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"}
    checked = 0
    for name, op in operations(document):
        if "304" not in op["responses"]:
            continue
        expected = {"ETag", "Cache-Control", "Vary", "Date", "X-Request-ID"}
        if name.split(" ", 1)[1].startswith("/v1/"):
            expected |= limits
        assert set(op["responses"]["304"]["headers"]) == expected, name
        checked += 1
    assert checked >= 19


def test_locale_lists_the_site_s_locales(document: dict[str, Any]) -> None:
    named = 0
    for name, op in operations(document):
        for param in op.get("parameters", []):
            if param["name"] == "locale":
                assert param["schema"] == {"$ref": "#/components/schemas/Locale"}, name
                named += 1
    assert named >= 15
    locale = document["components"]["schemas"]["Locale"]
    assert (locale["type"], locale["enum"]) == ("string", ["en", "es"])


def test_the_locale_enum_follows_the_site_settings(content_copy: Path) -> None:
    """The drift check covers it: another site.yaml, another document."""
    site = content_copy / "site.yaml"
    text = site.read_text(encoding="utf-8")
    assert "\n  - es\n" in text
    site.write_text(text.replace("\n  - es\n", "\n  - es\n  - fr\n", 1), encoding="utf-8")
    document = json.loads(openapi_document(Settings(content_dir=content_copy)))
    assert document["components"]["schemas"]["Locale"]["enum"] == ["en", "es", "fr"]


def test_every_status_an_operation_answers_is_documented(document: dict[str, Any]) -> None:
    """The layers answer any /v1 operation 400 (an unknown parameter), 401 (keys), 429
    (limits) and 503 (no build yet); prepared GETs 304 (all but the event log, never
    prepared); items 404 and 410."""
    for name, op in operations(document):
        statuses = set(op["responses"])
        if name.startswith("GET /v1/"):
            assert {"200", "400", "401", "429", "503"} <= statuses, name
            assert ("304" in statuses) == (name != "GET /v1/events"), name
        if "{slug}" in name:
            assert {"404", "410"} <= statuses, name
        if any(p["name"] == "channel" for p in op.get("parameters", [])):
            assert "403" in statuses, name
    sync = document["paths"]["/v1/sync"]["get"]["responses"]
    assert "410" in sync


def test_one_way_to_search_faqs(document: dict[str, Any]) -> None:
    faqs = {p["name"] for p in document["paths"]["/v1/faqs"]["get"]["parameters"]}
    assert "q" not in faqs
    search = {p["name"] for p in document["paths"]["/v1/search"]["get"]["parameters"]}
    assert {"q", "type", "topic"} <= search


def test_paged_operations_link_their_next_cursor(document: dict[str, Any]) -> None:
    paged = 0
    for name, op in operations(document):
        params = [p["name"] for p in op.get("parameters", [])]
        if "cursor" not in params:
            continue
        cursor = next(p for p in op["parameters"] if p["name"] == "cursor")
        assert "Only cursors this API issued are valid" in cursor["description"], name
        assert "format" not in cursor["schema"], name
        link = op["responses"]["200"]["links"]["next"]
        assert link["operationId"] == op["operationId"], name
        assert link["parameters"]["cursor"] == "$response.body#/meta/next_cursor", name
        assert {k for k in link["parameters"] if k != "cursor"} == set(params) - {"cursor"}
        paged += 1
    # Each content type's list, search, sync and events.
    assert paged == len(TYPES) + 3


def test_sitemap_refuses_unknown_parameters_as_documented(client: Client) -> None:
    for path in ("/v1/sitemap", "/v1/sitemap.xml"):
        response = client.get(path, params={"page": "2"})
        assert response.status_code == 400, path
        assert response.headers["content-type"] == "application/problem+json"
