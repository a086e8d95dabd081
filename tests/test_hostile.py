"""Hostile content: XSS and injection payloads from tests/data/hostile/payloads.txt
placed in titles, summaries, bodies, FAQ questions and answers and reference titles and
URLs; built by `python -m api build` and read back from a real server.

HTML fields are checked by parsing them with html5lib (as a browser would), not by
searching strings: every element must be one the sanitizer allows, with no event-handler
or style attribute and no URL a browser would run. Plain-text fields must hold the text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import html5lib
import httpx
import pytest
import yaml

from api.build.render import _ALLOWED_TAGS, _URL_SCHEMES
from tests.support import DATA, ROOT, Server, copy_content

PAYLOADS = [
    line
    for line in (DATA / "hostile" / "payloads.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("# ")
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "data"}
#: A URL's scheme as browsers find it (WHATWG URL): letters first, then letters, digits, +-.
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in an attribute value (entities already decoded):
    leading and trailing C0 controls and spaces are stripped, tabs and newlines removed."""
    cleaned = re.sub(r"[\t\n\r]", "", value.strip("".join(map(chr, range(33)))))
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def test_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 60


def run_cli(*args: str, content: Path, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLINIC_CONTENT_DIR": str(content), "CLINIC_DB_PATH": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def front_matter(data: dict[str, Any], body: str) -> str:
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body


def hostile_body(payload: str) -> str:
    return "\n\n".join(
        [
            f"## {payload}",
            f"Some text, then {payload} inline, then more.",
            payload,
            f"- a list item {payload}",
            f"> {payload}",
            f"[a link]({payload}) and ![an image]({payload})",
            f"[reference link][r]\n\n[r]: {payload}",
            f"```html\n{payload}\n```",
            f"<div>{payload}</div>",
        ]
    )


def write_hostile_content(root: Path) -> Path:
    content = write_base(root)
    faqs = []
    for i, payload in enumerate(PAYLOADS):
        article = {
            "slug": f"hostile-{i:03d}",
            "title": payload[:200],
            "summary": payload[:600],
            "author": "claire-whitfield",
            "reviewed_by": "daniel-ashford",
            "last_reviewed": "2026-11-02",
            "next_review_due": "2027-11-02",
            "published_at": "2026-10-15T09:00:00Z",
            "references": [
                {
                    "title": payload[:200],
                    "url": "https://example.org/search?q=" + quote(payload, safe=""),
                }
            ],
        }
        (content / "articles" / f"hostile-{i:03d}.md").write_text(
            front_matter(article, hostile_body(payload)), encoding="utf-8"
        )
        faqs.append(
            {
                "slug": f"hostile-faq-{i:03d}",
                "order": i,
                "question": payload[:300],
                "answer": f"{payload}\n\nAnd again: {payload}",
                "short_answer": f"A plain answer, number {i}.",
            }
        )
    topic = {
        "topic": "hostile",
        "title": "Hostile",
        "order": 99,
        "locale": "en",
        "reviewed_by": "daniel-ashford",
        "last_reviewed": "2026-11-02",
        "next_review_due": "2027-11-02",
        "faqs": faqs,
    }
    (content / "faqs" / "hostile.yaml").write_text(
        yaml.safe_dump(topic, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return content


@pytest.fixture(scope="module")
def hostile_server(
    tmp_path_factory: pytest.TempPathFactory, starts_server: None
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hostile")
    content = write_hostile_content(root)
    db = root / "clinic.db"
    built = run_cli("build", content=content, db=db)
    assert built.returncode == 0, built.stderr
    srv = Server(db, content).start()
    yield srv
    srv.stop()


def fetch_all(server: Server, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url: str | None = f"{server.url}{path}?limit=100"
    while url:
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["data"]
        cursor = body["meta"]["next_cursor"]
        url = f"{server.url}{path}?limit=100&cursor={cursor}" if cursor else None
    return items


def executable_parts(html: str) -> list[str]:
    """Everything in `html` a browser could run or that could restyle the page."""
    found = []
    fragment = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    for element in fragment.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag and tag != "DOCUMENT_FRAGMENT" and tag not in _ALLOWED_TAGS:
            found.append(f"element <{tag}>")
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on") or name == "style":
                found.append(f"attribute {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in _URL_SCHEMES:
                    found.append(f"URL {value!r} in {name} on <{tag}>")
    return found


def test_html_fields_hold_nothing_executable(hostile_server: Server) -> None:
    problems = []
    for kind, field in (("articles", "body_html"), ("faqs", "answer_html")):
        for summary in fetch_all(hostile_server, f"/v1/{kind}"):
            if not summary["slug"].startswith("hostile"):
                continue
            item = httpx.get(f"{hostile_server.url}/v1/{kind}/{summary['slug']}").json()
            problems += [f"{summary['slug']}: {p}" for p in executable_parts(item[field])]
    assert not problems, "\n".join(problems)


def test_the_checker_would_catch_them() -> None:
    """The parse-based check is not vacuous: unsanitized payloads fail it."""
    caught = [p for p in PAYLOADS if executable_parts(p)]
    assert len(caught) >= 40, len(caught)
    assert executable_parts('<a href=" JaVa&#x09;ScRiPt:alert(1)">x</a>')


def test_plain_text_fields_hold_the_text(hostile_server: Server) -> None:
    by_slug = {a["slug"]: a for a in fetch_all(hostile_server, "/v1/articles")}
    faqs = {f["slug"]: f for f in fetch_all(hostile_server, "/v1/faqs")}
    for i, payload in enumerate(PAYLOADS):
        article = by_slug[f"hostile-{i:03d}"]
        assert article["title"] == payload[:200]
        assert article["summary"] == payload[:600]
        faq = faqs[f"hostile-faq-{i:03d}"]
        assert faq["question"] == payload[:300]
        assert faq["short_answer"] == f"A plain answer, number {i}."
        assert "And again:" in faq["answer_text"]
        detail = httpx.get(f"{hostile_server.url}/v1/articles/hostile-{i:03d}").json()
        assert "Some text, then" in detail["body_text"]
        assert detail["references"][0]["title"] == payload[:200]
        assert detail["references"][0]["url"].startswith("https://example.org/search?q=")


def test_json_is_served_as_json_not_html(hostile_server: Server) -> None:
    response = httpx.get(f"{hostile_server.url}/v1/articles/hostile-000")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "javascript:alert(1)", "references[0].url: Expected `str` matching regex"),
        ("url", "data:text/html,<script>alert(1)</script>", "references[0].url: Expected"),
        ("url", 'https://example.org/"><script>alert(1)</script>', "references[0].url"),
        ("url", "JaVaScRiPt:alert(1)", "references[0].url"),
    ],
)
def test_script_urls_in_references_are_refused(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    content = write_base(tmp_path)
    article = content / "articles" / "ketamine-for-crps.md"
    _, head, body = article.read_text(encoding="utf-8").split("---\n", 2)
    data = yaml.safe_load(head)
    data["references"] = [{"title": "x", field: value}]
    article.write_text(front_matter(data, body), encoding="utf-8")
    result = run_cli("check", content=content, db=tmp_path / "x.db")
    assert result.returncode == 1
    assert message.replace("`", "") in result.stderr.replace("`", ""), result.stderr


def write_base(root: Path) -> Path:
    """A private copy of content/ under root."""
    return copy_content(root)


def test_markup_in_kiosk_answers_is_refused(tmp_path: Path) -> None:
    content = write_base(tmp_path)
    faq = content / "faqs" / "about-crps.yaml"
    data = yaml.safe_load(faq.read_text(encoding="utf-8"))
    data["faqs"][0]["short_answer"] = "<script>alert(1)</script>"
    faq.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("check", content=content, db=tmp_path / "x.db")
    assert result.returncode == 1
    assert (
        "faqs/about-crps.yaml: faqs[0].short_answer: must be plain text: no Markdown or HTML"
        in result.stderr
    )


def test_bad_files_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    content = write_base(tmp_path)
    db = tmp_path / "clinic.db"
    assert run_cli("build", content=content, db=db).returncode == 0
    article = content / "articles" / "ketamine-for-crps.md"
    original = article.read_bytes()
    # Invalid UTF-8 in the front matter (a Windows-1252 curly quote), on line 4.
    article.write_bytes(original.replace(b'title: "Ketamine', b'title: "\x93Ketamine', 1))
    # A huge file.
    (content / "symptoms" / "huge.md").write_bytes(b"---\n" + b"x" * (600 * 1024))
    # Deeply nested YAML.
    nested = "[" * 50 + "]" * 50
    (content / "faqs" / "nested.yaml").write_text(f"topic: nested\nfaqs: {nested}\n")
    # A "billion laughs" alias bomb in a real field: refused at once, not expanded.
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    (content / "faqs" / "bomb.yaml").write_text("\n".join(bomb) + "\nfaqs: *i\n")

    result = run_cli("build", content=content, db=db)
    assert result.returncode == 1
    errors = result.stderr
    assert "articles/ketamine-for-crps.md: -: not valid UTF-8 (byte" in errors
    assert ", line 4)" in errors
    assert "symptoms/huge.md: -: file is 614404 bytes; the limit is 524288" in errors
    assert "faqs/nested.yaml: -: YAML nested 21 deep; the limit is 20" in errors
    assert "faqs/bomb.yaml:" in errors
    assert f"{db} was left as it was" in errors


def test_json_ld_cannot_break_out_of_its_script_tag(hostile_server: Server) -> None:
    for i in range(len(PAYLOADS)):
        item = httpx.get(f"{hostile_server.url}/v1/articles/hostile-{i:03d}").json()
        script = item["json_ld_script"]
        assert "<" not in script
        assert ">" not in script
        assert json.loads(script) == item["json_ld"]
        # Placed in a page as the JSON-LD script's text, it stays one script's text.
        page = f'<script type="application/ld+json">{script}</script><p>after</p>'
        tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
        scripts = tree.findall(".//script")
        assert len(scripts) == 1
        assert scripts[0].text == script
        assert tree.find(".//p") is not None


def test_feeds_escape_hostile_content(hostile_server: Server) -> None:
    query = "?limit=50"
    for kind in ("atom", "rss"):
        response = httpx.get(f"{hostile_server.url}/v1/feeds/articles.{kind}{query}")
        assert response.status_code == 200
        root = ElementTree.fromstring(response.content)  # well-formed: everything escaped
        texts = [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1]
                 in ("content", "description", "encoded")]  # fmt: skip
        assert len(texts) >= 50
        problems = [p for text in texts for p in executable_parts(text)]
        assert not problems, problems[:10]
        titles = {el.text for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "title"}
        assert PAYLOADS[0] in titles or any(p in titles for p in PAYLOADS)
    feed = httpx.get(f"{hostile_server.url}/v1/feeds/articles.json{query}").json()
    assert len(feed["items"]) == 50
    for entry in feed["items"]:
        assert not executable_parts(entry.get("content_html", "")), entry["id"]
