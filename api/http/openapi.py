"""The delivery layer's part of the OpenAPI document: validators, 304 and 412.

Added to every GET operation the layer prepares (all but /health and /ready), so endpoints
that other issues add are documented the same way without saying so themselves.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
)
from litestar.openapi.spec import Schema as OpenAPISchema

from api.errors import PROBLEM_MEDIA_TYPE, problem_type
from api.http.delivery import NO_STORE_PATHS, PRECONDITION_DETAIL

_STRING = OpenAPISchema(type=OpenAPIType.STRING)

RESPONSE_HEADERS = {
    "ETag": "Strong validator of these bytes, the same on every replica built from the same"
    " content (each compression has its own). Send it in `If-None-Match` to get 304.",
    "Last-Modified": "A date of the content, the same on every replica: the item's"
    " `updated_at` (or the day its review status last changed, if later), the newest of a"
    " list's or a feed's items, else the newest of the whole content. For"
    " `If-Modified-Since`; `If-None-Match` is exact and wins.",
    "Cache-Control": "`public, max-age=N, stale-while-revalidate=N, stale-if-error=N`;"
    " configurable (CLINIC_CACHE_*).",
    "Vary": "`Accept-Encoding`, and `Origin` when CORS origins are configured.",
}
NOT_MODIFIED_HEADERS = {
    **{name: text for name, text in RESPONSE_HEADERS.items() if name != "Last-Modified"},
    "Date": "When this answer was made.",
}
NOT_MODIFIED = OpenAPIResponse(
    description="Not Modified: the copy named by `If-None-Match` (or, without it,"
    " `If-Modified-Since`) is current. No body, and only what a cache needs to update the"
    " copy it stored (RFC 9110, 15.4.5): ETag, Cache-Control, Vary and Date, with"
    " X-Request-ID and, where limits apply, the RateLimit-* fields. Not Last-Modified,"
    " Content-Language or the security headers: the stored 200 carries them.",
    headers={name: OpenAPIHeader(description=text, schema=_STRING)
             for name, text in NOT_MODIFIED_HEADERS.items()},
)  # fmt: skip


PRECONDITION_FAILED_DESCRIPTION = (
    "Precondition Failed: `If-Match` names no entity tag of the current representation"
    " (strong comparison: a weak tag never matches), or, without `If-Match`, the content"
    " changed after the date in `If-Unmodified-Since`."
)


def _precondition_failed() -> OpenAPIResponse:
    """The 412 a prepared GET may answer, in the problem shape of every error."""
    example = {
        "type": problem_type(412),
        "title": "Precondition Failed",
        "status": 412,
        "detail": PRECONDITION_DETAIL,
    }
    media = OpenAPIMediaType(
        schema=Reference(ref="#/components/schemas/Problem"),
        examples={"problem-example-1": Example(summary="Precondition Failed", value=example)},
    )
    return OpenAPIResponse(
        description=PRECONDITION_FAILED_DESCRIPTION, content={PROBLEM_MEDIA_TYPE: media}
    )


def document_delivery(schema: OpenAPI) -> None:
    """Add the validators, 304 and 412 to every prepared GET.

    If-None-Match, If-Modified-Since, If-Match and If-Unmodified-Since are not listed as
    parameters: they are plain HTTP, every operation takes them, and the descriptions of
    304 and 412 say what they do.
    """
    for path, item in (schema.paths or {}).items():
        operation = item.get
        if path in NO_STORE_PATHS or operation is None or operation.responses is None:
            continue
        ok = operation.responses.get("200")
        if not isinstance(ok, OpenAPIResponse):
            continue
        ok.headers = {
            **{name: OpenAPIHeader(description=text, schema=_STRING)
               for name, text in RESPONSE_HEADERS.items()},
            **(ok.headers or {}),
        }  # fmt: skip
        responses = {**operation.responses, "304": NOT_MODIFIED, "412": _precondition_failed()}
        operation.responses = dict(sorted(responses.items()))
