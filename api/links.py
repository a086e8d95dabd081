"""Links to items: their pages on the clinic's website and their paths in this API.

JSON-LD, feeds, the sitemap, FAQ topics, search and events all make their links here, from
one base-URL rule, so an item has the same URL wherever it is named.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.registry import BY_NAME, FAQ_TOPIC_PAGE, PAGE_KINDS
from schemas.content import SitePaths, SiteSource


def base_url(configured: str | None, built: str) -> str:
    """The website's base URL: CLINIC_BASE_URL when set, else the site's, without a final
    slash (the paths below it start with one)."""
    return (configured or built).rstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteLinks:
    """Where items live, on the website below `base_url` and in this API. Items in another
    locale than the default get a `/{locale}` prefix on the website and `?locale=` here."""

    base_url: str
    paths: SitePaths
    default_locale: str

    @classmethod
    def of(cls, site: SiteSource, configured: str | None = None) -> SiteLinks:
        """The links of a site as built, with CLINIC_BASE_URL (`configured`) when set."""
        return cls(
            base_url=base_url(configured, site.base_url),
            paths=site.paths,
            default_locale=site.default_locale,
        )

    def page(self, kind: str, slug: str, locale: str) -> str:
        """The absolute URL of a page of one kind (an item type with a page, or
        `faq-topic`)."""
        path = str(getattr(self.paths, PAGE_KINDS[kind])).replace("{slug}", slug)
        prefix = "" if locale == self.default_locale else f"/{locale}"
        return f"{self.base_url}{prefix}{path}"

    def item(self, type_: str, slug: str, locale: str, topic: str | None) -> str | None:
        """The page that shows an item: its own, or, for an FAQ, its place on its topic's
        page (None when the topic is not known)."""
        if BY_NAME[type_].page is not None:
            return self.page(type_, slug, locale)
        if topic is None:
            return None
        return f"{self.page(FAQ_TOPIC_PAGE, topic, locale)}#{slug}"

    def api_path(self, type_: str, slug: str, locale: str) -> str:
        return api_path(type_, slug, locale=locale, default_locale=self.default_locale)


def api_path(type_: str, slug: str, *, locale: str, default_locale: str) -> str:
    """An item's path in this API, with `?locale=` unless it is in the default locale."""
    path = f"{BY_NAME[type_].path}/{slug}"
    return path if locale == default_locale else f"{path}?locale={locale}"
