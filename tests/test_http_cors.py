"""CORS for the configured origins only, against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server

ALLOWED = "https://www.example-clinic.org"


@pytest.fixture(scope="module")
def cors_server(built_db: Path, starts_server: None) -> Iterator[Server]:
    srv = Server(built_db, CLINIC_CORS_ORIGINS=f"{ALLOWED}, https://kiosk.example.org").start()
    yield srv
    srv.stop()


def preflight(srv: Server, origin: str, method: str = "GET", headers: str = "") -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return httpx.options(srv.url + "/v1/articles", headers=request_headers)


def test_preflight_from_an_allowed_origin(cors_server: Server) -> None:
    response = preflight(cors_server, ALLOWED, headers="If-None-Match, X-API-Key")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {
        "GET", "HEAD", "OPTIONS"
    }  # fmt: skip
    assert response.headers["access-control-allow-headers"] == "if-none-match, x-api-key"
    assert int(response.headers["access-control-max-age"]) > 0
    assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "GET", ""),
        (ALLOWED, "DELETE", ""),
        (ALLOWED, "GET", "X-Secret-Thing"),
    ],
)
def test_preflight_refused(cors_server: Server, origin: str, method: str, headers: str) -> None:
    response = preflight(cors_server, origin, method, headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["status"] == 403


def test_actual_request_from_an_allowed_origin(cors_server: Server) -> None:
    for _ in range(2):  # prepared, then served from the prepared response
        response = httpx.get(cors_server.url + "/v1/faqs?limit=2", headers={"Origin": ALLOWED})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"ETag", "Link", "Retry-After", "RateLimit-Remaining"} <= exposed
        assert "Origin" in response.headers["vary"]
    revalidated = httpx.get(
        cors_server.url + "/v1/faqs?limit=2",
        headers={"Origin": ALLOWED, "If-None-Match": response.headers["etag"]},
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["access-control-allow-origin"] == ALLOWED


def test_other_origins_get_no_grant(cors_server: Server) -> None:
    response = httpx.get(cors_server.url + "/v1/faqs", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_errors_carry_the_grant_so_browsers_can_read_them(cors_server: Server) -> None:
    response = httpx.get(cors_server.url + "/v1/articles/nope", headers={"Origin": ALLOWED})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_no_cors_headers_when_no_origin_is_configured(server: Server) -> None:
    response = httpx.get(server.url + "/v1/faqs", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" not in response.headers["vary"]
