"""Checks that tie translations to their originals.

A translation keeps its original's slug and differs by `locale`, so the pair is one item in
two languages: `GET /v1/faqs/{slug}?locale=es` falls back to the original when there is
no translation, and a translation without an original is a mistake the check reports.
"""

from __future__ import annotations

from api.build.load import ContentError, Loaded


def check_translations(loaded: Loaded) -> list[ContentError]:
    errors: list[ContentError] = []
    site = loaded.site
    if site is None:
        return errors
    default = site.default_locale
    for locale in site.translations:
        if locale == default:
            errors.append(
                ContentError(
                    "site.yaml",
                    f"translations.{locale}",
                    f"'{locale}' is the default locale; its words are the top-level fields",
                )
            )
        elif locale not in site.locales:
            errors.append(
                ContentError("site.yaml", f"translations.{locale}", f"'{locale}' is not in locales")
            )

    originals = {
        (page.kind, page.source.slug) for page in loaded.pages if page.source.locale == default
    }
    for page in loaded.pages:
        if page.source.locale != default and (page.kind, page.source.slug) not in originals:
            errors.append(
                ContentError(
                    page.path,
                    "slug",
                    f"no {default} {page.kind} '{page.source.slug}' to translate;"
                    " a translation keeps the slug of its original",
                )
            )

    faq_topics = {
        faq.slug: topic.topic
        for _, topic in loaded.faq_topics
        if topic.locale == default
        for faq in topic.faqs
    }
    for path, topic in loaded.faq_topics:
        if topic.locale == default:
            continue
        for i, faq in enumerate(topic.faqs):
            original = faq_topics.get(faq.slug)
            if original is None:
                errors.append(
                    ContentError(
                        path,
                        f"faqs[{i}].slug",
                        f"no {default} FAQ '{faq.slug}' to translate;"
                        " a translation keeps the slug of its original",
                    )
                )
            elif original != topic.topic:
                errors.append(
                    ContentError(
                        path,
                        f"faqs[{i}].slug",
                        f"its {default} original is in topic '{original}', not '{topic.topic}'",
                    )
                )
    return errors
