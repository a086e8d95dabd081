"""Attacks on how requests are read, against real servers on loopback.

Each layer in front of the framework (key check, rate limits, prepared answers, the fast
path) and the framework itself once read the request their own way; these tests send what
an attacker would, mostly over raw sockets, because an HTTP client would tidy the request
(merge repeated headers, fix the Host) before it left:

- a key reaching a channel it may not, by spelling the parameter's name differently;
- a prepared answer poisoned for everyone by repeating Accept-Language;
- feeds poisoned by a forged Host; hosts refused when allowed hosts are configured;
- key guessing without a limit, and one key spending every key's budget of its channel;
- a header that takes one value given twice;
- idle connections without bound (`serve`'s keep-alive timeout and concurrency limit);
- and, with hypothesis, one logical request in many spellings: one answer, one prepared
  entry, and no spelling past the key's channel.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Request

from api.reading import RequestReader, host_allowed, host_name
from api.settings import Settings, SettingsError
from tests.support import Server

KIOSK_KEY = "kiosk-secret-4e1a"
KIOSK_KEY_2 = "kiosk-secret-rotated-77c0"
EDITOR_KEY = "editor-secret-93b2"
WEBSITE_KEY = "website-secret-0d5f"
KEYS = ",".join(
    f"{channel}:{hashlib.sha256(key.encode()).hexdigest()}"
    for channel, key in (
        ("kiosk", KIOSK_KEY),
        ("kiosk", KIOSK_KEY_2),
        ("editor", EDITOR_KEY),
        ("website", WEBSITE_KEY),
    )
)
API_URL = "https://api.clinic.example"
ATOM = "{http://www.w3.org/2005/Atom}"


# -- a raw HTTP/1.1 client: the request goes out exactly as written -----------------------


class Raw:
    """One raw answer: status, headers as sent (name lower-cased, in order), body."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str, default: str | None = None) -> str | None:
        return next((v for n, v in self.headers if n == name), default)

    def json(self) -> Any:
        return json.loads(self.body)


