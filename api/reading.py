"""One reading of each request, shared by every layer in front of the framework and by the
handlers behind it.

The layers (keys, rate limits, prepared answers, the fast path) and the framework used to
read the request each their own way: the key check looked for the bytes `channel` in the
raw query while the framework decodes parameter names, and the prepared-answer look-up
took the last `Accept-Language` while the handler negotiated on the first. A parameter or
header must mean the same thing to all of them, however the client spells it, so the
request is read once into a `RequestView` and everyone uses that:

- the query is parsed by the framework's own function (Litestar's `parse_query_string`,
  itself `urllib.parse.parse_qsl` over the Latin-1 text, blank values kept, `&` only), so
  names and values are decoded exactly as the handler's parameters will be;
- list-valued headers given more than once are one list, joined with commas as RFC 9110
  §5.3 says a recipient may: `Accept-Language`, `Accept-Encoding`, `If-None-Match`,
  `If-Match`;
- a header that takes one value (`Host`, `X-API-Key`, `Authorization`,
  `If-Modified-Since`, `If-Unmodified-Since`) given twice makes the request unreadable: it
  is answered 400, because no layer can know which of the two the client meant;
- the key offered is judged here, once: its channel and which configured key it is;
- with allowed hosts configured, any other `Host` makes the request unreadable too.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

# A private module of the framework, imported on purpose: the point is to decode the query
# exactly as Litestar does for the handler, so a change there must change this too (and an
# upgrade that moves it fails loudly at import rather than letting the two readings drift).
from litestar._parsers import parse_query_string

Query = tuple[tuple[str, str], ...]

#: Where the view is kept in the ASGI scope, for the layers inside and the handler.
VIEW = "clinic.request"
#: Paths answered whatever the Host: orchestrators probe, and Prometheus scrapes, pods by
#: address; none of them makes a link.
HOST_FREE_PATHS = frozenset({"/health", "/ready", "/metrics"})
LIST = b", "
#: Query strings longer than this are parsed each time rather than remembered.
_MAX_REMEMBERED_QUERY = 2048


class RequestView(NamedTuple):
    """What a request says, read once. Header values are the raw bytes (combined, for list
    headers); `None` when the header is absent."""

    path: str
    #: The query as the framework parses it: (name, value) pairs, decoded, in order.
    query: Query
    #: The same pairs sorted: the spelling-free form prepared answers are keyed on.
    query_key: Query
    #: Every value of the `channel` parameter, decoded.
    channels: tuple[str, ...]
    accept_language: bytes | None
    accept_encoding: bytes | None
    if_none_match: bytes | None
    if_match: bytes | None
    if_modified_since: bytes | None
    if_unmodified_since: bytes | None
    origin: bytes | None
    request_id: bytes | None
    host: bytes | None
    #: Whether the request carries a key (X-API-Key, or Authorization: Bearer).
    key_offered: bool
    #: The channel of the key offered, when it is a configured key.
    key_channel: str | None
    #: Which configured key it is (its position in CLINIC_API_KEYS), -1 for none.
    key_id: int
    #: Why the request cannot be read (a 400), or None.
    problem: str | None


_new_view = tuple.__new__
_NO_QUERY: tuple[Query, Query, tuple[str, ...]] = ((), (), ())


@lru_cache(maxsize=1024)
def _remembered_query(raw: bytes) -> tuple[Query, Query, tuple[str, ...]]:
    return _read_query(raw)


def _read_query(raw: bytes) -> tuple[Query, Query, tuple[str, ...]]:
    pairs = parse_query_string(raw)
    channels = tuple(value for name, value in pairs if name == "channel")
    return pairs, tuple(sorted(pairs)), channels


def read_query(raw: bytes) -> tuple[Query, Query, tuple[str, ...]]:
    """(pairs as the framework reads them, the same sorted, the `channel` values)."""
    if not raw:
        return (), (), ()
    if len(raw) > _MAX_REMEMBERED_QUERY:
        return _read_query(raw)
    return _remembered_query(raw)


def canonical_query(pairs: Query) -> str:
    """A query string for these (already sorted) pairs, in one spelling."""
    return urlencode(pairs)


def host_name(value: bytes) -> str:
    """The host of a Host header, lower-case, without its port (IPv6 literals keep their
    brackets)."""
    text = value.decode("latin-1").strip().lower()
    name, colon, port = text.rpartition(":")
    if colon and (not port or port.isdigit()) and (not name.startswith("[") or name.endswith("]")):
        text = name
    return text.rstrip(".")  # a fully qualified name's final dot names the same host


def host_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """Whether `name` is one of `allowed` (`*.example.org` also matches its subdomains)."""
    for entry in allowed:
        if entry == "*" or entry == name:
            return True
        if entry.startswith("*.") and (name.endswith(entry[1:]) or name == entry[2:]):
            return True
    return False


def key_from(key: bytes | None, authorization: bytes | None) -> bytes | None:
    """The key given these X-API-Key and Authorization header values."""
    if key is not None:
        return key.strip() or None
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(b" ")
        if scheme.lower() == b"bearer" and token.strip():
            return token.strip()
    return None


class RequestReader:
    """Reads requests into views, knowing the configured keys and allowed hosts."""

    def __init__(
        self, keys: tuple[tuple[str, bytes], ...] = (), allowed_hosts: tuple[str, ...] = ()
    ) -> None:
        self.keys = keys
        self.allowed_hosts = allowed_hosts if "*" not in allowed_hosts else ()

    def judge(self, key: bytes) -> tuple[str | None, int]:
        """(channel, position) of the configured key `key` is, or (None, -1)."""
        digest = hashlib.sha256(key).digest()
        found: str | None = None
        position = -1
        for index, (channel, expected) in enumerate(self.keys):
            # No early exit: every digest is compared, so timing says nothing about which.
            if hmac.compare_digest(digest, expected) and found is None:
                found, position = channel, index
        return found, position

    def read(self, scope: Any) -> RequestView:
        """The view of an HTTP request's scope; one pass over its headers."""
        accept_language = accept_encoding = if_none_match = if_match = None
        if_modified_since = if_unmodified_since = origin = request_id = host = None
        api_key = authorization = None
        repeated: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = (
                    value if accept_encoding is None else accept_encoding + b", " + value
                )
            elif name == b"accept-language":
                accept_language = (
                    value if accept_language is None else accept_language + b", " + value
                )
            elif name == b"if-none-match":
                if_none_match = value if if_none_match is None else if_none_match + b", " + value
            elif name == b"host":
                if host is not None:
                    repeated = b"Host"
                host = value
            elif name == b"x-api-key":
                if api_key is not None:
                    repeated = b"X-API-Key"
                api_key = value
            elif name == b"authorization":
                if authorization is not None:
                    repeated = b"Authorization"
                authorization = value
            elif name == b"if-modified-since":
                if if_modified_since is not None:
                    repeated = b"If-Modified-Since"
                if_modified_since = value
            elif name == b"if-unmodified-since":
                if if_unmodified_since is not None:
                    repeated = b"If-Unmodified-Since"
                if_unmodified_since = value
            elif name == b"if-match":
                if_match = value if if_match is None else if_match + LIST + value
            elif name == b"origin":
                origin = value
            elif name == b"x-request-id":
                request_id = value if request_id is None else request_id
        path: str = scope["path"]
        raw_query = scope.get("query_string")
        query, query_key, channels = read_query(raw_query) if raw_query else _NO_QUERY
        problem = None
        if repeated is not None:
            problem = f"The {repeated.decode()} header was given more than once; send it once."
        elif (
            self.allowed_hosts
            and path not in HOST_FREE_PATHS
            and (host is None or not host_allowed(host_name(host), self.allowed_hosts))
        ):
            problem = "The Host header does not name a host this API answers to."
        key_channel: str | None = None
        key_id = -1
        offered = None
        if problem is None and (api_key is not None or authorization is not None):
            offered = key_from(api_key, authorization)
        if offered is not None and self.keys:
            key_channel, key_id = self.judge(offered)
        # The tuple's own constructor: a NamedTuple's `__new__` is Python code, taking
        # seventeen arguments, and costs twice as much on every request.
        return _new_view(RequestView, (
            path, query, query_key, channels,
            accept_language, accept_encoding, if_none_match, if_match,
            if_modified_since, if_unmodified_since, origin, request_id, host,
            offered is not None, key_channel, key_id, problem,
        ))  # fmt: skip


#: Reads requests for code that runs without the layers (a bare app in a test, say).
PLAIN = RequestReader()


def view_of(scope: Any, reader: RequestReader = PLAIN) -> RequestView:
    """The request's view: the one read by the first layer that looked, or read now."""
    found: RequestView | None = scope.get(VIEW)
    if found is None:
        found = scope[VIEW] = reader.read(scope)
    return found
