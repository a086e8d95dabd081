"""Hostile requests against real servers, each the reproduction of an attack that once
gave a wrong answer: bare 500s outside the framework, odd asset and /docs paths, forged
cursors, forged log lines, loose integers, date-times and slugs, and validators
(If-Match, If-Unmodified-Since) that were dropped unevaluated.

Requests go over raw sockets wherever an HTTP client would normalise them (a `%00` or
`%0a` in the path, an invalid date, a repeated header), so the server sees exactly the
bytes an attacker sends.
"""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support import CONTENT, Server, build_db

DETAIL = "/v1/articles/ketamine-for-crps"
SECURITY_HEADERS = ("x-content-type-options", "content-security-policy", "x-frame-options")
FORGED = '{"ts":"forged"'


class Reply(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]

    def json(self) -> Any:
        return json.loads(self.body)


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        if length == 0:
            break
        out += rest[:length]
        body = rest[length + 2 :]
    return out


def send(
    server: Server, target: str, headers: list[tuple[str, str]] | None = None, method: str = "GET"
) -> Reply:
    """One request with exactly these bytes (header values as Latin-1) on a new connection."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    data = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = [
        (n.strip().lower(), v.strip()) for n, _, v in (h.partition(":") for h in header_lines)
    ]
    reply = Reply(int(status_line.split()[1]), parsed, body)
    if reply.header("transfer-encoding") == "chunked":
        reply = reply._replace(body=_dechunk(body))
    return reply


def assert_problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.header("content-type") == "application/problem+json"
    for name in SECURITY_HEADERS:
        assert reply.header(name), f"no {name}"
    assert reply.header("x-request-id")
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    return body


def assert_names(reply: Reply, name: str) -> None:
    body = assert_problem(reply, 400)
    assert [p["name"] for p in body["invalid_params"]] == [name], body


def lines_of(server: Server) -> list[str]:
    return server.log().split("\n")


def access_line(server: Server, request_id: str) -> dict[str, Any]:
    """The access-log line of one request (written within a loop turn of its answer)."""
    for _ in range(50):
        for line in lines_of(server):
            if line.startswith("{") and f'"request_id":"{request_id}"' in line:
                entry: dict[str, Any] = json.loads(line)
                if entry["event"] == "request":
                    return entry
        time.sleep(0.05)
    raise AssertionError(f"no access line for {request_id}")


def all_error_lines(server: Server) -> list[dict[str, Any]]:
    """The error log's entries: one line each, a JSON object after the logger's prefix."""
    found = []
    for line in lines_of(server):
        start = line.find('{"ts"')
        if start >= 0 and '"event":"error"' in line:
            found.append(json.loads(line[start:]))
    return found


def error_lines(server: Server, request_id: str) -> list[dict[str, Any]]:
    """The error-log entries of one request, waiting a little for the first: the logger
    writes it after the answer has gone out."""
    for _ in range(50):
        found = [e for e in all_error_lines(server) if e["request_id"] == request_id]
        if found:
            return found
        time.sleep(0.05)
    return []


def assert_no_forged_line(server: Server) -> None:
    forged = [line for line in lines_of(server) if line.startswith(FORGED)]
    assert not forged, forged


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unb64(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


# Bare 500s outside the framework.


@pytest.mark.parametrize(
    "since",
    [
        "Fri, 01 Jan 2100 00:00:00 +99999999999999999999",
        "Fri, 01 Jan 2100 00:00:00 -99999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "Mon, 99 Foo 99999999999 99:99:99 GMT",
        # Dates to come, so a reader that took them would answer 304.
        "Fri, 31 Dec 9999 23:59:59 +0000",
        "Fri, 31 Dec 9999 23:59:59 GMT, Sat, 01 Jan 2000 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59",
    ],
)
def test_an_invalid_if_modified_since_is_ignored(server: Server, since: str) -> None:
    """RFC 9110, 13.1.3: a recipient ignores an If-Modified-Since that is not a valid date.
    The first request prepares its answer, the second is given the prepared one."""
    target = f"/v1/symptoms?limit={3 + len(since) % 7}&sort=title"
    for _ in range(2):
        reply = send(server, target, [("If-Modified-Since", since)])
        assert reply.status == 200, reply.body[:300]
        assert reply.header("etag")
        assert reply.json()["data"]


def issued_offset_cursor(server: Server, path: str) -> str:
    reply = send(server, f"{path}?q=ketamine&limit=1")
    cursor: str = reply.json()["meta"]["next_cursor"]
    assert cursor
    return cursor


@pytest.mark.parametrize("path", ["/v1/search"])
@pytest.mark.parametrize("offset", [2**63, 2**63 + 1, 2**64, 10**30, -1])
def test_a_forged_search_cursor_out_of_range_is_a_400_naming_cursor(
    server: Server, path: str, offset: int
) -> None:
    """The cursor is the issued one (it pages the same query), with only its offset changed."""
    fingerprint, _ = unb64(issued_offset_cursor(server, path))
    reply = send(server, f"{path}?q=ketamine&limit=1&cursor={b64([fingerprint, offset])}")
    assert_names(reply, "cursor")


def test_the_largest_search_offset_is_an_empty_page(server: Server) -> None:
    fingerprint, _ = unb64(issued_offset_cursor(server, "/v1/search"))
    cursor = b64([fingerprint, 2**63 - 1])
    reply = send(server, f"/v1/search?q=ketamine&limit=1&cursor={cursor}")
    assert reply.status == 200
    assert reply.json()["data"] == []


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_a_forged_list_cursor_out_of_range_is_a_400_naming_cursor(
    server: Server, value: int
) -> None:
    cursor = send(server, "/v1/articles?limit=1&sort=-published_at").json()["meta"]["next_cursor"]
    sort, _, slug = unb64(cursor)
    reply = send(
        server, f"/v1/articles?limit=1&sort=-published_at&cursor={b64([sort, value, slug])}"
    )
    assert_names(reply, "cursor")


@pytest.mark.parametrize("revision", [2**63, 2**64, 10**30, -1])
def test_a_forged_sync_cursor_out_of_range_is_a_400_naming_cursor(
    server: Server, revision: int
) -> None:
    lineage, _, instant = unb64(send(server, "/v1/sync?limit=1").json()["meta"]["next_cursor"])
    assert_names(send(server, f"/v1/sync?cursor={b64([lineage, revision, instant])}"), "cursor")
    # A cursor from before cursors carried an instant is read alike.
    assert_names(send(server, f"/v1/sync?cursor={b64([lineage, revision])}"), "cursor")
    # The instant is bounded too.
    forged = b64([lineage, 0, revision])
    assert_names(send(server, f"/v1/sync?cursor={forged}"), "cursor")


@pytest.mark.parametrize(
    "target",
    [
        "/docs/assets/swagger-ui.css%00.png",
        "/docs/assets/swagger-ui.css/x",
        "/docs/assets/" + "a" * 300,
        "/docs/assets/" + "a" * 5000,
        "/docs/assets/",
        "/docs/assets/..%2f..%2fapi%2fapp.py",
        "/docs/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/docs/assets/swagger-ui.css%0a",
        "/docs/assets/.",
    ],
)
def test_odd_asset_paths_are_404_problems(server: Server, target: str) -> None:
    for method in ("GET", "HEAD"):
        reply = send(server, target, method=method)
        assert reply.status == 404, (target, method, reply.status)
        assert reply.header("content-type") == "application/problem+json"
        assert reply.header("x-content-type-options") == "nosniff"
    assert_problem(send(server, target), 404)


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui-standalone-preset.js", "text/javascript"),
        ("favicon-32x32.png", "image/png"),
    ],
)
def test_the_docs_assets_are_still_served(server: Server, name: str, media_type: str) -> None:
    reply = send(server, f"/docs/assets/{name}")
    assert reply.status == 200
    assert (reply.header("content-type") or "").startswith(media_type)
    assert reply.body == (CONTENT.parent / "api" / "static" / "swagger-ui" / name).read_bytes()
    etag = reply.header("etag")
    assert etag
    assert send(server, f"/docs/assets/{name}", [("If-None-Match", etag)]).status == 304
    head = send(server, f"/docs/assets/{name}", method="HEAD")
    assert head.status == 200
    assert head.body == b""


@pytest.mark.parametrize(
    "target",
    [
        "/docs/redoc",
        "/docs/whatever",
        "/docs/oauth2-redirect.html",
        "/docs/openapi.yaml",
        "/docs/elements",
        "/docs/rapidoc",
        "/docs/swagger",
        "/docs/%0a",
    ],
)
def test_every_docs_error_is_a_problem_and_unused_pages_are_off(
    server: Server, target: str
) -> None:
    assert_problem(send(server, target), 404)


def test_the_docs_page_and_the_document_are_still_served(server: Server) -> None:
    for target in ("/docs", "/docs/"):
        page = send(server, target)
        assert page.status == 200
        assert b"swagger-ui-bundle.js" in page.body
        assert b"oauth2" not in page.body.lower().replace(b"initoauth", b"")
    document = send(server, "/docs/openapi.json")
    assert document.status == 200
    assert document.json()["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/docs/assets/swagger-ui.css"),
        ("DELETE", "/docs/assets/favicon-32x32.png"),
        ("PUT", "/v1/faqs"),
        ("POST", DETAIL),
        ("PATCH", "/docs/openapi.json"),
        ("POST", "/health"),
    ],
)
def test_a_405_lists_each_allowed_method_once(server: Server, method: str, target: str) -> None:
    reply = send(server, target, method=method)
    assert_problem(reply, 405)
    allowed = [m.strip() for value in reply.all("allow") for m in value.split(",")]
    assert len(allowed) == len(set(allowed)), allowed
    assert {"GET", "HEAD"} <= set(allowed)


# The error log.


@pytest.fixture(scope="module")
def log_server(built_db: Path, starts_server: None) -> Iterator[Server]:
    """A server of its own, so its log holds only this module's requests."""
    srv = Server(built_db).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "target",
    [
        "/docs/assets/swagger-ui.css%00%0a" + FORGED.replace('"', "%22") + "%7D",
        "/v1/articles%0a" + FORGED.replace('"', "%22") + "%7D",
        "/nowhere%0d%0a" + FORGED.replace('"', "%22") + "%7D",
        "/v1/articles/x%E2%80%A8" + FORGED.replace('"', "%22") + "%7D",
    ],
)
def test_a_newline_in_the_path_cannot_forge_a_log_line(log_server: Server, target: str) -> None:
    reply = send(log_server, target)
    assert reply.status in (400, 404), reply.body[:300]
    rid = reply.header("x-request-id")
    assert rid
    assert access_line(log_server, rid)["status"] == reply.status
    assert_no_forged_line(log_server)