def raw_get(
    port: int, target: str, headers: list[tuple[str, str]], *, host: str | None = None
) -> Raw:
    """GET `target` with exactly these header lines (a Host line first unless one is
    given in `headers`, or `host` says which), over a fresh connection."""
    lines = [f"GET {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    elif not any(name.lower() == "host" for name, _ in headers):
        lines.append(f"Host: 127.0.0.1:{port}")
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = []
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.append((name.strip().lower(), value.strip()))
    return Raw(int(status_line.split()[1]), parsed, body)


def assert_problem(answer: Raw | httpx.Response, status: int) -> dict[str, Any]:
    if isinstance(answer, Raw):
        assert answer.status == status, (answer.status, answer.body[:300])
        content_type = answer.header("content-type")
        body: dict[str, Any] = answer.json()
    else:
        assert answer.status_code == status, (answer.status_code, answer.text[:300])
        content_type = answer.headers["content-type"]
        body = answer.json()
    assert content_type == "application/problem+json"
    assert body["status"] == status
    return body


def metric(server: Server, name: str, key: str | None = None) -> float:
    headers = {"X-API-Key": key} if key else {}
    text = httpx.get(server.url + "/metrics", headers=headers).text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, name
    return float(found.group(1))


# -- servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(built_db: Path, starts_server: None) -> Iterator[Server]:
    """Keys on, a configured public URL, no limits."""
    srv = Server(built_db, CLINIC_API_KEYS=KEYS, CLINIC_PUBLIC_URL=API_URL).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def limited(built_db: Path, starts_server: None) -> Iterator[Server]:
    """Keys on and small budgets, in windows of an hour so no test straddles a window."""
    srv = Server(
        built_db,
        CLINIC_API_KEYS=KEYS,
        CLINIC_RATE_LIMIT="30/3600",
        CLINIC_RATE_LIMIT_KEY="10/3600",
    ).start()
    yield srv
    srv.stop()


CONCURRENCY = 6


@pytest.fixture(scope="module")
def served(built_db: Path, starts_server: None) -> Iterator[Server]:
    """`python -m api serve` with allowed hosts, a short keep-alive and a small limit."""
    srv = Server(
        built_db,
        cli=True,
        CLINIC_ALLOWED_HOSTS="api.clinic.example,127.0.0.1",
        CLINIC_KEEP_ALIVE_TIMEOUT="1",
        CLINIC_CONCURRENCY_LIMIT=str(CONCURRENCY),
    ).start()
    yield srv
    srv.stop()


# -- 1. a kiosk key reads the editor channel -------------------------------------------------

CHANNEL_SPELLINGS = [
    "chan%6eel=editor",
    "%63hannel=editor",
    "channel=%65ditor",
    "%63%68%61%6E%6E%65%6C=%65%64%69%74%6F%72",
    "chann%65l=editor",
]
EDITOR_PAGES = [
    "/v1/articles?limit=3&{q}",
    "/v1/articles?review_status=overdue&{q}",
    "/v1/articles/ketamine-for-crps?{q}",
    "/v1/faqs?{q}",
    "/v1/faq-topics/about-crps?{q}",
    "/v1/search?q=crps&{q}",
]


@pytest.mark.parametrize("page", EDITOR_PAGES)
def test_a_kiosk_key_never_reaches_the_editor_channel_however_spelt(
    keyed: Server, page: str
) -> None:
    """The key check reads `channel` as the handler does (names and values decoded):
    `?chan%6eel=editor` is `channel=editor`, 403 for a kiosk key, through the layers and
    once the editor's answer is prepared (the fast path)."""
    for attempt in range(2):
        for spelling in CHANNEL_SPELLINGS:
            url = keyed.url + page.format(q=spelling)
            refused = httpx.get(url, headers={"X-API-Key": KIOSK_KEY})
            body = assert_problem(refused, 403)
            assert body["detail"] == "channel=editor needs a key of the editor channel."
            assert_problem(httpx.get(url, headers={"X-API-Key": WEBSITE_KEY}), 403)
            if attempt == 0:  # prepares the editor's answer for the second round
                editor = httpx.get(url, headers={"X-API-Key": EDITOR_KEY})
                assert editor.status_code == 200, editor.text


# -- 2. two Accept-Language headers poison a prepared answer ---------------------------------


@pytest.mark.parametrize("target", ["/v1/site", "/v1/symptoms?limit=7"])
def test_repeated_accept_language_is_one_list_and_poisons_nothing(
    keyed: Server, target: str
) -> None:
    """`es` then `en` is the list `es, en`: Spanish, kept as Spanish. English browsers
    still get English afterwards, through the layers and from the prepared answer."""
    key = ("X-API-Key", WEBSITE_KEY)
    both = raw_get(keyed.port, target, [key, ("Accept-Language", "es"), ("Accept-Language", "en")])
    assert both.status == 200
    assert str(both.header("content-language", "")).startswith("es")
    sep = "&" if "?" in target else "?"
    english = httpx.get(keyed.url + target + sep + "locale=en", headers=dict([key])).content
    spanish = httpx.get(keyed.url + target + sep + "locale=es", headers=dict([key])).content
    assert english != spanish
    for _ in range(2):
        answer = raw_get(keyed.port, target, [key, ("Accept-Language", "en")])
        assert answer.status == 200
        assert str(answer.header("content-language", "")).startswith("en")
        assert answer.body == english
        again = raw_get(keyed.port, target, [key, ("Accept-Language", "es, en")])
        assert again.body == spanish
        assert raw_get(keyed.port, target, [key]).body == english


def test_repeated_list_headers_are_combined(keyed: Server) -> None:
    key = ("X-API-Key", WEBSITE_KEY)
    target = "/v1/articles/ketamine-for-crps"
    first = httpx.get(keyed.url + target, headers={"Accept-Encoding": "identity", key[0]: key[1]})
    etag = first.headers["etag"]
    # If-None-Match on two lines is one list: the second line's tag matches.
    matched = raw_get(keyed.port, target, [key, ("If-None-Match", '"nope"'),
                                           ("If-None-Match", etag)])  # fmt: skip
    assert matched.status == 304
    # Accept-Encoding on two lines: `br` is accepted although the last line says identity.
    coded = raw_get(keyed.port, target, [key, ("Accept-Encoding", "br"),
                                         ("Accept-Encoding", "identity")])  # fmt: skip
    assert coded.status == 200
    assert coded.header("content-encoding") == "br"


# -- 3. Host poisons the feeds ----------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/v1/feeds/articles.atom?limit=12", "/v1/feeds/articles.rss?limit=12"]
)
def test_a_forged_host_never_reaches_a_feed(keyed: Server, target: str) -> None:
    """A feed's self link and id come from CLINIC_PUBLIC_URL, whatever the Host says."""
    key = ("X-API-Key", WEBSITE_KEY)
    forged = raw_get(keyed.port, target, [key], host="evil.example")
    assert forged.status == 200
    assert b"evil.example" not in forged.body
    honest = raw_get(keyed.port, target, [key])
    assert honest.body == forged.body
    # A spelling of the same query gets the same bytes, and a self link in one spelling.
    respelt = raw_get(keyed.port, target.replace("limit=12", "%6cimit=%312"), [key])
    assert respelt.body == forged.body
    root = ElementTree.fromstring(forged.body)
    if target.endswith(".atom?limit=12"):
        assert root.findtext(f"{ATOM}id") == f"{API_URL}/v1/feeds/articles.atom?limit=12"
        selves = [ln.get("href") for ln in root.iter(f"{ATOM}link") if ln.get("rel") == "self"]
        assert selves == [f"{API_URL}/v1/feeds/articles.atom?limit=12"]
    else:
        selves = [ln.get("href") for ln in root.iter(f"{ATOM}link") if ln.get("rel") == "self"]
        assert selves == [f"{API_URL}/v1/feeds/articles.rss?limit=12"]


