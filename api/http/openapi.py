"""The delivery layer's part of the OpenAPI document: validators, 304 and conditional headers.

Added to every GET operation the layer prepares (all but /health and /ready), so endpoints
that other issues add are documented the same way without saying so themselves.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIHeader, OpenAPIResponse, OpenAPIType, Parameter
from litestar.openapi.spec import Schema as OpenAPISchema

from api.http.delivery import NO_STORE_PATHS

_STRING = OpenAPISchema(type=OpenAPIType.STRING)

RESPONSE_HEADERS = {
    "ETag": "Strong validator of these bytes, the same on every replica built from the same"
    " content (each compression has its own). Send it in `If-None-Match` to get 304.",
    "Last-Modified": "When the content last changed; for `If-Modified-Since`.",
    "Cache-Control": "`public, max-age=N, stale-while-revalidate=N, stale-if-error=N`;"
    " configurable (CLINIC_CACHE_*).",
    "Vary": "`Accept-Encoding`, and `Origin` when CORS origins are configured.",
}
NOT_MODIFIED = OpenAPIResponse(
    description="Not Modified: the copy named by `If-None-Match` (or, without it,"
    " `If-Modified-Since`) is current. No body; the validators are repeated.",
    headers={name: OpenAPIHeader(description=text, schema=_STRING)
             for name, text in RESPONSE_HEADERS.items()},
)  # fmt: skip
CONDITIONAL_PARAMETERS = [
    Parameter(
        name="If-None-Match",
        param_in="header",
        required=False,
        schema=_STRING,
        description="ETags the client holds (a list, weak or strong, or `*`); a match answers 304.",
    ),
    Parameter(
        name="If-Modified-Since",
        param_in="header",
        required=False,
        schema=_STRING,
        description="An HTTP date; answers 304 if the content has not changed since."
        " Ignored when If-None-Match is sent.",
    ),
]


def document_delivery(schema: OpenAPI) -> None:
    """Add validators, 304 and the conditional request headers to every prepared GET."""
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
        names = {p.name for p in operation.parameters or [] if isinstance(p, Parameter)}
        operation.parameters = [
            *(operation.parameters or []),
            *(p for p in CONDITIONAL_PARAMETERS if p.name not in names),
        ]