@pytest.fixture(scope="module")
def broken_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_db(CONTENT, tmp_path_factory.mktemp("broken") / "clinic.db")


@pytest.fixture(scope="module")
def broken_server(broken_db: Path, starts_server: None) -> Iterator[Server]:
    srv = Server(broken_db).start()
    yield srv
    srv.stop()


def break_site(db: Path, n: int) -> None:
    """Commit a new content fingerprint whose site settings are not JSON, as a damaged
    database would have: the delivery layer reads them when it sees the new content, in
    front of the framework, for the next GET or HEAD it would prepare (fast path first)."""
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE meta SET value = '{not json' WHERE key = 'site'")
        connection.execute("UPDATE meta SET value = ? WHERE key = 'content_hash'", (f"x{n}",))


def test_a_failure_in_a_layer_is_a_logged_problem_500(
    broken_server: Server, broken_db: Path
) -> None:
    target = "/v1/articles%0a" + FORGED.replace('"', "%22") + "%7D"
    for n, method in enumerate(("GET", "HEAD")):
        break_site(broken_db, n)
        reply = send(broken_server, target, [("X-Request-ID", f"probe-{method}")], method)
        assert reply.status == 500
        assert reply.header("content-type") == "application/problem+json"
        assert reply.header("cache-control") == "no-store"
        for name in SECURITY_HEADERS:
            assert reply.header(name), name
        assert reply.header("x-request-id") == f"probe-{method}"
        line = access_line(broken_server, f"probe-{method}")
        assert line["status"] == 500
        assert line["method"] == method
        assert line["path"] == '/v1/articles\n{"ts":"forged"}'
    break_site(broken_db, 2)
    problem = send(broken_server, "/v1/site").json()
    assert problem["status"] == 500
    assert problem["detail"] == "The server could not answer this request."
    assert "Traceback" not in json.dumps(problem)
    errors = error_lines(broken_server, "probe-GET")
    assert len(errors) == 1
    assert errors[0]["path"] == '/v1/articles\n{"ts":"forged"}'
    assert "JSONDecodeError" in errors[0]["error"]
    assert "Traceback" in errors[0]["traceback"]
    assert_no_forged_line(broken_server)
    metrics = send(broken_server, "/metrics").body.decode()
    assert 'clinic_http_requests_total{method="GET",route="<unmatched>",status="500"}' in metrics
    # The delivery layer has now read this revision; the framework's handler fails next, on
    # the same settings, and its failure is answered and logged the same way.
    inside = send(broken_server, "/v1/site?locale=en", [("X-Request-ID", "probe-handler")])
    assert_problem(inside, 500)
    assert inside.json()["detail"] == "The server could not answer this request."
    assert access_line(broken_server, "probe-handler")["route"] == "/v1/site"
    handler_errors = error_lines(broken_server, "probe-handler")
    assert len(handler_errors) == 1
    assert "DecodeError" in handler_errors[0]["error"]


