"""Checks that span files: unique slugs, relations that resolve, dates that make sense."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable

from api.build.load import ContentError, Loaded
from schemas.content import ArticleSource, ConditionSource, SymptomSource, TreatmentSource

_REVIEWER_ROLES = {"medical-reviewer", "author-and-reviewer"}
_AUTHOR_ROLES = {"author", "author-and-reviewer"}
_MARKUP = re.compile(r"<[a-zA-Z/!]|\*\*|__|\]\(|^#{1,6}\s|`", re.M)


def check_relations(loaded: Loaded) -> list[ContentError]:
    errors: list[ContentError] = []
    roles: dict[str, str] = {}
    if loaded.people is not None:
        for i, person in enumerate(loaded.people.people):
            if person.slug in roles:
                errors.append(
                    ContentError(
                        "people.yaml", f"people[{i}].slug", f"'{person.slug}' is listed twice"
                    )
                )
            roles[person.slug] = person.role
    site = loaded.site
    locales = set(site.locales) if site else {"en"}
    if site and site.default_locale not in locales:
        errors.append(ContentError("site.yaml", "default_locale", "must be one of locales"))

    seen: dict[tuple[str, str, str], str] = {}
    slugs: dict[str, set[str]] = {"condition": set(), "symptom": set(), "treatment": set()}
    for page in loaded.pages:
        key = (page.kind, page.source.slug, page.source.locale)
        if key in seen:
            errors.append(
                ContentError(
                    page.path, "slug", f"'{key[1]}' ({key[2]}) is also used by {seen[key]}"
                )
            )
        seen[key] = page.path
        slugs.setdefault(page.kind, set()).add(page.source.slug)
    for kind, slug in loaded.invalid_slugs:
        slugs.setdefault(kind, set()).add(slug)
    for path, topic in loaded.faq_topics:
        for i, faq in enumerate(topic.faqs):
            key = ("faq", faq.slug, topic.locale)
            if key in seen:
                errors.append(
                    ContentError(
                        path, f"faqs[{i}].slug", f"'{faq.slug}' is also used by {seen[key]}"
                    )
                )
            seen[key] = path

    def need_person(path: str, field: str, slug: str, allowed: set[str], what: str) -> None:
        if slug not in roles:
            errors.append(ContentError(path, field, f"no person with slug '{slug}' in people.yaml"))
        elif roles[slug] not in allowed:
            errors.append(ContentError(path, field, f"'{slug}' is not listed as {what}"))

    def related(path: str, field: str, kind: str, targets: Iterable[str]) -> None:
        for i, slug in enumerate(targets):
            if slug not in slugs[kind]:
                errors.append(ContentError(path, f"{field}[{i}]", f"no {kind} with slug '{slug}'"))

    def review(path: str, prefix: str, last: object, due: object) -> None:
        if last is not None and due is not None and due <= last:  # type: ignore[operator]
            errors.append(
                ContentError(path, f"{prefix}next_review_due", "must be after last_reviewed")
            )

    for page in loaded.pages:
        src, path = page.source, page.path
        if src.locale not in locales:
            errors.append(
                ContentError(path, "locale", f"'{src.locale}' is not in site.yaml locales")
            )
        need_person(path, "reviewed_by", src.reviewed_by, _REVIEWER_ROLES, "a medical reviewer")
        review(path, "", src.last_reviewed, src.next_review_due)
        errors.extend(_check_bounds(path, "", src.published_at, src.expires_at))
        if isinstance(src, ArticleSource):
            need_person(path, "author", src.author, _AUTHOR_ROLES, "an author")
            related(path, "conditions", "condition", src.conditions)
            related(path, "treatments", "treatment", src.treatments)
            if src.updated_at is not None and src.updated_at < src.published_at:
                errors.append(ContentError(path, "updated_at", "must not be before published_at"))
            if not page.body.strip():
                errors.append(ContentError(path, "body", "an article needs a Markdown body"))
        elif isinstance(src, ConditionSource):
            related(path, "symptoms", "symptom", src.symptoms)
            related(path, "treatments", "treatment", src.treatments)
        elif isinstance(src, SymptomSource | TreatmentSource):
            related(path, "conditions", "condition", src.conditions)

    errors.extend(_check_withdrawn(loaded))

    for path, topic in loaded.faq_topics:
        if topic.locale not in locales:
            errors.append(
                ContentError(path, "locale", f"'{topic.locale}' is not in site.yaml locales")
            )
        need_person(path, "reviewed_by", topic.reviewed_by, _REVIEWER_ROLES, "a medical reviewer")
        review(path, "", topic.last_reviewed, topic.next_review_due)
        errors.extend(_check_bounds(path, "", topic.published_at, topic.expires_at))
        for i, faq in enumerate(topic.faqs):
            at = f"faqs[{i}]."
            if faq.published_at is not None or faq.expires_at is not None:
                errors.extend(
                    _check_bounds(
                        path,
                        at,
                        faq.published_at or topic.published_at,
                        faq.expires_at or topic.expires_at,
                    )
                )
            if faq.reviewed_by is not None:
                need_person(
                    path, at + "reviewed_by", faq.reviewed_by, _REVIEWER_ROLES, "a medical reviewer"
                )
            review(
                path,
                at,
                faq.last_reviewed or topic.last_reviewed,
                faq.next_review_due or topic.next_review_due,
            )
            if faq.condition is not None:
                related(path, at + "condition", "condition", [faq.condition])
            if faq.treatment is not None:
                related(path, at + "treatment", "treatment", [faq.treatment])
            if _MARKUP.search(faq.short_answer):
                errors.append(
                    ContentError(
                        path, at + "short_answer", "must be plain text: no Markdown or HTML"
                    )
                )
    return errors


def _check_bounds(
    path: str, prefix: str, published_at: dt.datetime | None, expires_at: dt.datetime | None
) -> list[ContentError]:
    if published_at is not None and expires_at is not None and expires_at <= published_at:
        return [ContentError(path, f"{prefix}expires_at", "must be after published_at")]
    return []


def _standing(
    draft: bool, published_at: dt.datetime | None, expires_at: dt.datetime | None, now: float
) -> str | None:
    """Why an item is not live at `now`, in words; None when it is."""
    if draft:
        return "a draft"
    if published_at is not None and published_at.timestamp() > now:
        return f"scheduled for {published_at.isoformat()}"
    if expires_at is not None and expires_at.timestamp() <= now:
        return f"expired on {expires_at.isoformat()}"
    return None


def check_schedule(loaded: Loaded, now: float | None = None) -> list[ContentError]:
    """Notices, not errors: a live item that relates to one that is not live at `now`
    (a draft, scheduled or expired). The relation is left out of what is served until its
    target is live, which may be what the editor wants (an article going out with the
    treatment page it links to); said so the editor knows."""
    moment = time.time() if now is None else now
    standing: dict[tuple[str, str, str], str | None] = {}
    for page in loaded.pages:
        src = page.source
        standing[(page.kind, src.slug, src.locale)] = _standing(
            src.draft, src.published_at, src.expires_at, moment
        )
    for _, topic in loaded.faq_topics:
        for faq in topic.faqs:
            standing[("faq", faq.slug, topic.locale)] = _standing(
                faq.draft or topic.draft,
                faq.published_at or topic.published_at,
                faq.expires_at or topic.expires_at,
                moment,
            )
    default = loaded.site.default_locale if loaded.site else "en"
    notices: list[ContentError] = []

    def relates(path: str, field: str, locale: str, kind: str, targets: list[str]) -> None:
        for i, slug in enumerate(targets):
            key = (kind, slug, locale)
            why = standing[key] if key in standing else standing.get((kind, slug, default))
            if why is not None:
                notices.append(
                    ContentError(
                        path,
                        field if field.startswith("faqs[") else f"{field}[{i}]",
                        f"the {kind} '{slug}' is not live ({why}); the relation is hidden"
                        " until it is",
                    )
                )

    for page in loaded.pages:
        src, path = page.source, page.path
        if standing[(page.kind, src.slug, src.locale)] is not None:
            continue
        if isinstance(src, ArticleSource):
            relates(path, "conditions", src.locale, "condition", src.conditions)
            relates(path, "treatments", src.locale, "treatment", src.treatments)
        elif isinstance(src, ConditionSource):
            relates(path, "symptoms", src.locale, "symptom", src.symptoms)
            relates(path, "treatments", src.locale, "treatment", src.treatments)
        elif isinstance(src, SymptomSource | TreatmentSource):
            relates(path, "conditions", src.locale, "condition", src.conditions)
    for path, topic in loaded.faq_topics:
        for i, faq in enumerate(topic.faqs):
            if standing[("faq", faq.slug, topic.locale)] is not None:
                continue
            if faq.condition is not None:
                relates(path, f"faqs[{i}].condition", topic.locale, "condition", [faq.condition])
            if faq.treatment is not None:
                relates(path, f"faqs[{i}].treatment", topic.locale, "treatment", [faq.treatment])
    return sorted(notices)


def _check_withdrawn(loaded: Loaded) -> list[ContentError]:
    """A replacement must be another item of the same type and locale, itself not withdrawn."""
    withdrawn: dict[tuple[str, str, str], bool] = {}
    claims: list[tuple[str, str, str, str, str, str]] = []
    for page in loaded.pages:
        src = page.source
        withdrawn[(page.kind, src.slug, src.locale)] = src.withdrawn is not None
        if src.withdrawn is not None and src.withdrawn.superseded_by is not None:
            claims.append(
                (page.path, "withdrawn.superseded_by", page.kind, src.slug, src.locale,
                 src.withdrawn.superseded_by)
            )  # fmt: skip
    for path, topic in loaded.faq_topics:
        for i, faq in enumerate(topic.faqs):
            withdrawn[("faq", faq.slug, topic.locale)] = faq.withdrawn is not None
            if faq.withdrawn is not None and faq.withdrawn.superseded_by is not None:
                claims.append(
                    (path, f"faqs[{i}].withdrawn.superseded_by", "faq", faq.slug, topic.locale,
                     faq.withdrawn.superseded_by)
                )  # fmt: skip
    errors = []
    for path, field, kind, slug, locale, target in claims:
        state = withdrawn.get((kind, target, locale))
        if target == slug:
            reason = "an item cannot replace itself"
        elif state is None:
            reason = f"no {kind} with slug '{target}' in locale '{locale}'"
        elif state:
            reason = f"the {kind} '{target}' is withdrawn too; name the item that replaces it"
        else:
            continue
        errors.append(ContentError(path, field, reason))
    return errors
