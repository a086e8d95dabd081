"""The delivery layer's part of the OpenAPI document: validators and 304.

Added to every GET operation the layer prepares (all but /health and /ready), so endpoints
that other issues add are documented the same way without saying so themselves.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIHeader, OpenAPIResponse, OpenAPIType
from litestar.openapi.spec import Schema as OpenAPISchema

from api.http.delivery import NO_STORE_PATHS

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


def document_delivery(schema: OpenAPI) -> None:
    """Add the validators and 304 to every prepared GET.

    If-None-Match and If-Modified-Since are not listed as parameters: they are plain HTTP,
    every operation takes them, and the 304's description says what they do.
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
        responses = {**operation.responses, "304": NOT_MODIFIED}
        operation.responses = dict(sorted(responses.items()))
