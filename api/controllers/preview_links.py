"""Preview over HTTP: the `at` and `preview_token` parameters, and POST /v1/preview-links.

Who may use them is decided in front of the framework, by the preview gate
(api/middleware/preview.py); the handlers read its judgement (api/preview.py). The
parameters are named for the document and the unknown-parameter check: in the shared
dependencies of lists and items (api/controllers/pipeline.py), and here, once, for the
controllers that are not one content type's (search, feeds, the sitemap, FAQ topics).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from typing import Any

from litestar import Response, post
from litestar.datastructures import State
from litestar.openapi.spec import Example, OpenAPI, OpenAPIResponse
from litestar.params import JSONBody, QueryParameter

from api import preview
from api.controllers.pipeline import AT_DESCRIPTION, Forbidden, StoreDep, default_locale
from api.controllers.responses import BAD_REQUEST, GUARDED, NOT_FOUND, UNAVAILABLE, _problem
from api.errors import NotFound, problem_type
from api.settings import Settings
from schemas.resources import PreviewLink, PreviewLinkRequest

#: `at` for every operation that answers content at an instant.
AT_PARAMETERS: dict[str, Any] = {
    preview.AT_PARAM: QueryParameter(
        annotation=str | None,
        name=preview.AT_PARAM,
        default=None,
        required=False,
        max_length=64,
        description=AT_DESCRIPTION,
        schema_extra={"format": "date-time"},
    )
}
FORBIDDEN = _problem(
    403,
    "Forbidden",
    "Making a preview link needs a preview or an editor key, not a key of the website channel.",
)


@post(
    preview.LINKS_PATH,
    operation_id="createPreviewLink",
    summary="Make a signed preview link",
    tags=["preview"],
    status_code=200,
    responses={400: BAD_REQUEST, **GUARDED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE},
)
async def create_preview_link(
    data: JSONBody[PreviewLinkRequest], store: StoreDep, state: State
) -> Response[PreviewLink]:
    """A URL that opens one item (a draft, a scheduled one, any) as the preview channel
    shows it, for someone without a key: a medical reviewer, or the website's draft mode.
    Needs an `editor` or a `preview` key, even where keys are otherwise off; the link
    expires after `ttl` seconds. Signed with the server's CLINIC_PREVIEW_SECRET (HMAC-SHA256
    over the type, slug, locale and expiry): changing any of them breaks it."""
    seen = preview.current()
    if seen is None or not seen.may_link:
        raise Forbidden(detail="Making a preview link needs an editor or a preview key.")
    settings: Settings = state.settings
    if settings.preview_secret is None:
        raise Forbidden(
            detail="Preview links are not enabled on this server: it has no CLINIC_PREVIEW_SECRET."
        )
    async with store.snapshot():
        locale = data.locale or default_locale(store)
        window = store.review_policy.window(preview.PREVIEW_CHANNEL, everything=True)
        found = await store.find(data.type, data.slug, locale, window)
    if found is None:
        raise NotFound(detail=f"No {data.type} with slug '{data.slug}' in locale '{locale}'.")
    expires = int(time.time()) + data.ttl
    token = preview.sign(settings.preview_secret, data.type, data.slug, locale, expires)
    body = PreviewLink(
        url=preview.link_url(settings.api_url, data.type, data.slug, locale, token),
        token=token,
        type=data.type,
        slug=data.slug,
        locale=locale,
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
        publication_status="withdrawn" if found.withdrawn is not None else found.state,
    )
    return Response(body, headers={"Cache-Control": "private, no-store"})


def document_preview(schema: OpenAPI) -> None:
    """What the preview gate does, in the document: making a link needs a key (always),
    and every operation that takes `at` may answer 403 (no preview or editor key, or a
    key of another channel) besides the 401 of a missing or wrong key."""
    # The body is read strictly (a misspelt field is refused, not ignored): say so.
    request_schema = (schema.components.schemas or {}).get(PreviewLinkRequest.__name__)
    if request_schema is not None:
        request_schema.additional_properties = False
    for item in (schema.paths or {}).values():
        if item.post is not None and item.post.operation_id == "createPreviewLink":
            item.post.security = [{"ApiKey": []}, {"Bearer": []}]
        operation = item.get
        if operation is None or not any(
            getattr(p, "name", None) == preview.AT_PARAM for p in operation.parameters or []
        ):
            continue
        responses = dict(operation.responses or {})
        unauthorized = responses.get("401")
        if "403" in responses or not isinstance(unauthorized, OpenAPIResponse):
            continue
        forbidden = copy.deepcopy(unauthorized)
        forbidden.description = "Forbidden"
        (forbidden.headers or {}).pop("WWW-Authenticate", None)
        for media in (forbidden.content or {}).values():
            media.examples = {
                "problem-example-1": Example(
                    summary="Forbidden",
                    value={
                        "type": problem_type(403),
                        "title": "Forbidden",
                        "status": 403,
                        "detail": "at= needs a preview or an editor key, not a key of the"
                        " website channel.",
                    },
                )
            }
        operation.responses = dict(sorted({**responses, "403": forbidden}.items()))
