"""Preview over HTTP: the `at` and `preview_token` parameters, and POST /v1/preview-links.

Who may use them is decided in front of the framework, by the preview gate
(api/middleware/preview.py); the handlers read its judgement (api/preview.py). The
parameters are named for the document and the unknown-parameter check: in the shared
dependencies of lists and items (api/controllers/pipeline.py), and here, once, for the
controllers that are not one content type's (search, feeds, the sitemap, FAQ topics).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from litestar import Response, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter

from api import preview
from api.controllers.pipeline import AT_DESCRIPTION, Forbidden, StoreDep, default_locale
from api.controllers.responses import BAD_REQUEST, GUARDED, NOT_FOUND, UNAVAILABLE, _problem
from api.errors import NotFound
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