@pytest.fixture(scope="module")
def failing_server(built_db: Path, starts_server: None) -> Iterator[Server]:
    srv = Server(built_db)
    srv.command = lambda: [  # type: ignore[method-assign]
        sys.executable, "-m", "uvicorn", "tests.failing_app:app", "--host", "127.0.0.1",
        "--port", str(srv.port), "--no-server-header", "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(("method", "target"), [("GET", "/v1/articles"), ("POST", "/x%0ay"),
                                                ("HEAD", DETAIL), ("GET", "/docs")])  # fmt: skip
def test_an_exception_inside_the_layers_is_a_problem_500(
    failing_server: Server, method: str, target: str
) -> None:
    rid = f"inject-{method}-{len(target)}"
    reply = send(failing_server, target, [("X-Request-ID", rid)], method)
    assert reply.status == 500
    assert reply.header("content-type") == "application/problem+json"
    for name in SECURITY_HEADERS:
        assert reply.header(name), name
    assert reply.header("x-request-id") == rid
    if method != "HEAD":
        assert reply.json()["detail"] == "The server could not answer this request."
    line = access_line(failing_server, rid)
    assert (line["status"], line["method"]) == (500, method)
    assert line["bytes"] == len(reply.body)
    errors = error_lines(failing_server, rid)
    assert len(errors) == 1
    # The exception's own text, newline and all, stays inside the one line.
    assert errors[0]["error"].startswith("RuntimeError: injected failure\n{")
    assert_no_forged_line(failing_server)