def test_a_forged_host_never_reaches_the_json_feed_or_the_sitemap(keyed: Server) -> None:
    key = ("X-API-Key", WEBSITE_KEY)
    for target in ("/v1/feeds/articles.json", "/v1/sitemap.xml", "/v1/sitemap"):
        forged = raw_get(keyed.port, target, [key], host="evil.example:8443")
        assert forged.status == 200, target
        assert b"evil.example" not in forged.body, target
    feed = raw_get(keyed.port, "/v1/feeds/articles.json", [key], host="evil.example").json()
    assert feed["feed_url"] == f"{API_URL}/v1/feeds/articles.json"


@pytest.mark.parametrize("host", ["evil.example", "api.clinic.example.evil", "", "127.0.0.2"])
def test_with_allowed_hosts_another_host_is_400(served: Server, host: str) -> None:
    for target in ("/v1/feeds/articles.atom", "/v1/site"):
        answer = raw_get(served.port, target, [], host=host)
        body = assert_problem(answer, 400)
        assert "Host" in body["detail"]
        assert answer.header("x-content-type-options") == "nosniff"
        assert answer.header("x-request-id")
    # Probes and scrapes answer whatever the Host: orchestrators probe pods by address.
    for target in ("/health", "/ready", "/metrics"):
        assert raw_get(served.port, target, [], host=host).status == 200


@pytest.mark.parametrize(
    "host", ["api.clinic.example", "API.Clinic.Example:443", "api.clinic.example.", "127.0.0.1"]
)
def test_with_allowed_hosts_an_allowed_host_is_served(served: Server, host: str) -> None:
    assert raw_get(served.port, "/v1/site", [], host=host).status == 200


def test_serve_links_feeds_to_where_it_listens_by_default(served: Server) -> None:
    """Without CLINIC_PUBLIC_URL, `serve` names the address it listens on, not the Host."""
    feed = raw_get(served.port, "/v1/feeds/articles.json", [], host="api.clinic.example").json()
    assert feed["feed_url"] == f"http://127.0.0.1:{served.port}/v1/feeds/articles.json"


# -- 4. limits that hold ----------------------------------------------------------------------


def test_wrong_keys_meet_the_address_limit(limited: Server) -> None:
    """Key guessing is counted against the address before the key is judged: 30 guesses
    are 401s, the next ones 429s. A valid key has its own budget, still open."""
    statuses = []
    for n in range(40):
        headers = {"X-API-Key": f"guess-{n}"} if n % 2 else {}
        statuses.append(httpx.get(limited.url + "/v1/articles", headers=headers).status_code)
    assert statuses == [401] * 30 + [429] * 10
    refused = httpx.get(limited.url + "/v1/articles", headers={"X-API-Key": "guess-x"})
    assert_problem(refused, 429)
    assert refused.headers["retry-after"]
    assert httpx.get(limited.url + "/v1/site", headers={"X-API-Key": EDITOR_KEY}).status_code == 200


