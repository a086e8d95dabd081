"""Preview against real servers: `channel=preview`, `at=` and signed links, who may use
them, and that nothing they show reaches anyone else.

The content is content/ with a draft article and a draft FAQ, an article scheduled three
weeks ahead, one expired yesterday and one withdrawn. Three servers over the same
database: one with only a preview key (keys otherwise off) and a link secret, one with
keys on for every channel, and one configured with nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml

from api import preview
from api.settings import Settings, SettingsError
from tests.support import CONTENT, ROOT, Server, build_db
from tests.website_corpus import write_article

DRAFT = "preview-draft-notice"
DRAFT_WORD = "quillwort"
DRAFT_FAQ = "is-the-clinic-open-on-sundays"
DRAFT_FAQ_WORD = "bladderwrack"
SCHEDULED = "preview-scheduled-notice"
SCHEDULED_WORD = "marram"
EXPIRED = "preview-expired-notice"
WITHDRAWN = "preview-withdrawn-notice"
LIVE = "ketamine-for-crps"
#: What must never appear in an answer to a request without a preview key or link.
SECRETS = (DRAFT, DRAFT_WORD, DRAFT_FAQ, DRAFT_FAQ_WORD, SCHEDULED, SCHEDULED_WORD)

PREVIEW_KEY = "preview-key-for-the-tests"
EDITOR_KEY = "editor-key-for-the-tests"
INTEGRATORS_KEY = "integrators-key-for-the-tests"
SECRET = "a-preview-link-secret-of-enough-length-for-tests"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Servers:
    preview_only: Server
    keyed: Server
    plain: Server
    db_path: Path
    #: An instant after the scheduled article goes live (and before anything else changes).
    monday: str


def _start(db_path: Path, **env: str) -> Server:
    server = Server(db_path, **env)
    server.env["CLINIC_PUBLIC_URL"] = server.url  # the links it makes name itself
    return server.start()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, starts_server: None) -> Iterator[Servers]:
    import shutil

    root = tmp_path_factory.mktemp("preview")
    content = Path(shutil.copytree(CONTENT, root / "content"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    articles = content / "articles"
    write_article(
        articles,
        DRAFT,
        title=f"Unfinished {DRAFT_WORD} notice",
        body=f"The {DRAFT_WORD} room is not ready yet.\n",
        draft=True,
    )
    write_article(
        articles,
        SCHEDULED,
        title=f"The {SCHEDULED_WORD} clinic opens",
        body=f"The {SCHEDULED_WORD} clinic opens on Mondays.\n",
        published_at=_iso(now + dt.timedelta(days=20)),
    )
    write_article(
        articles,
        EXPIRED,
        title="A notice that expired",
        published_at=_iso(now - dt.timedelta(days=30)),
        expires_at=_iso(now - dt.timedelta(days=1)),
    )
    write_article(
        articles,
        WITHDRAWN,
        title="A notice that was withdrawn",
        withdrawn={"reason": "It was wrong."},
    )
    faqs = content / "faqs" / "about-crps.yaml"
    topic = yaml.safe_load(faqs.read_text(encoding="utf-8"))
    draft_faq = dict(topic["faqs"][0])
    draft_faq.update(
        slug=DRAFT_FAQ,
        order=99,
        draft=True,
        question=f"Is the {DRAFT_FAQ_WORD} clinic open on Sundays?",
        answer=f"Not yet: the {DRAFT_FAQ_WORD} clinic opens later.",
        short_answer=f"Not yet: the {DRAFT_FAQ_WORD} clinic opens later.",
    )
    topic["faqs"].append(draft_faq)
    faqs.write_text(yaml.safe_dump(topic, sort_keys=False, allow_unicode=True), encoding="utf-8")
    db_path = build_db(content, root / "clinic.db")
    keys = ",".join(
        f"{channel}:{_digest(key)}"
        for channel, key in (
            ("integrators", INTEGRATORS_KEY),
            ("editor", EDITOR_KEY),
            ("preview", PREVIEW_KEY),
        )
    )
    started: list[Server] = []
    try:
        for env in (
            {"CLINIC_API_KEYS": f"preview:{_digest(PREVIEW_KEY)}", "CLINIC_PREVIEW_SECRET": SECRET},
            {"CLINIC_API_KEYS": keys, "CLINIC_PREVIEW_SECRET": SECRET},
            {},
        ):
            started.append(_start(db_path, CLINIC_CONTENT_DIR=str(content), **env))
        yield Servers(*started, db_path, _iso(now + dt.timedelta(days=21)))
    finally:
        for server in started:
            server.stop()


def _get(server: Server, path: str, key: str | None = None, **params: str) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.get(server.url + path, params=params, headers=headers, timeout=10)


def _slugs(response: httpx.Response) -> dict[str, str | None]:
    assert response.status_code == 200, response.text
    return {item["slug"]: item.get("publication_status") for item in response.json()["data"]}


def _is_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["x-robots-tag"] == "noindex"
    assert "etag" not in response.headers


def _is_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    for word in words:
        assert word in problem["detail"], problem["detail"]
    return problem


def test_drafts_and_scheduled_items_are_404_publicly_and_shown_in_preview(
    servers: Servers,
) -> None:
    srv = servers.preview_only
    # Keys are otherwise off on this server: the public needs none, and gets no hint.
    public = _get(srv, "/v1/articles")
    assert set(_slugs(public)) == {LIVE, "living-with-crps-what-to-expect-from-ketamine-therapy"}
    assert all(status is None for status in _slugs(public).values())
    for slug in (DRAFT, SCHEDULED):
        missing = _get(srv, f"/v1/articles/{slug}")
        _is_problem(missing, 404)
        assert missing.json()["detail"] == f"No article with slug '{slug}' in locale 'en'."
    _is_problem(_get(srv, f"/v1/articles/{EXPIRED}"), 410, "expired")
    _is_problem(_get(srv, f"/v1/articles/{WITHDRAWN}"), 410, "withdrawn")

    listed = _get(srv, "/v1/articles", PREVIEW_KEY, channel="preview")
    _is_private(listed)
    assert _slugs(listed) == {
        LIVE: "live",
        "living-with-crps-what-to-expect-from-ketamine-therapy": "live",
        DRAFT: "draft",
        SCHEDULED: "scheduled",
        EXPIRED: "expired",
        WITHDRAWN: "withdrawn",
    }
    for slug, status in ((DRAFT, "draft"), (SCHEDULED, "scheduled"), (EXPIRED, "expired"),
                         (WITHDRAWN, "withdrawn"), (LIVE, "live")):  # fmt: skip
        detail = _get(srv, f"/v1/articles/{slug}", PREVIEW_KEY, channel="preview")
        _is_private(detail)
        assert detail.status_code == 200, detail.text
        assert detail.json()["publication_status"] == status
        assert detail.json()["slug"] == slug
    # Sparse fields keep the status: it is what a preview is for.
    sparse = _get(srv, "/v1/articles", PREVIEW_KEY, channel="preview", fields="title")
    assert _slugs(sparse)[DRAFT] == "draft"
    # The draft FAQ: in the preview's FAQ list and its topic, not in the public ones.
    faqs = _get(srv, "/v1/faqs", PREVIEW_KEY, channel="preview", limit="100")
    assert _slugs(faqs)[DRAFT_FAQ] == "draft"
    assert DRAFT_FAQ not in _slugs(_get(srv, "/v1/faqs", limit="100"))
    # Search in the preview finds what it shows, drafts included, saying where each stands.
    found = _get(srv, "/v1/search", PREVIEW_KEY, channel="preview", q=SCHEDULED_WORD)
    _is_private(found)
    assert {h["slug"]: h["publication_status"] for h in found.json()["data"]} == {
        SCHEDULED: "scheduled"
    }
    drafted = _get(srv, "/v1/search", PREVIEW_KEY, channel="preview", q=DRAFT_WORD)
    _is_private(drafted)
    assert {h["slug"]: h["publication_status"] for h in drafted.json()["data"]} == {DRAFT: "draft"}
    # Publicly, nothing of the draft: no hit, no count, and its word is not a correction.
    public = _get(srv, "/v1/search", q=DRAFT_WORD)
    assert public.status_code == 200
    assert public.json()["data"] == []
    assert public.json()["meta"]["total"] == 0
    near = _get(srv, "/v1/search", q=DRAFT_WORD[:-1] + "x")  # one letter off: not corrected
    assert near.json()["data"] == []
    assert DRAFT_WORD not in near.text
    topic = _get(srv, "/v1/faq-topics/about-crps", PREVIEW_KEY, channel="preview")
    assert DRAFT_FAQ in {faq["slug"] for faq in topic.json()["faqs"]}
    _is_private(topic)

    # Without the preview key: refused, never the public answer in its place.
    _is_problem(_get(srv, "/v1/articles", channel="preview"), 401, "preview key")
    _is_problem(_get(srv, "/v1/articles", "not-a-key", channel="preview"), 401, "not valid")
    head = httpx.head(srv.url + "/v1/articles?channel=preview", timeout=10)
    assert head.status_code == 401
    assert head.content == b""
    ok_head = httpx.head(
        srv.url + f"/v1/articles/{DRAFT}?channel=preview",
        headers={"X-API-Key": PREVIEW_KEY},
        timeout=10,
    )
    assert ok_head.status_code == 200
    assert ok_head.content == b""
    _is_private(ok_head)


def test_preview_is_refused_without_a_preview_key_configured(servers: Servers) -> None:
    srv = servers.plain
    for key in (None, PREVIEW_KEY):
        refused = _get(srv, "/v1/articles", key, channel="preview")
        _is_problem(refused, 403, "channel=preview", "configures none")
        _is_private(refused)
        _is_problem(_get(srv, f"/v1/articles/{DRAFT}", key, channel="preview"), 403)
        _is_problem(_get(srv, "/v1/articles", key, at=servers.monday), 403, "at=")
    # No secret: a link cannot open anything here.
    _is_problem(
        _get(srv, f"/v1/articles/{DRAFT}", locale="en", preview_token="abc.def"),
        401,
        "not enabled",
    )
    # The public content is unaffected.
    assert DRAFT not in _slugs(_get(srv, "/v1/articles"))


def test_only_preview_keys_open_the_preview_channel_and_time_keys_open_at(
    servers: Servers,
) -> None:
    srv = servers.keyed
    _is_problem(_get(srv, "/v1/articles", channel="preview"), 401, "preview key")
    for key in (INTEGRATORS_KEY, EDITOR_KEY):
        _is_problem(_get(srv, "/v1/articles", key, channel="preview"), 403, "preview key")
    assert _slugs(_get(srv, "/v1/articles", PREVIEW_KEY, channel="preview"))[DRAFT] == "draft"
    _is_problem(_get(srv, "/v1/articles", INTEGRATORS_KEY, at=servers.monday), 403, "at=")
    for key in (EDITOR_KEY, PREVIEW_KEY):
        assert SCHEDULED in _slugs(_get(srv, "/v1/articles", key, at=servers.monday))
    # A preview key asking for the editor channel (served overdue items) still needs the
    # editor's own key, as without `at`.
    _is_problem(
        _get(srv, "/v1/articles", PREVIEW_KEY, at=servers.monday, channel="editor"),
        403,
        "channel=editor",
    )
    # The public channels still need a key here, and a preview key is one.
    _is_problem(_get(srv, "/v1/articles"), 401)
    assert DRAFT not in _slugs(_get(srv, "/v1/articles", PREVIEW_KEY))


def test_at_shows_a_channel_as_it_will_be(servers: Servers) -> None:
    srv = servers.preview_only
    monday = servers.monday
    assert SCHEDULED not in _slugs(_get(srv, "/v1/articles"))
    ahead = _get(srv, "/v1/articles", PREVIEW_KEY, at=monday)
    _is_private(ahead)
    assert SCHEDULED in _slugs(ahead)
    # Not the preview channel: only what is live then, without publication_status.
    assert DRAFT not in _slugs(ahead)
    assert EXPIRED not in _slugs(ahead)
    assert _slugs(ahead)[SCHEDULED] is None
    detail = _get(srv, f"/v1/articles/{SCHEDULED}", PREVIEW_KEY, at=monday)
    assert detail.status_code == 200
    assert detail.json()["slug"] == SCHEDULED
    _is_private(detail)
    assert "publication_status" not in detail.json()
    kiosk = _get(srv, f"/v1/articles/{SCHEDULED}", PREVIEW_KEY, at=monday, channel="kiosk")
    assert kiosk.json()["rendition"] == "kiosk"
    # Today, with at= naming it: still 404, and the expired one is still gone.
    today = _iso(dt.datetime.now(dt.UTC))
    _is_problem(_get(srv, f"/v1/articles/{SCHEDULED}", PREVIEW_KEY, at=today), 404)
    # And the past: a month ago the expired notice was live.
    month_ago = _iso(dt.datetime.now(dt.UTC) - dt.timedelta(days=29))
    assert EXPIRED in _slugs(_get(srv, "/v1/articles", PREVIEW_KEY, at=month_ago))
    # Feeds, the sitemap, search and the FAQ topics take it too.
    feed = _get(srv, "/v1/feeds/articles.json", PREVIEW_KEY, at=monday)
    assert feed.status_code == 200
    assert SCHEDULED in feed.text
    _is_private(feed)
    assert SCHEDULED in _get(srv, "/v1/sitemap", PREVIEW_KEY, at=monday).text
    found = _get(srv, "/v1/search", PREVIEW_KEY, at=monday, q=SCHEDULED_WORD)
    assert SCHEDULED in {hit["slug"] for hit in found.json()["data"]}
    assert _get(srv, "/v1/faq-topics", PREVIEW_KEY, at=monday).status_code == 200
    # The preview channel at an instant: the scheduled article is live by then.
    then = _get(srv, "/v1/articles", PREVIEW_KEY, channel="preview", at=monday)
    assert _slugs(then)[SCHEDULED] == "live"

    # Without a key it is refused, never ignored; a bad instant is a 400 naming `at`.
    for path in ("/v1/articles", f"/v1/articles/{SCHEDULED}", "/v1/sitemap.xml",
                 "/v1/feeds/articles.atom"):  # fmt: skip
        _is_problem(_get(srv, path, at=monday), 401, "at=")
    _is_problem(_get(srv, "/v1/articles", "wrong", at=monday), 401, "not valid")
    for bad in ("tomorrow", "2026-03-02", "2026-03-02T09:00:00", "2026-13-02T09:00:00Z"):
        _is_problem(_get(srv, "/v1/articles", PREVIEW_KEY, at=bad), 400, "at")
    # The calendar's ends are answered (as the content stands then), never a failure.
    for far in ("9999-12-31T23:59:59Z", "9999-12-31T00:00:00-23:59", "0000-01-01T00:00:00+23:59"):
        for path, extra in (("/v1/faqs", {}), ("/v1/articles", {}), ("/v1/faq-topics", {}),
                            ("/v1/search", {"q": "pain"})):  # fmt: skip
            answered = _get(srv, path, PREVIEW_KEY, at=far, channel="preview", **extra)
            assert answered.status_code == 200, (far, path, answered.text)
    # Sync follows real time: it takes no `at`, and no preview channel.
    _is_problem(_get(srv, "/v1/sync", PREVIEW_KEY, at=monday), 400, "at")
    _is_problem(_get(srv, "/v1/sync", PREVIEW_KEY, channel="preview"), 400, "channel")


def test_a_search_cursor_pages_only_the_instant_it_was_issued_for(servers: Servers) -> None:
    srv = servers.preview_only
    monday, month_ago = servers.monday, _iso(dt.datetime.now(dt.UTC) - dt.timedelta(days=29))
    first = _get(srv, "/v1/search", PREVIEW_KEY, at=monday, q="pain", limit="1")
    cursor = first.json()["meta"]["next_cursor"]
    assert cursor, first.json()["meta"]
    following = _get(srv, "/v1/search", PREVIEW_KEY, at=monday, q="pain", limit="1", cursor=cursor)
    assert following.status_code == 200
    assert following.json()["data"] != first.json()["data"]
    # The hits at another instant, or now, are another list: its offsets are not this one's.
    for elsewhere in ({"at": month_ago}, {}):
        paged = _get(
            srv, "/v1/search", PREVIEW_KEY, q="pain", limit="1", cursor=cursor, **elsewhere
        )
        _is_problem(paged, 400, "another query")
    public = _get(srv, "/v1/search", q="pain", limit="1").json()["meta"]["next_cursor"]
    _is_problem(
        _get(srv, "/v1/search", PREVIEW_KEY, at=monday, q="pain", limit="1", cursor=public),
        400,
        "another query",
    )


def test_preview_answers_are_private_and_never_prepared_for_the_public(
    servers: Servers,
) -> None:
    srv = servers.preview_only
    for _ in range(2):  # the second round is answered from prepared responses, if any
        assert _slugs(_get(srv, "/v1/articles", PREVIEW_KEY, channel="preview"))[DRAFT]
        public = _get(srv, "/v1/articles")
        assert public.headers["cache-control"].startswith("public")
        assert "etag" in public.headers
        assert "x-robots-tag" not in public.headers
        assert not any(word in public.text for word in SECRETS)

        assert SCHEDULED in _slugs(_get(srv, "/v1/articles", PREVIEW_KEY, at=servers.monday))
        assert SCHEDULED not in _get(srv, "/v1/articles").text
        # Everything a public request can spell about the same URL.
        for params in ({"channel": "website"}, {"locale": "en"}, {}):
            shown = _get(srv, f"/v1/articles/{DRAFT}", **params)
            _is_problem(shown, 404)
            assert DRAFT_WORD not in shown.text
        _get(srv, f"/v1/articles/{DRAFT}", PREVIEW_KEY, channel="preview")
        _is_problem(_get(srv, f"/v1/articles/{DRAFT}", PREVIEW_KEY), 404)
        _is_problem(_get(srv, f"/v1/articles/{SCHEDULED}"), 404)


def _cli_link(
    servers: Servers, slug: str, ttl: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLINIC_DB_PATH": str(servers.db_path),
        "CLINIC_PREVIEW_SECRET": SECRET,
        "CLINIC_PUBLIC_URL": servers.preview_only.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "api", "preview-link", slug, "--ttl", ttl, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _tampered(url: str, position: int) -> str:
    """The URL with one character of its token's part `position` (0 payload, 1 signature)
    changed."""
    token = dict(parse_qsl(urlsplit(url).query))["preview_token"]
    parts = token.split(".")
    part = parts[position]
    middle = len(part) // 2
    parts[position] = part[:middle] + ("A" if part[middle] != "A" else "B") + part[middle + 1 :]
    return url.replace(token, ".".join(parts))


def test_a_signed_link_opens_one_item_without_a_key_until_it_expires(servers: Servers) -> None:
    made = _cli_link(servers, DRAFT, "1h")
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(servers.preview_only.url + f"/v1/articles/{DRAFT}?locale=en&")
    opened = httpx.get(url, timeout=10)
    assert opened.status_code == 200, opened.text
    assert opened.json()["slug"] == DRAFT
    assert opened.json()["publication_status"] == "draft"
    _is_private(opened)
    # On the server where every channel needs a key, the link needs none either.
    keyed = httpx.get(url.replace(servers.preview_only.url, servers.keyed.url), timeout=10)
    assert keyed.status_code == 200
    assert keyed.json()["publication_status"] == "draft"

    # Altered anywhere, or moved to another item or locale: 401, never the item.
    for bad in (_tampered(url, 0), _tampered(url, 1), url + "x",
                url.replace(f"/articles/{DRAFT}", f"/articles/{SCHEDULED}"),
                url.replace(f"/articles/{DRAFT}", f"/articles/{LIVE}"),
                url.replace(f"/articles/{DRAFT}", f"/conditions/{DRAFT}"),
                url.replace("locale=en", "locale=es")):  # fmt: skip
        refused = httpx.get(bad, timeout=10)
        _is_problem(refused, 401, "preview link")
        assert DRAFT_WORD not in refused.text
    # Moved to a list, or joined with channel=preview or at=: it opens nothing more.
    token = dict(parse_qsl(urlsplit(url).query))["preview_token"]
    _is_problem(_get(servers.preview_only, "/v1/articles", preview_token=token, locale="en"), 401)
    _is_problem(httpx.get(url + "&channel=preview", timeout=10), 401, "preview key")
    _is_problem(httpx.get(url + f"&at={servers.monday}", timeout=10), 401, "at=")
    # Other methods show nothing: the framework's 405, as without a token.
    assert httpx.request("TRACE", url, timeout=10).status_code == 405

    # A short link expires, and then says so.
    short = _cli_link(servers, SCHEDULED, "2s")
    assert short.returncode == 0, short.stderr
    soon = short.stdout.strip()
    assert httpx.get(soon, timeout=10).json()["publication_status"] == "scheduled"
    time.sleep(2.5)
    expired = httpx.get(soon, timeout=10)
    _is_problem(expired, 401, "expired")
    assert SCHEDULED_WORD not in expired.text

    # The command refuses what it cannot sign.
    missing = _cli_link(servers, "no-such-article", "1h")
    assert missing.returncode == 1
    assert "no article" in missing.stderr
    assert _cli_link(servers, DRAFT, "forever").returncode == 2
    faq = _cli_link(servers, DRAFT_FAQ, "1h", "--type", "faq")
    assert httpx.get(faq.stdout.strip(), timeout=10).json()["publication_status"] == "draft"


def test_editors_make_links_over_http(servers: Servers) -> None:
    srv = servers.keyed
    body = {"slug": SCHEDULED, "ttl": 600}

    def post(key: str | None, data: Any = body) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        return httpx.post(srv.url + "/v1/preview-links", json=data, headers=headers, timeout=10)

    made = post(EDITOR_KEY)
    assert made.status_code == 200, made.text
    link = made.json()
    assert link["publication_status"] == "scheduled"
    assert link["locale"] == "en"
    assert made.headers["cache-control"] == "private, no-store"
    opened = httpx.get(link["url"], timeout=10)
    assert opened.status_code == 200
    assert opened.json()["slug"] == SCHEDULED
    assert post(PREVIEW_KEY).status_code == 200
    _is_problem(post(None), 401)
    _is_problem(post(INTEGRATORS_KEY), 403, "preview link")
    _is_problem(post(EDITOR_KEY, {"slug": "no-such-article"}), 404)
    _is_problem(post(EDITOR_KEY, {"slug": SCHEDULED, "ttl": 0}), 400)
    _is_problem(post(EDITOR_KEY, {"slug": SCHEDULED, "type": "nonsense"}), 400)
    # Where no editor key can exist (keys off but for previews), the preview key makes them;
    # where nothing is configured, nobody does.
    assert (
        httpx.post(
            servers.preview_only.url + "/v1/preview-links",
            json=body,
            headers={"X-API-Key": PREVIEW_KEY},
            timeout=10,
        ).status_code
        == 200
    )
    _is_problem(httpx.post(servers.plain.url + "/v1/preview-links", json=body, timeout=10), 403)


def _public_part(response: httpx.Response) -> str:
    """What an answer tells: for search, its hits (its terms repeat the question asked)."""
    assert response.status_code == 200, response.text
    if "/v1/search" in str(response.url):
        return json.dumps(response.json()["data"])
    return response.text


def _walk_sync(server: Server, **params: str) -> str:
    texts = []
    query = dict(params)
    for _ in range(50):
        page = _get(server, "/v1/sync", **query)
        assert page.status_code == 200, page.text
        texts.append(page.text)
        cursor = page.json()["meta"].get("next_cursor")
        if not cursor or not page.json()["data"]:
            break
        query = {**params, "cursor": cursor}
    return "\n".join(texts)


def test_preview_content_is_in_no_public_list_feed_sitemap_search_or_sync(
    servers: Servers,
) -> None:
    srv = servers.preview_only
    # Preview answers first, so anything they could leave behind would be there to find.
    _get(srv, "/v1/articles", PREVIEW_KEY, channel="preview")
    _get(srv, "/v1/faqs", PREVIEW_KEY, channel="preview")
    _get(srv, "/v1/feeds/articles.atom", PREVIEW_KEY, at=servers.monday)
    _get(srv, "/v1/sitemap.xml", PREVIEW_KEY, at=servers.monday)
    answers = [
        _public_part(_get(srv, path, **params))
        for path, params in (
            ("/v1/articles", {"limit": "100"}),
            ("/v1/faqs", {"limit": "100"}),
            ("/v1/faq-topics", {}),
            ("/v1/faq-topics/about-crps", {}),
            ("/v1/feeds/articles.atom", {}),
            ("/v1/feeds/articles.rss", {}),
            ("/v1/feeds/articles.json", {}),
            ("/v1/sitemap", {}),
            ("/v1/sitemap.xml", {}),
            ("/v1/search", {"q": DRAFT_WORD}),
            ("/v1/search", {"q": SCHEDULED_WORD}),
            ("/v1/search", {"q": DRAFT_FAQ_WORD, "type": "faq"}),
            ("/v1/search", {"q": "unfinished notice"}),
        )
    ]
    answers += [_walk_sync(srv), _walk_sync(srv, channel="kiosk")]
    for text in answers:
        found = [word for word in SECRETS if word in text.lower()]
        assert found == [], [(w, text[max(0, text.lower().find(w) - 200) :][:300]) for w in found]


def _variants(operation: dict[str, Any]) -> list[dict[str, str]]:
    """Query variants for one operation: none, every enum value of each parameter, every
    name `include` and `fields` allow, and the largest page."""
    variants: list[dict[str, str]] = [{}]
    for parameter in operation.get("parameters") or []:
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter.get("schema") or {}
        for value in schema.get("enum") or []:
            if value is not None:
                variants.append({name: str(value)})
        if name in ("include", "fields") and "pattern" in schema:
            names = re.findall(r"[a-z_]+", schema["pattern"].split(")(")[0])
            variants.append({name: ",".join(names)})
        if name == "limit":
            variants.append({name: "100"})
    return variants


def test_no_public_answer_of_any_documented_operation_names_a_draft(servers: Servers) -> None:
    """Every documented GET, with every channel and every include, in both locales, and
    for items by the slugs the lists give and by the drafts' own slugs: no answer to a
    request without a key or link says anything of the drafts or the scheduled item."""
    srv = servers.preview_only
    document = _get(srv, "/docs/openapi.json").json()
    searched = [DRAFT_WORD, SCHEDULED_WORD, DRAFT_FAQ_WORD, "unfinished", "sundays"]
    samples = {
        "/v1/articles/{slug}": [LIVE, DRAFT, SCHEDULED],
        "/v1/conditions/{slug}": ["crps"],
        "/v1/symptoms/{slug}": ["burning-pain"],
        "/v1/treatments/{slug}": ["ketamine-infusion"],
        "/v1/faqs/{slug}": ["what-is-crps", DRAFT_FAQ],
        "/v1/faq-topics/{slug}": ["about-crps"],
    }
    asked = 0
    for template, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        paths = [template.replace("{slug}", slug) for slug in samples.get(template, [""])]
        for path in paths:
            for variant in _variants(operation):
                for locale in ("en", "es"):
                    params = {**variant}
                    if any(p["name"] == "locale" for p in operation.get("parameters") or []):
                        params.setdefault("locale", locale)
                    queries = (
                        [dict(params, q=word) for word in searched]
                        if "search" in path
                        else [params]
                    )
                    for query in queries:
                        response = _get(srv, path, **query)
                        asked += 1
                        text = response.text.lower()
                        named = {w for w in SECRETS if w in path or w in str(query)}
                        leaked = [w for w in SECRETS if w in text and w not in named]
                        assert leaked == [], (path, query, response.status_code, text[:300])
                        if response.status_code == 200:
                            assert "publication_status" not in text, (path, query)
    assert asked > 200


def test_preview_settings_and_tokens() -> None:
    """The settings a preview needs, checked at start; tokens open what they name only."""
    settings = Settings.from_env(
        {"CLINIC_API_KEYS": f"preview:{_digest(PREVIEW_KEY)}", "CLINIC_PREVIEW_SECRET": SECRET}
    )
    assert settings.public_keys == ()  # a preview key alone turns keys on for nothing else
    assert settings.preview_secret == SECRET.encode()
    assert SECRET not in repr(settings)
    short = "too-short-a-secret"
    with pytest.raises(SettingsError, match="CLINIC_PREVIEW_SECRET") as raised:
        Settings.from_env({"CLINIC_PREVIEW_SECRET": short})
    assert short not in str(raised.value)
    with pytest.raises(SettingsError, match="CLINIC_SERVE_OVERDUE"):
        Settings.from_env({"CLINIC_SERVE_OVERDUE": "preview"})  # it is served everything

    secret = SECRET.encode()
    token = preview.sign(secret, "faq", DRAFT_FAQ, "es", 2_000_000_000)
    link = preview.verify(secret, token, now=1_900_000_000)
    assert (link.path, link.locale) == (f"/v1/faqs/{DRAFT_FAQ}", "es")
    with pytest.raises(preview.LinkError, match="expired"):
        preview.verify(secret, token, now=2_000_000_000)
    with pytest.raises(preview.LinkError, match="altered"):
        preview.verify(b"another-secret-of-the-same-length-or-so!", token, now=0)
    # The same payload signed for another item, by whoever lacks the secret: refused.
    forged = preview.sign(b"x" * 40, "faq", DRAFT_FAQ, "es", 2_000_000_000)
    with pytest.raises(preview.LinkError, match="altered"):
        preview.verify(secret, forged, now=0)
    for bad in ("", ".", "abc", "a.b.c", "!!.??"):
        with pytest.raises(preview.LinkError):
            preview.verify(secret, bad, now=0)
    assert [preview.parse_ttl(t) for t in ("90", "90s", "30m", "1h", "2d")] == [
        90,
        90,
        1800,
        3600,
        172800,
    ]
    for bad in ("0", "31d", "1w", "-5", "1.5h"):
        with pytest.raises(ValueError, match=r"duration|lasts"):
            preview.parse_ttl(bad)


def _searched(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {word for term in response.json()["meta"]["terms"] for word in term["searched"]}


def test_search_never_corrects_to_a_word_only_unpublished_items_use(servers: Servers) -> None:
    """A misspelt query is corrected against the words of what is served at that instant:
    `meta.terms` must not offer the word of an article that goes live next month."""
    srv = servers.preview_only
    unpublished = {SCHEDULED_WORD, DRAFT_WORD, DRAFT_FAQ_WORD}
    for typo in ("marrem", "maram", "quilwort", "bladderwrak"):
        for channel in ("website", "kiosk", "editor"):
            assert not _searched(_get(srv, "/v1/search", q=typo, channel=channel)) & unpublished
    # Once it is live (asked for with at=), and in the preview, the word is offered.
    ahead = _get(srv, "/v1/search", PREVIEW_KEY, q="marrem", at=servers.monday)
    assert SCHEDULED_WORD in _searched(ahead)
    assert SCHEDULED in {hit["slug"] for hit in ahead.json()["data"]}
    previewed = _get(srv, "/v1/search", PREVIEW_KEY, q="marrem", channel="preview")
    assert SCHEDULED_WORD in _searched(previewed)
    # Words the live content uses are still corrected to.
    assert "ketamine" in _searched(_get(srv, "/v1/search", q="ketamene"))