def test_an_exception_after_the_response_began_is_logged_and_closes_it(
    failing_server: Server,
) -> None:
    reply = send(failing_server, "/after-start", [("X-Request-ID", "after-start")], "POST")
    assert reply.status == 200  # already on its way: nothing else can be said
    assert len(error_lines(failing_server, "after-start")) == 1
    assert access_line(failing_server, "after-start")["status"] == 200
    assert "Exception in ASGI application" not in failing_server.log()
    assert_no_forged_line(failing_server)


# Strict input.

INTEGER_PARAMETERS = [
    ("/v1/articles", "limit"),
    ("/v1/faqs", "limit"),
    ("/v1/search?q=crps", "limit"),
    ("/v1/sync", "limit"),
    ("/v1/feeds/articles.json", "limit"),
    ("/v1/feeds/articles.atom", "limit"),
]


@pytest.mark.parametrize(("path", "name"), INTEGER_PARAMETERS)
@pytest.mark.parametrize(
    "value", ["1e2", "2.0", "%2B5", "%D9%A5", "5%0a", "%205", "0x10", "1_0", ""]
)
def test_integers_are_integers(server: Server, path: str, name: str, value: str) -> None:
    joiner = "&" if "?" in path else "?"
    assert_names(send(server, f"{path}{joiner}{name}={value}"), name)


def test_a_plain_integer_still_passes(server: Server) -> None:
    for path, name in INTEGER_PARAMETERS:
        joiner = "&" if "?" in path else "?"
        assert send(server, f"{path}{joiner}{name}=2").status == 200, path


DATE_TIMES = [
    ("/v1/articles", "updated_since"),
    ("/v1/articles", "published_since"),
    ("/v1/faqs", "updated_since"),
    ("/v1/feeds/articles.rss", "published_since"),
    ("/v1/feeds/articles.json", "updated_since"),
]


@pytest.mark.parametrize(("path", "name"), DATE_TIMES)
@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T09:00:00Z%0a",
        "2026-01-31T09:00:00Z%0d",
        "2026-01-31T09:00:00Z%20",
        "%D9%A2026-01-31T09:00:00Z",
        "2026-01-31T09:00:%D9%A0%D9%A0Z",
        "2026-01-31T09:00:00%2B99:99",
        "2026-01-31T09:00:00%2B24:00",
        "2026-01-31T09:00:00-00:60",
        "2026-01-31T09:00:00.%D9%A1Z",
        "2026-02-30T09:00:00Z",
        "2026-01-31",
    ],
)
def test_date_times_are_exactly_rfc_3339(server: Server, path: str, name: str, value: str) -> None:
    assert_names(send(server, f"{path}?{name}={value}"), name)


