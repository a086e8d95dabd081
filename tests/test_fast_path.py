"""The fast path for prepared answers (api/middleware/fast.py) and the guard that sends
them: the same bytes as before it was made cheaper, and the same guard."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.middleware.access_log import AccessLines
from api.reading import PLAIN, RequestView
from api.settings import Settings
from tests.support import Server

DETAIL = "/v1/articles/ketamine-for-crps"


def raw(server: Server, path: str, headers: dict[str, str]) -> tuple[int, list[str], bytes]:
    """Status, header names in the order sent, body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, [n.lower() for n, _ in response.getheaders()], response.read()
    finally:
        conn.close()


def test_a_prepared_304_carries_exactly_these_headers_in_this_order(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", DETAIL)
    etag = conn.getresponse().getheader("etag")
    conn.close()
    assert etag
    status, names, body = raw(server, DETAIL, {"If-None-Match": etag, "X-Request-ID": "f-304"})
    assert status == 304
    assert body == b""
    # The server's Date, what a cache needs and the request id (this server has no limits;
    # with them, the RateLimit fields come before the id: tests/test_http_layers.py).
    assert names == ["date", "etag", "cache-control", "vary", "x-request-id"]
    deadline = time.monotonic() + 5  # written at the end of the server's loop turn
    while not (line := [json.loads(x) for x in server.log().splitlines() if '"f-304"' in x]):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [(x["status"], x["route"], x["bytes"]) for x in line] == [
        (304, "/v1/articles/{slug}", 0)
    ]


def test_an_access_line_is_the_same_text_as_the_template_gave() -> None:
    """The lines are assembled from kept pieces now; byte for byte what the one template
    (`%`-formatted, below) wrote before."""
    template = (
        '{"ts":"%s","event":"request","request_id":"%s","method":"%s","path":%s,"route":%s,'
        '"status":%d,"duration_ms":%.3f,"bytes":%d,"channel":%s}\n'
    )
    cases: list[tuple[str, str, str, str, int, float, int, str | None]] = [
        ("a1", "GET", "/v1/site", "/v1/site", 200, 0.5, 10, None),
        ("b2", "HEAD", '/v1/"q"\\p\n\u2028é', "<unmatched>", 404, 12.34567, 0, "kiosk"),
        ("c3", "GET", "/v1/site", "/v1/site", 304, 0.0004, 0, "kiosk"),
        ("d4", "GET", "/v1/site", "/v1/site", 304, 1e6, 7, None),
    ]
    import io

    stream = io.StringIO()
    lines = AccessLines(stream)
    for case in cases:
        lines.write(*case)  # no event loop: written at once, with the second it is written
    written = [line + "\n" for line in stream.getvalue().split("\n")[:-1]]
    assert len(written) == len(cases)
    for text, (rid, method, path, route, status, ms, sent, channel) in zip(
        written, cases, strict=True
    ):
        ts = json.loads(text)["ts"]
        quoted = [json.dumps(v, ensure_ascii=False) for v in (path, route, channel)]
        expected = template % (ts, rid, method, quoted[0], quoted[1], status, ms, sent, quoted[2])
        assert json.loads(text) == json.loads(expected)
        assert text == expected


def test_a_request_view_has_every_field() -> None:
    view = PLAIN.read({"path": "/v1/site", "query_string": b"a=1", "headers": [(b"host", b"x")]})
    assert isinstance(view, RequestView)
    assert len(view) == len(RequestView._fields)
    assert view._asdict()["problem"] is None
    assert view.host == b"x"
    assert view.query == (("a", "1"),)


@pytest.fixture
def fast_client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_fast_path_failing_before_it_sends_is_a_problem_500(
    fast_client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fast_client.get(DETAIL)
    assert first.status_code == 200
    etag = first.headers["etag"]
    app: Any = fast_client.app
    delivery = app.fast_path.delivery

    def broken(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(delivery, "respond", broken)
    hits = delivery.hits
    for headers in ({}, {"If-None-Match": etag}):
        failed = fast_client.get(DETAIL, headers={**headers, "X-Request-ID": "f-broken"})
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers["x-request-id"] == "f-broken"
        assert failed.headers["x-content-type-options"] == "nosniff"
    monkeypatch.undo()
    assert fast_client.get(DETAIL, headers={"If-None-Match": etag}).status_code == 304
    assert delivery.hits == hits + 3  # counted when looked up, the failed ones included


def test_an_answer_that_says_no_store_is_never_prepared(settings: Settings) -> None:
    """The opt-out (`preparable`): a handler's answer for one client alone (a preview,
    say) reaches the client as it came, and the framework is asked again every time."""
    import asyncio

    from api.http.delivery import Delivery
    from api.http.prepared import preparable

    assert preparable(200, [(b"content-type", b"application/json")])
    assert not preparable(200, [(b"Cache-Control", b"private, No-Store")])
    assert not preparable(404, [])
    calls = []

    async def handler(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        cache = b"no-store" if scope["path"] == "/v1/preview" else b"public"
        headers = [(b"content-type", b"application/json"), (b"cache-control", cache)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    delivery = Delivery(handler, settings)

    async def get(path: str) -> tuple[int, dict[bytes, bytes]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"host", b"clinic.test")]}  # fmt: skip
        await delivery(scope, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def run() -> None:
        for _ in range(3):
            status, headers = await get("/v1/preview")
            assert status == 200
            assert headers[b"cache-control"] == b"no-store"
            assert b"etag" not in headers
            _, shared = await get("/v1/shared")
            assert b"etag" in shared

    asyncio.run(run())
    asyncio.run(delivery.close())
    assert calls.count("/v1/preview") == 3
    assert calls.count("/v1/shared") == 1  # prepared once, then given from prepared bytes
