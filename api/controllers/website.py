"""What the website-facing endpoints (feeds, sitemap, FAQ topics) share: the site as built
and the public base URL its absolute links start with."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec
from litestar.datastructures import State

from api.jsonld import Doc, organization
from api.links import SiteLinks, base_url
from api.storage.reader import DatabaseUnavailable, Store
from schemas.content import SiteSource

log = logging.getLogger("api.website")
_decode_site = msgspec.json.Decoder(SiteSource)


@dataclass(frozen=True, slots=True)
class Website:
    site: SiteSource
    links: SiteLinks

    @property
    def base_url(self) -> str:
        return self.links.base_url

    def url(self, kind: str, slug: str, locale: str) -> str:
        return self.links.page(kind, slug, locale)

    @property
    def home(self) -> str:
        return self.base_url + "/"

    @property
    def publisher(self) -> Doc:
        return organization(self.site.name, self.base_url)


async def website(store: Store, state: State) -> Website:
    """The site as last built; CLINIC_BASE_URL, when set, gives the base URL.

    The build already applied CLINIC_BASE_URL to the stored site (and to the JSON-LD baked
    into items), so the two only differ when the server runs with another value than the
    build did; the setting wins for what is made per request, and a warning is logged.
    """
    meta = await store.refresh_meta()
    if "site" not in meta:
        raise DatabaseUnavailable("no build yet")
    site = _decode_site.decode(meta["site"])
    configured: str | None = state.settings.base_url
    links = SiteLinks.of(site, configured)
    built = base_url(None, site.base_url)
    if configured and links.base_url != built and not state.get("warned_base_url"):
        state.warned_base_url = True
        log.warning(
            "CLINIC_BASE_URL is %s but the database was built with %s; rebuild so the"
            " JSON-LD in items uses the same base URL",
            links.base_url,
            site.base_url,
        )
    return Website(site=site, links=links)