def test_valid_date_times_still_pass(server: Server) -> None:
    for value in ("2026-01-31T09:00:00Z", "2026-01-31t09:00:00.123z", "2026-01-31T09:00:00%2B23:59",
                  "2026-01-31T09:00:00-23:59", "1990-12-31T23:59:60Z"):  # fmt: skip
        for path, name in DATE_TIMES:
            assert send(server, f"{path}?{name}={value}").status == 200, (path, name, value)


@pytest.mark.parametrize(
    "target",
    [
        "/v1/articles?condition=crps%0a",
        "/v1/articles?tag=crps%0a",
        "/v1/faqs?topic=about-crps%0a",
        "/v1/search?q=crps&topic=about-crps%0a",
        "/v1/conditions/crps%0a",
        "/v1/articles/ketamine-for-crps%0a",
        "/v1/faq-topics/about-crps%0a",
        "/v1/conditions?locale=en%0a",
        "/v1/articles?fields=title%0a",
    ],
)
def test_patterns_match_the_whole_value(server: Server, target: str) -> None:
    reply = send(server, target)
    assert reply.status in (400, 404), (target, reply.status)
    assert_problem(reply, reply.status)


# If-Match and If-Unmodified-Since on GET and HEAD (RFC 9110, 13.1.1, 13.1.4, 13.2.2).


@pytest.fixture(scope="module")
def validators(server: Server) -> tuple[str, str]:
    reply = send(server, DETAIL)
    etag, last_modified = reply.header("etag"), reply.header("last-modified")
    assert etag
    assert last_modified
    return etag, last_modified


def _fresh(n: int) -> str:
    """A URL not asked for before: its first answer is prepared, the second is not."""
    return f"/v1/conditions?limit={n}&sort=-updated_at&fields=title"


PRECONDITIONS: list[tuple[list[tuple[str, str]], int]] = [
    ([("If-Match", '"nope"')], 412),
    ([("If-Match", "{etag}")], 200),
    ([("If-Match", '"nope", {etag}')], 200),
    ([("If-Match", '"nope"'), ("If-Match", "{etag}")], 200),
    ([("If-Match", "*")], 200),
    ([("If-Match", "W/{etag}")], 412),  # weak tags never match If-Match
    ([("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")], 412),
    ([("If-Unmodified-Since", "{last_modified}")], 200),
    ([("If-Unmodified-Since", "Fri, 01 Jan 2100 00:00:00 +99999999999999999999")], 200),
    # If-Match wins over If-Unmodified-Since, and both over If-None-Match.
    ([("If-Match", "{etag}"), ("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")], 200),
    ([("If-Match", '"nope"'), ("If-None-Match", "{etag}")], 412),
    ([("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"), ("If-None-Match", "{etag}")], 412),
    ([("If-Match", "{etag}"), ("If-None-Match", "{etag}")], 304),
]


@pytest.mark.parametrize(("headers", "status"), PRECONDITIONS)
def test_if_match_and_if_unmodified_since_are_evaluated(
    server: Server, headers: list[tuple[str, str]], status: int
) -> None:
    n = 1 + PRECONDITIONS.index((headers, status))
    target = _fresh(n)
    plain = send(server, target)
    etag, last_modified = plain.header("etag"), plain.header("last-modified")
    assert etag
    assert last_modified
    sent = [(k, v.format(etag=etag, last_modified=last_modified)) for k, v in headers]
    for method in ("GET", "HEAD", "GET"):
        reply = send(server, target, sent, method)
        assert reply.status == status, (method, sent, reply.status)
        if status == 412:
            assert reply.header("content-type") == "application/problem+json"
            assert reply.header("cache-control") == "no-store"
            assert reply.header("x-content-type-options") == "nosniff"
            assert reply.body == b"" if method == "HEAD" else reply.json()["status"] == 412


def test_if_match_is_evaluated_on_the_first_answer_too(
    server: Server, validators: tuple[str, str]
) -> None:
    """The first request of a URL is prepared by the framework; it is judged the same way."""
    for n, method in enumerate(("GET", "HEAD")):
        reply = send(server, f"/v1/treatments?limit={40 + n}", [("If-Match", '"nope"')], method)
        assert reply.status == 412
        assert send(server, f"/v1/treatments?limit={40 + n}", method=method).status == 200
