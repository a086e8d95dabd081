"""Absolute links to the clinic's website pages, used by JSON-LD, feeds and the sitemap."""

from __future__ import annotations

from schemas.content import SitePaths

#: Item type -> the SitePaths field naming where its page lives.
PAGE_KINDS = {
    "article": "article",
    "condition": "condition",
    "symptom": "symptom",
    "treatment": "treatment",
    "faq-topic": "faq_topic",
}


def page_url(
    base_url: str, paths: SitePaths, kind: str, slug: str, locale: str, default_locale: str
) -> str:
    """The public URL of an item's page; other locales than the default get a /{locale} prefix."""
    path = str(getattr(paths, PAGE_KINDS[kind])).replace("{slug}", slug)
    prefix = "" if locale == default_locale else f"/{locale}"
    return f"{base_url.rstrip('/')}{prefix}{path}"
