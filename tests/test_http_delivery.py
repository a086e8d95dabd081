"""HTTP behaviour of the delivery layer against a real server: validators, 304s, HEAD,
Vary, compression, errors and a new build going live."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import brotli
import httpx
import pytest

from api.build import build
from tests.support import CONTENT, Server, build_db

DETAIL = "/v1/articles/ketamine-for-crps"
LIST = "/v1/articles"


def raw_get(url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """GET without httpx decoding the body, so the bytes on the wire can be checked."""
    with httpx.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.fixture(scope="module")
def plain(server: Server) -> httpx.Response:
    response = httpx.get(server.url + DETAIL, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    return response


def test_get_carries_strong_etag_cache_control_last_modified_and_vary(
    plain: httpx.Response,
) -> None:
    etag = plain.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert plain.headers["cache-control"] == (
        "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"
    )
    assert parsedate_to_datetime(plain.headers["last-modified"]).tzinfo is not None
    assert "Accept-Encoding" in plain.headers["vary"]
    assert "content-encoding" not in plain.headers


@pytest.mark.parametrize("path", [LIST, DETAIL, "/v1/faqs?topic=about-crps", "/v1/site",
                                  "/docs/openapi.json"])  # fmt: skip
def test_every_get_is_validated_and_revalidates_to_304(server: Server, path: str) -> None:
    first = httpx.get(server.url + path)
    assert first.status_code == 200
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = httpx.get(server.url + path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["vary"] == first.headers["vary"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    # RFC 9110, 15.4.5: what a cache needs to update its stored 200, and nothing else: not
    # Last-Modified (there is an ETag), Content-Language or the security headers.
    assert set(again.headers) == NOT_MODIFIED_HEADERS


#: The fields of a 304 from a server without rate limits (they add the RateLimit-* fields).
NOT_MODIFIED_HEADERS = {"etag", "cache-control", "vary", "date", "x-request-id"}


def test_a_304_from_a_replica_that_never_prepared_the_answer(
    server: Server, built_db: Path
) -> None:
    """A client's validator from one replica, first seen by another: that 304 is made by
    the layers, not by the fast path, and carries the same fields."""
    first = httpx.get(server.url + DETAIL)
    replica = Server(built_db).start()
    try:
        again = httpx.get(replica.url + DETAIL, headers={"If-None-Match": first.headers["etag"]})
    finally:
        replica.stop()
    assert again.status_code == 304
    assert set(again.headers) == NOT_MODIFIED_HEADERS
    assert again.headers["etag"] == first.headers["etag"]


def test_etag_is_the_same_for_the_same_bytes(server: Server, plain: httpx.Response) -> None:
    again = httpx.get(server.url + DETAIL, headers={"Accept-Encoding": "identity"})
    assert again.headers["etag"] == plain.headers["etag"]
    assert again.content == plain.content


@pytest.mark.parametrize(
    "header",
    [
        "{tag}",
        "W/{tag}",
        '"nope", {tag}',
        '"nope",{tag} , "other"',
        "*",
    ],
)
def test_if_none_match_lists_weak_comparison_and_star(
    server: Server, plain: httpx.Response, header: str
) -> None:
    value = header.format(tag=plain.headers["etag"])
    response = httpx.get(
        server.url + DETAIL, headers={"If-None-Match": value, "Accept-Encoding": "identity"}
    )
    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("header", ['"nope"', 'W/"nope", "other"', "garbage"])
def test_if_none_match_that_does_not_match_gets_the_body(
    server: Server, plain: httpx.Response, header: str
) -> None:
    response = httpx.get(
        server.url + DETAIL, headers={"If-None-Match": header, "Accept-Encoding": "identity"}
    )
    assert response.status_code == 200
    assert response.content == plain.content


def test_if_modified_since(server: Server, plain: httpx.Response) -> None:
    last_modified = plain.headers["last-modified"]
    url = server.url + DETAIL
    assert httpx.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert httpx.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    assert httpx.get(url, headers={"If-Modified-Since": "yesterday"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
    both = {"If-None-Match": '"nope"', "If-Modified-Since": last_modified}
    assert httpx.get(url, headers=both).status_code == 200


@pytest.mark.parametrize("path", [LIST, DETAIL, "/v1/site", "/health", "/v1/articles/nope"])
def test_head_works_wherever_get_does(server: Server, path: str) -> None:
    for encoding in ("identity", "br"):
        headers = {"Accept-Encoding": encoding}
        got, got_body = raw_get(server.url + path, **headers)
        head = httpx.head(server.url + path, headers=headers)
        assert head.status_code == got.status_code
        assert head.content == b""
        assert head.headers["content-length"] == str(len(got_body))
        for name in ("etag", "content-type", "content-encoding", "cache-control", "vary"):
            assert head.headers.get(name) == got.headers.get(name)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("*", "br"),
        ("*;q=0, gzip;q=0.2", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("deflate", None),
    ],
)
def test_compression_follows_accept_encoding(
    server: Server, plain: httpx.Response, accept: str, expected: str | None
) -> None:
    response, body = raw_get(server.url + DETAIL, **{"Accept-Encoding": accept})
    assert response.headers.get("content-encoding") == expected
    assert response.headers["content-length"] == str(len(body))
    if expected == "gzip":
        body = gzip.decompress(body)
    elif expected == "br":
        body = brotli.decompress(body)
    assert body == plain.content
    assert "Accept-Encoding" in response.headers["vary"]


def test_each_coding_has_its_own_etag_and_revalidates(server: Server) -> None:
    tags = {}
    for coding in ("identity", "gzip", "br"):
        response, _ = raw_get(server.url + DETAIL, **{"Accept-Encoding": coding})
        tags[coding] = response.headers["etag"]
        revalidated = httpx.get(
            server.url + DETAIL,
            headers={"Accept-Encoding": coding, "If-None-Match": tags[coding]},
        )
        assert revalidated.status_code == 304
        assert revalidated.headers["etag"] == tags[coding]
    assert len(set(tags.values())) == 3


def test_small_bodies_are_not_compressed(server: Server) -> None:
    response, body = raw_get(
        server.url + "/v1/faqs?limit=1&fields=slug", **{"Accept-Encoding": "br"}
    )
    assert response.status_code == 200
    assert len(body) < 1024
    assert "content-encoding" not in response.headers


def test_query_order_does_not_matter(server: Server) -> None:
    a = httpx.get(server.url + "/v1/faqs?limit=2&sort=-order")
    b = httpx.get(server.url + "/v1/faqs?sort=-order&limit=2")
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    assert a.headers["etag"] == b.headers["etag"]


def test_prepared_list_keeps_its_link_header(server: Server) -> None:
    url = server.url + "/v1/faqs?limit=2"
    first, second = httpx.get(url), httpx.get(url)
    assert first.headers["link"].endswith('rel="next"')
    assert second.headers["link"] == first.headers["link"]
    cursor = first.json()["meta"]["next_cursor"]
    assert f"cursor={cursor}" in first.headers["link"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/articles/nope", 404), ("/v1/articles?limit=0", 400), ("/v1/articles?colour=red", 400)],
)
def test_errors_are_problems_and_never_cached(server: Server, path: str, status: int) -> None:
    httpx.get(server.url + "/v1/articles")  # the neighbouring success is prepared
    for _ in range(2):
        response = httpx.get(server.url + path, headers={"Accept-Encoding": "br"})
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers
        assert response.json()["status"] == status


def test_other_methods_are_refused_with_a_problem(server: Server) -> None:
    response = httpx.post(server.url + LIST)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert "HEAD" in response.headers["allow"]


def test_replicas_built_from_the_same_content_agree(server: Server, tmp_path: Path) -> None:
    replica = Server(build_db(CONTENT, tmp_path / "replica.db")).start()
    try:
        for path in (LIST, DETAIL, "/v1/faqs?topic=about-crps", "/v1/site"):
            for coding in ("identity", "gzip", "br"):
                ours, _ = raw_get(server.url + path, **{"Accept-Encoding": coding})
                theirs, _ = raw_get(replica.url + path, **{"Accept-Encoding": coding})
                assert ours.headers["etag"] == theirs.headers["etag"], (path, coding)
    finally:
        replica.stop()


@pytest.fixture
def live(
    content_copy: Path, tmp_path: Path, starts_server: None
) -> Iterator[tuple[Server, Path, Path]]:
    db = build_db(content_copy, tmp_path / "live.db")
    srv = Server(db, content_copy).start()
    yield srv, content_copy, db
    srv.stop()


def test_a_new_build_changes_etags_and_bodies_at_once(live: tuple[Server, Path, Path]) -> None:
    srv, content, db = live
    paths = (DETAIL, LIST, "/v1/site")
    before = {p: httpx.get(srv.url + p, headers={"Accept-Encoding": "br"}) for p in paths}
    assert before[DETAIL].json()["title"].startswith("Ketamine for CRPS")

    # A rebuild that changes nothing keeps every validator.
    asyncio.run(build(content, db))
    for path in paths:
        assert (
            httpx.get(srv.url + path, headers={"Accept-Encoding": "br"}).headers["etag"]
            == before[path].headers["etag"]
        )

    source = content / "articles" / "ketamine-for-crps.md"
    text = source.read_text(encoding="utf-8")
    # The editor dates the change: Last-Modified is the content's own date.
    edited = text.replace('title: "Ketamine for CRPS:', 'title: "Ketamine and CRPS:', 1)
    edited = edited.replace("updated_at: 2026-11-02T10:30:00Z", "updated_at: 2026-11-20T08:00:00Z")
    source.write_text(edited, encoding="utf-8")
    asyncio.run(build(content, db))

    after = {p: httpx.get(srv.url + p, headers={"Accept-Encoding": "br"}) for p in paths}
    assert after[DETAIL].json()["title"].startswith("Ketamine and CRPS:")
    titles = [a["title"] for a in after[LIST].json()["data"]]
    assert any(t.startswith("Ketamine and CRPS:") for t in titles)
    assert after["/v1/site"].json()["content_hash"] != before["/v1/site"].json()["content_hash"]
    for path in paths:
        assert after[path].headers["etag"] != before[path].headers["etag"], path
        stale = httpx.get(
            srv.url + path,
            headers={"Accept-Encoding": "br", "If-None-Match": before[path].headers["etag"]},
        )
        assert stale.status_code == 200, path
    assert after[DETAIL].headers["last-modified"] == "Fri, 20 Nov 2026 08:00:00 GMT"
    assert parsedate_to_datetime(after[DETAIL].headers["last-modified"]) > parsedate_to_datetime(
        before[DETAIL].headers["last-modified"]
    )
    # The list's is its newest item's; the site's, the newest of the whole content.
    assert after[LIST].headers["last-modified"] == "Fri, 20 Nov 2026 08:00:00 GMT"
    # The old Last-Modified no longer validates.
    since = {"If-Modified-Since": before[DETAIL].headers["last-modified"]}
    assert httpx.get(srv.url + DETAIL, headers=since).status_code == 200


def test_liveness_readiness_and_the_docs_page_are_never_cached(server: Server) -> None:
    for path in ("/health", "/ready", "/docs"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers


def test_large_streamed_asset_is_prepared_and_compressed(server: Server) -> None:
    url = server.url + "/docs/assets/swagger-ui-bundle.js"
    plain_response, plain_body = raw_get(url, **{"Accept-Encoding": "identity"})
    assert plain_response.status_code == 200
    assert len(plain_body) > 100_000
    for _ in range(2):
        response, body = raw_get(url, **{"Accept-Encoding": "br"})
        assert response.headers["content-encoding"] == "br"
        assert brotli.decompress(body) == plain_body


def test_answers_are_kept_per_negotiated_language(server: Server) -> None:
    url = server.url + "/v1/faqs/what-is-ketamine"
    spanish = httpx.get(url, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.8"})
    also_spanish = httpx.get(url, headers={"Accept-Language": "es"})
    english = httpx.get(url, headers={"Accept-Language": "en-GB"})
    default = httpx.get(url)
    assert spanish.json()["locale"] == also_spanish.json()["locale"] == "es"
    assert english.json()["locale"] == default.json()["locale"] == "en"
    assert spanish.headers["etag"] == also_spanish.headers["etag"]
    assert english.headers["etag"] == default.headers["etag"] != spanish.headers["etag"]
    assert "Accept-Language" in spanish.headers["vary"]
    assert spanish.headers["content-language"] == "es"
    revalidated = httpx.get(
        url, headers={"Accept-Language": "es", "If-None-Match": english.headers["etag"]}
    )
    assert revalidated.status_code == 200
    assert revalidated.json()["locale"] == "es"
