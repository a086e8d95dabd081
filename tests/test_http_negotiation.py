from __future__ import annotations

import pytest

from api.http.negotiation import (
    allow_with_head,
    etag_matches,
    http_date_seconds,
    precondition_status,
    preferred_codings,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ("identity",)),
        (b"", ("identity",)),
        (b"gzip", ("gzip", "identity")),
        (b"gzip, deflate, br, zstd", ("br", "gzip", "identity")),
        (b"gzip;q=1.0, br;q=0.8", ("gzip", "br", "identity")),
        (b"br;q=0, gzip;q=0.5", ("gzip", "identity")),
        (b"identity;q=0, gzip", ("gzip", "identity")),
        (b"*", ("br", "gzip", "identity")),
        (b"*;q=0", ("identity",)),
        (b"BR;Q=0.5, x-gzip", ("gzip", "br", "identity")),
        (b"gzip;q=abc, br", ("br", "identity")),
    ],
)
def test_preferred_codings(header: bytes | None, expected: tuple[str, ...]) -> None:
    assert preferred_codings(header) == expected


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (b'"abc"', True),
        (b'W/"abc"', True),
        (b'"x", "abc"', True),
        (b'"x",W/"abc"', True),
        (b"*", True),
        (b'"abcd"', False),
        (b"abc", False),
        (b'"x", "y"', False),
    ],
)
def test_etag_matches(header: bytes, matches: bool) -> None:
    assert etag_matches(header, b"abc") is matches


def test_http_dates() -> None:
    assert http_date_seconds(b"Thu, 01 Jan 1970 00:00:10 GMT") == 10
    assert http_date_seconds(b"Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert http_date_seconds(b"not a date") is None
    assert http_date_seconds(b"Sun Nov  6 08:49:37 1994") == 784111777  # asctime
    assert http_date_seconds(b" Sun, 06 Nov 1994 08:49:37 GMT ") == 784111777
    assert http_date_seconds(b"Sat, 31 Dec 2016 23:59:60 GMT") == 1483228799  # leap second


@pytest.mark.parametrize(
    "value",
    [
        b"Fri, 01 Jan 2100 00:00:00 +99999999999999999999",  # raised OverflowError once
        b"Fri, 31 Dec 9999 23:59:59 +0000",  # an HTTP-date is GMT
        b"Fri, 31 Dec 9999 23:59:59 -2359",
        b"Sun, 31 Feb 2026 00:00:00 GMT",
        b"Sun, 06 Nov 1994 25:00:00 GMT",
        b"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        "Sun, \u06606 Nov 1994 08:49:37 GMT".encode(),
        b"Sun, 06 Nov 1994 08:49:37 GMT\n",
        b"",
    ],
)
def test_what_is_not_an_http_date_is_none(value: bytes) -> None:
    assert http_date_seconds(value) is None


TAG = b"abc"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),
        ({"if_match": b'"abc"'}, 200),
        ({"if_match": b'"x", "abc"'}, 200),
        ({"if_match": b"*"}, 200),
        ({"if_match": b'W/"abc"'}, 412),
        ({"if_match": b'"x"'}, 412),
        ({"if_unmodified_since": b"Thu, 01 Jan 1970 00:00:10 GMT"}, 200),
        ({"if_unmodified_since": b"Thu, 01 Jan 1970 00:00:09 GMT"}, 412),
        ({"if_unmodified_since": b"yesterday"}, 200),
        ({"if_match": b'"abc"', "if_unmodified_since": b"Thu, 01 Jan 1970 00:00:00 GMT"}, 200),
        ({"if_match": b'"x"', "if_none_match": b'"abc"'}, 412),
        ({"if_match": b'"abc"', "if_none_match": b'"abc"'}, 304),
        ({"if_none_match": b'W/"abc"'}, 304),
        ({"if_none_match": b'"x"', "if_modified_since": b"Thu, 01 Jan 1970 00:00:10 GMT"}, 200),
        ({"if_modified_since": b"Thu, 01 Jan 1970 00:00:10 GMT"}, 304),
        ({"if_modified_since": b"Thu, 01 Jan 1970 00:00:09 GMT"}, 200),
    ],
)
def test_preconditions_in_rfc_9110_order(headers: dict[str, bytes], status: int) -> None:
    given: dict[str, bytes | None] = dict.fromkeys(
        ("if_match", "if_unmodified_since", "if_none_match", "if_modified_since")
    )
    given.update(headers)
    assert precondition_status(TAG, 10, **given) == status


def test_allow_lists_head_with_get_once() -> None:
    assert allow_with_head(b"GET, OPTIONS") == b"GET, OPTIONS, HEAD"
    assert allow_with_head(b"GET, HEAD, OPTIONS") == b"GET, HEAD, OPTIONS"
    assert allow_with_head(b"POST") == b"POST"


def test_the_http_layer_imports_no_controller() -> None:
    """The layers in front of the framework (api/http, api/middleware) and the request
    view stand on their own: none of their modules imports a controller module, so a
    handler's module can change without the layers in front of it seeing it."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "api"
    files = [
        *(root / "http").glob("*.py"),
        *(root / "middleware").glob("*.py"),
        root / "reading.py",
    ]
    offending = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offending += [f"{path.name}: {n}" for n in names if n.startswith("api.controllers")]
    assert offending == []
