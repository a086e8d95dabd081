from __future__ import annotations

import pytest

from api.http.negotiation import etag_matches, http_date_seconds, preferred_codings


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
