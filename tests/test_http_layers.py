"""Channel keys, rate limits, security headers, request ids, the access log and /metrics,
against real servers."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.settings import RateLimit, SettingsError, parse_api_keys
from tests.support import Server

KIOSK_KEY = "kiosk-key-1f0c9e"
WEBSITE_KEY = "website-key-77ab02"
NEWSLETTER_KEY = "newsletter-key-5d2e11"  # spent by the rate-limit test alone
EDITOR_KEY = "editor-key-90c4aa"
KEYS = ",".join(
    f"{channel}:{hashlib.sha256(key.encode()).hexdigest()}"
    for channel, key in (
        ("kiosk", KIOSK_KEY),
        ("website", WEBSITE_KEY),
        ("newsletter", NEWSLETTER_KEY),
        ("editor", EDITOR_KEY),
    )
)
# Windows of an hour, so no test straddles a window's end.
KEY_LIMIT = 40


@pytest.fixture(scope="module")
def keyed(built_db: Path, starts_server: None) -> Iterator[Server]:
    srv = Server(
        built_db,
        CLINIC_API_KEYS=KEYS,
        CLINIC_RATE_LIMIT="1000/3600",
        CLINIC_RATE_LIMIT_KEY=f"{KEY_LIMIT}/3600",
    ).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def open_server(built_db: Path, starts_server: None) -> Iterator[Server]:
    """No keys; the per-address limit is small. Started with `python -m api serve`."""
    srv = Server(built_db, cli=True, CLINIC_RATE_LIMIT="5/3600").start()
    yield srv
    srv.stop()


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].endswith("/" + body["title"].lower().replace(" ", "-"))
    return body  # type: ignore[no-any-return]


def test_without_a_key_the_answer_is_401(keyed: Server) -> None:
    response = httpx.get(keyed.url + "/v1/articles")
    body = assert_problem(response, 401)
    assert "X-API-Key" in str(body["detail"])
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "wrong"},
        {"X-API-Key": KIOSK_KEY + "x"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KIOSK_KEY}"},
        {"X-API-Key": hashlib.sha256(KIOSK_KEY.encode()).hexdigest()},  # the hash is no key
    ],
)
def test_a_wrong_key_is_401(keyed: Server, headers: dict[str, str]) -> None:
    body = assert_problem(httpx.get(keyed.url + "/v1/site", headers=headers), 401)
    assert body["detail"] in ("The API key is not valid.", body["detail"])


@pytest.mark.parametrize(
    "headers", [{"X-API-Key": WEBSITE_KEY}, {"Authorization": f"Bearer {WEBSITE_KEY}"}]
)
def test_a_good_key_opens_the_api(keyed: Server, headers: dict[str, str]) -> None:
    assert httpx.get(keyed.url + "/v1/site", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/docs", "/docs/openapi.json"])
def test_probes_and_docs_need_no_key(keyed: Server, path: str) -> None:
    assert httpx.get(keyed.url + path).status_code == 200


def test_keys_are_never_logged(keyed: Server) -> None:
    httpx.get(keyed.url + "/v1/site", headers={"X-API-Key": KIOSK_KEY})
    httpx.get(keyed.url + "/v1/site", headers={"Authorization": f"Bearer {WEBSITE_KEY}"})
    httpx.get(keyed.url + "/v1/site", headers={"X-API-Key": "wrong-key-attempt"})
    log = keyed.log()
    for secret in (KIOSK_KEY, WEBSITE_KEY, "wrong-key-attempt"):
        assert secret not in log
        assert hashlib.sha256(secret.encode()).hexdigest() not in log


def test_each_key_has_its_own_budget(keyed: Server) -> None:
    newsletter = {"X-API-Key": NEWSLETTER_KEY}
    seen = [httpx.get(keyed.url + "/v1/faqs?limit=1", headers=newsletter) for _ in range(KEY_LIMIT)]
    assert [r.status_code for r in seen] == [200] * KEY_LIMIT
    remaining = [int(r.headers["ratelimit-remaining"]) for r in seen]
    assert remaining == list(range(KEY_LIMIT - 1, -1, -1))
    refused = httpx.get(keyed.url + "/v1/faqs", headers=newsletter)
    body = assert_problem(refused, 429)
    assert f"the limit is {KEY_LIMIT} every 3600 s" in str(body["detail"])
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["ratelimit-limit"] == str(KEY_LIMIT)
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == f"{KEY_LIMIT};w=3600"
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(keyed.url + "/health").status_code == 200  # probes are never limited
    # Another channel is not affected.
    website = httpx.get(keyed.url + "/v1/faqs", headers={"X-API-Key": WEBSITE_KEY})
    assert website.status_code == 200


def test_without_keys_each_address_has_a_budget(open_server: Server) -> None:
    statuses = [httpx.get(open_server.url + "/v1/articles").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert httpx.get(open_server.url + "/health").status_code == 200
    assert httpx.get(open_server.url + "/metrics").status_code == 200


def test_security_headers_on_every_answer(keyed: Server) -> None:
    key = {"X-API-Key": WEBSITE_KEY}
    answers = [
        httpx.get(keyed.url + "/v1/articles?limit=1", headers=key),
        httpx.get(keyed.url + "/v1/articles/nope", headers=key),
        httpx.get(keyed.url + "/v1/articles?limit=0", headers=key),
        httpx.get(keyed.url + "/no/such/path", headers=key),
        httpx.post(keyed.url + "/v1/articles", headers=key),
        httpx.get(keyed.url + "/v1/articles"),
        httpx.get(keyed.url + "/health"),
        httpx.get(keyed.url + "/docs/assets/swagger-ui.css"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 400, 404, 405, 401, 200, 200]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "content-security-policy" in answer.headers
        assert "server" not in answer.headers
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_docs_allow_their_own_assets_only(keyed: Server) -> None:
    page = httpx.get(keyed.url + "/docs")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-eval" not in policy
    assert "script-src 'self' 'unsafe-inline'" not in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    for src in re.findall(r'(?:src|href)=["\']([^"\']+)', page.text):
        assert src.startswith("/docs/assets/"), src


def test_python_m_api_serve_sends_no_server_header(open_server: Server) -> None:
    response = httpx.get(open_server.url + "/health")
    assert "server" not in response.headers


def test_python_m_api_serve_logs_each_request_once_as_json(open_server: Server) -> None:
    rid = "serve-log-once"
    httpx.get(open_server.url + "/health", headers={"X-Request-ID": rid})
    for _ in range(50):  # the line is written at the end of the answer's loop turn
        lines = [line for line in open_server.log().splitlines() if "/health" in line]
        if any(rid in line for line in lines):
            break
        time.sleep(0.05)
    assert [json.loads(line)["request_id"] for line in lines if rid in line] == [rid]
    assert not [line for line in lines if not line.startswith("{")]  # no uvicorn text line


def test_request_ids_are_kept_when_sane_and_logged(keyed: Server) -> None:
    key = {"X-API-Key": WEBSITE_KEY}
    kept = httpx.get(keyed.url + "/v1/site", headers={**key, "X-Request-ID": "trace-42.a:b_c"})
    assert kept.headers["x-request-id"] == "trace-42.a:b_c"
    replaced = httpx.get(keyed.url + "/v1/site", headers={**key, "X-Request-ID": "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    # Access lines are written once the response is sent: wait for the second one.
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in keyed.log().splitlines() if line.startswith("{")]
        if replaced.headers["x-request-id"] in {line["request_id"] for line in lines}:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    mine = [line for line in lines if line["request_id"] == "trace-42.a:b_c"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1/site"
    assert mine[0]["status"] == 200
    assert mine[0]["method"] == "GET"
    assert mine[0]["channel"] == "website"
    assert mine[0]["duration_ms"] > 0
    assert any(line["request_id"] == replaced.headers["x-request-id"] for line in lines)


def test_metrics(keyed: Server) -> None:
    key = {"X-API-Key": WEBSITE_KEY}
    httpx.get(keyed.url + "/v1/articles/nope", headers=key)
    text = httpx.get(keyed.url + "/metrics", headers=key).text
    assert re.search(
        r'clinic_http_requests_total\{method="GET",route="/v1/articles/\{slug\}",status="404"\} \d',
        text,
    ), text
    assert 'clinic_http_request_duration_seconds_bucket{le="0.005",route="/v1/site"' in text
    assert re.search(r"^clinic_content_revision \d+\.0$", text, re.M)
    assert re.search(r"^clinic_content_build_duration_seconds \d", text, re.M)
    assert httpx.get(keyed.url + "/metrics").status_code == 401  # a key, when keys are on


def test_settings_refuse_bad_values() -> None:
    with pytest.raises(SettingsError, match="not a SHA-256 hex digest"):
        parse_api_keys("kiosk:plain-key")
    with pytest.raises(SettingsError, match="unknown channel 'tv'"):
        parse_api_keys("tv:" + "0" * 64)
    with pytest.raises(SettingsError, match="expected REQUESTS/SECONDS"):
        RateLimit.parse("CLINIC_RATE_LIMIT", "lots")
    assert RateLimit.parse("X", "0") == RateLimit(0, 60)
    assert RateLimit.parse("X", "120/60") == RateLimit(120, 60)


def test_a_prepared_answer_carries_what_the_layers_add(keyed: Server) -> None:
    """The first request is answered through the layers and prepared; the next ones come
    from the fast path in front of them (api/middleware/fast.py) and must not differ."""
    key = {"X-API-Key": KIOSK_KEY}
    url = keyed.url + "/v1/symptoms?limit=3&fields=title"
    first, second = httpx.get(url, headers=key), httpx.get(url, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert set(first.headers) == set(second.headers)
    for name, value in first.headers.items():
        if name not in ("date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"):
            assert second.headers[name] == value, name
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert int(second.headers["ratelimit-remaining"]) == (
        int(first.headers["ratelimit-remaining"]) - 1
    )
    assert second.headers["content-security-policy"].startswith("default-src 'none'")
    assert second.headers.get_list("x-content-type-options") == ["nosniff"]

    etag = {**key, "If-None-Match": second.headers["etag"], "X-Request-ID": "revalidate-1"}
    revalidated = httpx.get(url, headers=etag)
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["x-request-id"] == "revalidate-1"
    # What a cache needs, the request id and the limits; the stored 200 has the rest.
    assert set(revalidated.headers) == {
        "etag", "cache-control", "vary", "date", "x-request-id",
        "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy",
    }  # fmt: skip
    head = httpx.head(url, headers=key)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == second.headers["content-length"]

    # A prepared answer is still no answer without a valid key.
    assert_problem(httpx.get(url), 401)
    assert_problem(httpx.get(url, headers={"X-API-Key": "wrong"}), 401)
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {KIOSK_KEY}"})
    assert bearer.content == first.content

    lines = [json.loads(line) for line in keyed.log().splitlines() if line.startswith("{")]
    logged = [line for line in lines if line["request_id"] == "revalidate-1"]
    assert len(logged) == 1
    assert logged[0]["status"] == 304
    assert logged[0]["route"] == "/v1/symptoms"
    assert logged[0]["channel"] == "kiosk"


def test_prepared_answers_are_counted_in_the_metrics(keyed: Server) -> None:
    key = {"X-API-Key": WEBSITE_KEY}
    url = keyed.url + "/v1/faq-topics/about-crps"
    pattern = re.compile(
        r'^clinic_http_requests_total\{method="(GET|HEAD)",route="/v1/faq-topics/\{slug\}",'
        r'status="200"\} (\d+)\.0$',
        re.M,
    )

    def counts() -> dict[str, int]:
        text = httpx.get(keyed.url + "/metrics", headers=key).text
        return {method: int(n) for method, n in pattern.findall(text)}

    httpx.get(url, headers=key)  # prepared, if no other test did so yet
    before = counts()
    for _ in range(3):
        assert httpx.get(url, headers=key).status_code == 200
    assert httpx.head(url, headers=key).status_code == 200
    after = counts()
    assert after["GET"] - before.get("GET", 0) == 3
    assert after["HEAD"] - before.get("HEAD", 0) == 1


def test_prepared_hits_and_misses_are_in_the_metrics(keyed: Server) -> None:
    key = {"X-API-Key": WEBSITE_KEY}

    def value(name: str) -> float:
        text = httpx.get(keyed.url + "/metrics", headers=key).text
        found = re.search(rf"^{name} (\S+)$", text, re.M)
        assert found is not None, name
        return float(found.group(1))

    before = {n: value(f"clinic_prepared_{n}") for n in ("hits_total", "misses_total", "entries")}
    url = keyed.url + "/v1/treatments?fields=title&limit=1"  # asked by no other test
    for _ in range(4):
        assert httpx.get(url, headers=key).status_code == 200
    assert value("clinic_prepared_misses_total") - before["misses_total"] == 1
    assert value("clinic_prepared_hits_total") - before["hits_total"] == 3
    assert value("clinic_prepared_entries") == before["entries"] + 1
    assert value("clinic_prepared_bytes") > 0


def test_only_an_editor_key_may_ask_for_overdue_items(keyed: Server) -> None:
    """With keys on, `channel=editor` (served overdue items) needs an editor key; other
    channels are renditions any key may ask for. Checked twice per key: through the layers,
    then once the answer is prepared."""
    url = keyed.url + "/v1/articles?limit=2&channel=editor"
    for _ in range(2):
        body = assert_problem(httpx.get(url, headers={"X-API-Key": KIOSK_KEY}), 403)
        assert body["detail"] == "channel=editor needs a key of the editor channel."
        assert_problem(httpx.get(url, headers={"X-API-Key": WEBSITE_KEY}), 403)
        assert_problem(httpx.get(url), 401)
        editor = httpx.get(url, headers={"X-API-Key": EDITOR_KEY})
        assert editor.status_code == 200
    kiosk = {"X-API-Key": WEBSITE_KEY}
    assert httpx.get(keyed.url + "/v1/faqs?channel=kiosk", headers=kiosk).status_code == 200


def test_two_keys_are_a_400_prepared_or_not(keyed: Server) -> None:
    """Which of two keys counts is a guess no layer may make: the request is refused."""
    url = keyed.url + "/v1/conditions"
    good_first = [("X-API-Key", WEBSITE_KEY), ("X-API-Key", "wrong")]
    wrong_first = [("X-API-Key", "wrong"), ("X-API-Key", WEBSITE_KEY)]
    for _ in range(2):  # through the layers, then prepared
        assert httpx.get(url, headers={"X-API-Key": WEBSITE_KEY}).status_code == 200
        for headers in (good_first, wrong_first):
            body = assert_problem(httpx.get(url, headers=headers), 400)
            assert "X-API-Key header was given more than once" in str(body["detail"])
