"""The problem+json responses each kind of operation documents."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from api.errors import PROBLEM_MEDIA_TYPE, problem_type
from schemas.resources import Problem


def _problem(status: int, description: str, detail: str) -> ResponseSpec:
    example = {
        "type": problem_type(status),
        "title": description,
        "status": status,
        "detail": detail,
    }
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description=description,
        generate_examples=False,
        examples=[Example(summary=description, value=example)],
    )


BAD_REQUEST = _problem(400, "Bad Request", "Invalid parameter(s) limit. limit: Expected int <= 100")
NOT_FOUND = _problem(404, "Not Found", "No article with slug 'nope' in locale 'en'.")
GONE = _problem(
    410,
    "Gone",
    "The article 'old-guide' was withdrawn: Merged into the new guide."
    " It is replaced by /v1/articles/new-guide.",
)
SYNC_GONE = _problem(
    410,
    "Gone",
    "This cursor belongs to another build of the content (lineage 3f2a9c0d1e4b5a67);"
    " sync again from the start, without a cursor.",
)
UNAVAILABLE = _problem(503, "Service Unavailable", "Content has not been built yet.")
UNAUTHORIZED = _problem(401, "Unauthorized", "The API key is not valid.")
TOO_MANY_REQUESTS = _problem(
    429, "Too Many Requests", "Too many requests: the limit is 600 every 60 s. Try again in 12 s."
)
#: What the HTTP layers (api.middleware) may answer to any keyed, rate-limited operation.
GUARDED = {401: UNAUTHORIZED, 429: TOO_MANY_REQUESTS}


def site_responses() -> dict[int, ResponseSpec]:
    return {400: BAD_REQUEST, **GUARDED, 503: UNAVAILABLE}


def list_responses() -> dict[int, ResponseSpec]:
    return {400: BAD_REQUEST, **GUARDED, 503: UNAVAILABLE}


def detail_responses() -> dict[int, ResponseSpec]:
    return {400: BAD_REQUEST, **GUARDED, 404: NOT_FOUND, 410: GONE, 503: UNAVAILABLE}