def test_each_key_has_its_own_budget_not_its_channels(limited: Server) -> None:
    """One kiosk device (or one leaked kiosk key) spends its own budget only: the
    rotation key of the same channel is not affected."""
    first = {"X-API-Key": KIOSK_KEY}
    seen = [httpx.get(limited.url + "/v1/faqs?limit=2", headers=first) for _ in range(10)]
    assert [r.status_code for r in seen] == [200] * 10
    assert [int(r.headers["ratelimit-remaining"]) for r in seen] == list(range(9, -1, -1))
    assert_problem(httpx.get(limited.url + "/v1/faqs?limit=2", headers=first), 429)
    second = httpx.get(limited.url + "/v1/faqs?limit=2", headers={"X-API-Key": KIOSK_KEY_2})
    assert second.status_code == 200
    assert second.headers["ratelimit-remaining"] == "9"


# -- a header that takes one value, given twice ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        ("Host", "127.0.0.1", "evil.example"),
        ("X-API-Key", WEBSITE_KEY, "wrong"),
        ("X-API-Key", "wrong", WEBSITE_KEY),
        ("Authorization", f"Bearer {WEBSITE_KEY}", "Bearer wrong"),
        ("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"),
        ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"),
    ],
)
def test_a_singleton_header_given_twice_is_400(
    keyed: Server, name: str, first: str, second: str
) -> None:
    target = "/v1/conditions?limit=1"
    key = [] if name in ("X-API-Key", "Authorization") else [("X-API-Key", WEBSITE_KEY)]
    for _ in range(2):  # through the layers, then with the answer prepared (the fast path)
        assert httpx.get(keyed.url + target, headers={"X-API-Key": WEBSITE_KEY}).status_code == 200
        # Spelt in another case too: header names are case-insensitive.
        for spelt in (name, name.upper()):
            answer = raw_get(keyed.port, target, [*key, (spelt, first), (name.lower(), second)])
            body = assert_problem(answer, 400)
            assert body["detail"] == f"The {name} header was given more than once; send it once."
            assert answer.header("x-content-type-options") == "nosniff"
            assert answer.header("cache-control") != "public"


# -- slow and idle connections: serve's keep-alive timeout and concurrency limit ----------------


def test_serve_closes_idle_connections_after_the_keep_alive_timeout(served: Server) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, not by the 10 s timeout
        assert time.monotonic() - started < 4


def test_serve_answers_503_beyond_its_concurrency_limit(served: Server) -> None:
    """Idle connections hold places under the limit; beyond it the answer is 503 at once,
    and once they go, requests are served again."""
    idle = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(CONCURRENCY)]
    try:
        time.sleep(0.2)
        answer = raw_get(served.port, "/v1/site", [], host="127.0.0.1")
        assert answer.status == 503
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while raw_get(served.port, "/v1/site", [], host="127.0.0.1").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)


# -- one logical request, many spellings ---------------------------------------------------------

UNRESERVED = re.compile(r"[A-Za-z0-9._~-]")


@st.composite
def spelt(draw: st.DrawFn, text: str) -> str:
    """`text` with some of its characters percent-encoded, in upper- or lower-case hex."""
    out = []
    for char in text:
        if UNRESERVED.fullmatch(char) and not draw(st.booleans()):
            out.append(char)
        else:
            hex_ = f"{ord(char):02X}"
            out.append("%" + (hex_.lower() if draw(st.booleans()) else hex_))
    return "".join(out)


@st.composite
def header_case(draw: st.DrawFn, name: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)


LOGICAL = st.fixed_dictionaries(
    {
        "path": st.sampled_from(["/v1/articles", "/v1/symptoms", "/v1/faqs", "/v1/conditions"]),
        "limit": st.integers(1, 40),
        "channel": st.sampled_from([None, "website", "kiosk", "newsletter", "editor"]),
        "fields": st.sampled_from([None, "slug", "title,slug"]),
        "languages": st.sampled_from([[], ["es"], ["en"], ["es", "en"], ["en;q=0.5", "es"]]),
        "key": st.sampled_from(
            [("kiosk", KIOSK_KEY), ("editor", EDITOR_KEY), ("website", WEBSITE_KEY)]
        ),
    }
)


