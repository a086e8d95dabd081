"""Real HTTP: uvicorn in a subprocess on a loopback port, requests with httpx."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.build import build
from tests.support import CONTENT, ROOT, Server, free_port


def test_done_when_urls_answer(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        articles = http.get("/v1/articles")
        assert articles.status_code == 200
        assert articles.headers["content-type"] == "application/json"
        assert len(articles.json()["data"]) >= 2
        faqs = http.get("/v1/faqs")
        assert faqs.json()["meta"]["total"] >= 15
        crps = http.get("/v1/conditions/crps", params={"include": "symptoms,treatments"})
        assert crps.status_code == 200
        assert len(crps.json()["included"]["symptoms"]) >= 8
        assert crps.json()["included"]["treatments"][0]["slug"] == "ketamine-infusion"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/articles/no-such-article", 404),
        ("GET", "/nowhere", 404),
        ("PUT", "/v1/faqs", 405),
        ("GET", "/v1/faqs?limit=-1", 400),
        ("GET", "/v1/faqs?cursor=%00%01", 400),
        ("GET", "/v1/faqs?unknown=1", 400),
        ("GET", "/v1/symptoms?fields=" + "x" * 5000, 400),
    ],
)
def test_errors_are_problem_json_over_http(
    server: Server, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, server.url + path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_following_link_headers_visits_every_faq_once(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        total = http.get("/v1/faqs?limit=1").json()["meta"]["total"]
        seen = []
        response = http.get("/v1/faqs?limit=4")
        while True:
            seen += [f["slug"] for f in response.json()["data"]]
            if "next" not in response.links:
                break
            response = http.get(response.links["next"]["url"])
    assert len(seen) == total
    assert len(set(seen)) == total


@pytest.mark.server
def test_server_started_before_the_first_build_becomes_ready(tmp_path: Path) -> None:
    db = tmp_path / "late.db"
    srv = Server(db).start()
    try:
        not_ready = httpx.get(srv.url + "/ready")
        assert not_ready.status_code == 503
        assert not_ready.headers["content-type"] == "application/problem+json"
        assert httpx.get(srv.url + "/v1/articles").status_code == 503
        asyncio.run(build(CONTENT, db))
        assert httpx.get(srv.url + "/ready").status_code == 200
        assert httpx.get(srv.url + "/v1/articles").json()["meta"]["total"] >= 2
    finally:
        srv.stop()


@pytest.mark.server
def test_serve_command_builds_then_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CLINIC_DB_PATH": str(tmp_path / "var" / "clinic.db"),
        "CLINIC_CONTENT_DIR": str(CONTENT),
        "CLINIC_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.1)
        assert ready.status_code == 200
        response = httpx.get(f"http://127.0.0.1:{port}/v1/treatments/ketamine-infusion")
        assert response.json()["title"]
        assert "server" not in response.headers
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
