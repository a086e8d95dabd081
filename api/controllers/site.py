"""GET /v1/site: the clinic's settings as the last build stored them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from api.controllers.locales import negotiate
from api.controllers.pipeline import LocaleParam, StoreDep
from api.controllers.responses import site_responses
from api.http.negotiation import REVISION_HEADER
from api.storage.reader import DatabaseUnavailable
from schemas.resources import Site


@get("/v1/site", operation_id="getSite", summary="Get the site settings", tags=["site"],
     responses=site_responses())  # fmt: skip
async def get_site(
    request: Request[Any, Any, Any], store: StoreDep, locale: LocaleParam = None
) -> Response[Site]:
    """The clinic's name, base URL, medical disclaimer, locales and current content revision."""
    async with store.snapshot():
        meta = await store.refresh_meta()
    if "site" not in meta:
        raise DatabaseUnavailable("no build yet")
    negotiated = negotiate(store, request, locale)
    site = msgspec.json.decode(meta["site"])
    words = site.get("translations", {}).get(negotiated.locale, {})
    served = negotiated.locale if words or negotiated.locale == negotiated.default else None
    body = Site(
        locale=served or negotiated.default,
        name=words.get("name") or site["name"],
        base_url=site["base_url"],
        description=words.get("description") or site["description"],
        disclaimer=words.get("disclaimer") or site["disclaimer"],
        default_locale=site["default_locale"],
        locales=site["locales"],
        phone=site.get("phone"),
        email=site.get("email"),
        address=words.get("address") or site.get("address"),
        content_revision=int(meta["content_revision"]),
        content_hash=meta["content_hash"],
    )
    headers = {**negotiated.headers([body.locale]), REVISION_HEADER: meta["content_revision"]}
    return Response(body, headers=headers)
