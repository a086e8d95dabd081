"""Teaches schemathesis two things the document cannot say (loaded with SCHEMATHESIS_HOOKS).

Cursors. The document gives every `cursor` a pattern, a length and `format: cursor`: only
values the API issued for the same query are valid, which no schema can say. So a
generated cursor that the pattern and length accept (a schema-valid one) is replaced by
one the server really issues for the case's other parameters (asked with `limit=1`), or
left out when that query has no second page. Cursors that break the pattern or the length
are left alone: those are negative data, and the API must refuse them.

Locales. `locale` must be one of the site's locales (content/site.yaml), a fact of the
content, not of the code the document is generated from. A schema-valid locale the site
does not list is replaced by one it does.

Exclusions. `GET /v1/faqs?q=` says in words that it does not take `sort`, `fields`,
`updated_since` or `review_status` (parameters cannot exclude each other in a schema); a
positive case with `q` leaves them out. Likewise `GET /v1/search` takes `topic` only with
`type=faq`. Negative cases are left as they are.

The replacements are picked by a hash of the generated value, so runs repeat. Likewise,
half of the schema-valid slugs in item paths are swapped for slugs that exist in content/,
so detail operations are fuzzed on real items too, not only on 404s.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
import schemathesis

from api.build import check
from api.controllers.pipeline import CURSOR_PATTERN, MAX_CURSOR_LENGTH
from schemas.content import LOCALE_PATTERN, SLUG_PATTERN

URL = os.environ.get("CLINIC_FUZZ_URL", "")
HEADERS = {"X-API-Key": os.environ.get("CLINIC_FUZZ_KEY", "")}
_VALID_CURSOR = re.compile(CURSOR_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)
_LOCALE = re.compile(LOCALE_PATTERN)
_loaded = check(Path(__file__).resolve().parents[1] / "content")
LOCALES = sorted(_loaded.site.locales) if _loaded.site else ["en"]
SLUGS: dict[str, list[str]] = {}
for _page in _loaded.pages:
    SLUGS.setdefault(f"/v1/{_page.kind}s/{{slug}}", []).append(_page.source.slug)
for _path, _topic in _loaded.faq_topics:
    SLUGS.setdefault("/v1/faqs/{slug}", []).extend(faq.slug for faq in _topic.faqs)
_issued: dict[tuple[str, str], str | None] = {}


def _pick(value: str, choices: list[str]) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return sorted(choices)[digest[1] % len(choices)]


def issued_cursor(path: str, query: dict[str, Any]) -> str | None:
    """The cursor the server issues after the first item of this query, if there is one."""
    params = {k: v for k, v in query.items() if k != "cursor"} | {"limit": 1}
    key = (path, repr(sorted(params.items(), key=str)))
    if key not in _issued:
        try:
            response = httpx.get(URL + path, params=params, headers=HEADERS, timeout=10)
            body = response.json() if response.status_code == 200 else {}
            _issued[key] = (body.get("meta") or {}).get("next_cursor")
        except (httpx.HTTPError, ValueError):
            _issued[key] = None
    return _issued[key]


NOT_WITH_Q = ("sort", "fields", "updated_since", "review_status")


def is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and not meta.generation.mode.is_negative


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    query = case.query if isinstance(case.query, dict) else {}
    if case.operation.path == "/v1/faqs" and "q" in query and is_positive(case):
        for name in NOT_WITH_Q:
            query.pop(name, None)
    if case.operation.path == "/v1/search" and query.get("type") != "faq" and is_positive(case):
        query.pop("topic", None)
    locale = query.get("locale")
    if isinstance(locale, str) and _LOCALE.match(locale) and locale not in LOCALES:
        query["locale"] = _pick(locale, LOCALES)
    cursor = query.get("cursor")
    if isinstance(cursor, str) and len(cursor) <= MAX_CURSOR_LENGTH and _VALID_CURSOR.match(cursor):
        real = issued_cursor(case.formatted_path, query)
        if real is None:
            del query["cursor"]
        else:
            query["cursor"] = real
    slug = (case.path_parameters or {}).get("slug")
    real_slugs = SLUGS.get(case.operation.path)
    if (
        isinstance(slug, str)
        and real_slugs
        and len(slug) <= 80
        and _SLUG.match(slug)
        and hashlib.sha256(slug.encode()).digest()[0] % 2 == 0
    ):
        case.path_parameters["slug"] = _pick(slug, real_slugs)
    return case
