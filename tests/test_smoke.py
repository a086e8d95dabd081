from __future__ import annotations

import httpx

from tests.conftest import Server


def test_real_server_serves_articles(server: Server) -> None:
    response = httpx.get(server.url + "/v1/articles")
    assert response.status_code == 200
    assert response.json()["meta"]["total"] >= 2