@st.composite
def spelling(draw: st.DrawFn, logical: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """One way to write the logical request: encoded names and values, any parameter order,
    Accept-Language on one line or several, header names in any case, either key header."""
    params = [("limit", str(logical["limit"]))]
    if logical["channel"]:
        params.append(("channel", logical["channel"]))
    if logical["fields"] and logical["path"] != "/v1/faqs":
        params.append(("fields", logical["fields"]))
    params = draw(st.permutations(params))
    query = "&".join(f"{draw(spelt(n))}={draw(spelt(v))}" for n, v in params)
    path = "/".join(draw(spelt(part)) if part else "" for part in logical["path"].split("/"))
    headers: list[tuple[str, str]] = []
    languages = logical["languages"]
    if languages and draw(st.booleans()):
        headers.append((draw(header_case("accept-language")), ", ".join(languages)))
    else:
        headers += [(draw(header_case("accept-language")), lang) for lang in languages]
    _, key = logical["key"]
    if draw(st.booleans()):
        key_header = (draw(header_case("x-api-key")), key)
    else:
        key_header = (draw(header_case("authorization")), f"Bearer {key}")
    # Anywhere among the language lines, whose order is part of what they say.
    headers.insert(draw(st.integers(0, len(headers))), key_header)
    return f"{path}?{query}", headers


@settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(logical=LOGICAL, data=st.data())
def test_every_spelling_of_a_request_is_one_answer_and_one_entry(
    keyed: Server, logical: dict[str, Any], data: st.DataObject
) -> None:
    spellings = [data.draw(spelling(logical)) for _ in range(5)]
    before_entries = metric(keyed, "clinic_prepared_entries", EDITOR_KEY)
    before_misses = metric(keyed, "clinic_prepared_misses_total", EDITOR_KEY)
    answers = [raw_get(keyed.port, target, headers) for target, headers in spellings]
    key_channel, _ = logical["key"]
    if logical["channel"] == "editor" and key_channel != "editor":
        for answer in answers:
            assert_problem(answer, 403)
        return
    first = answers[0]
    assert first.status == 200, (spellings[0], first.body[:300])
    for (target, headers), answer in zip(spellings, answers, strict=True):
        assert answer.status == 200, (target, headers)
        assert answer.body == first.body, (target, headers)
        for name in ("etag", "content-language", "link", "vary"):
            assert answer.header(name) == first.header(name), (name, target, headers)
    assert metric(keyed, "clinic_prepared_misses_total", EDITOR_KEY) - before_misses <= 1
    assert metric(keyed, "clinic_prepared_entries", EDITOR_KEY) - before_entries <= 1


# -- the view itself -----------------------------------------------------------------------------

QUERY_TEXT = st.text(alphabet="abcl=&%+;#2Fe6E0zé\x00 ", max_size=40)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(query=QUERY_TEXT)
def test_the_view_reads_the_query_exactly_as_litestar_does(query: str) -> None:
    raw = query.encode("utf-8")
    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "path": "/v1/articles", "query_string": raw,
        "headers": [], "app": None, "state": {},
    }  # fmt: skip
    view = RequestReader().read(scope)
    # What handlers get (Litestar's MultiDict groups by name, so compare as sorted pairs).
    framework = sorted(Request(scope).query_params.multi_items())  # type: ignore[arg-type]
    assert list(view.query_key) == framework
    assert sorted(view.query) == framework
    assert sorted(view.channels) == [v for k, v in framework if k == "channel"]


def test_host_names_and_allowed_hosts() -> None:
    assert host_name(b"API.Example.org:8443") == "api.example.org"
    assert host_name(b"example.org.") == "example.org"
    assert host_name(b"[::1]:8000") == "[::1]"
    assert host_name(b"[::1]") == "[::1]"
    allowed = ("api.example.org", "*.cdn.example.org")
    assert host_allowed("api.example.org", allowed)
    assert host_allowed("eu.cdn.example.org", allowed)
    assert host_allowed("cdn.example.org", allowed)
    assert not host_allowed("evilcdn.example.org", allowed)
    assert not host_allowed("api.example.org.evil", allowed)


def test_public_url_and_allowed_hosts_settings() -> None:
    env = {"CLINIC_PUBLIC_URL": "https://api.example.org/", "CLINIC_ALLOWED_HOSTS": "A.org, b.org"}
    configured = Settings.from_env(env)
    assert configured.api_url == "https://api.example.org"
    assert configured.allowed_hosts == ("a.org", "b.org")
    assert Settings().api_url == "http://127.0.0.1:8000"
    assert Settings(host="0.0.0.0", port=9000).api_url == "http://127.0.0.1:9000"
    for bad in (
        {"CLINIC_PUBLIC_URL": "api.example.org"},
        {"CLINIC_PUBLIC_URL": "https://api.example.org/?x=1"},
        {"CLINIC_ALLOWED_HOSTS": "https://a.org"},
        {"CLINIC_ALLOWED_HOSTS": "a.org:443"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
