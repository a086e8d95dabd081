"""What clients get. These structs become the components of the OpenAPI document.

Items are shaped here once, at build time, and stored as encoded JSON; the HTTP layer
serves those bytes. Summaries are what lists return; details add the rendered body.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from schemas.content import Image, Locale, Reference, Seo, SideEffect, Slug

__all__ = [
    "ArticleDetail",
    "ArticleList",
    "ArticleSummary",
    "Codes",
    "ConditionDetail",
    "ConditionList",
    "ConditionSummary",
    "Faq",
    "FaqList",
    "Health",
    "Image",
    "Included",
    "ListMeta",
    "PersonRef",
    "Problem",
    "ProblemParam",
    "Reference",
    "Seo",
    "SideEffect",
    "Site",
    "SymptomDetail",
    "SymptomList",
    "SymptomSummary",
    "TocEntry",
    "TreatmentDetail",
    "TreatmentList",
    "TreatmentSummary",
]


class Resource(msgspec.Struct, kw_only=True, frozen=True):
    """Shared settings of every struct clients receive."""


class PersonRef(Resource, kw_only=True, frozen=True):
    """An author or medical reviewer."""

    slug: Slug
    name: str
    credentials: str | None = None
    job_title: str | None = None
    url: str | None = None


class TocEntry(Resource, kw_only=True, frozen=True):
    """A heading of the body, with the anchor its HTML carries."""

    level: Annotated[int, Meta(ge=2, le=6)]
    id: str
    title: str


class Codes(Resource, kw_only=True, frozen=True):
    icd10cm: list[str]
    snomed_ct: list[str]


class Item(Resource, kw_only=True, frozen=True):
    """Fields every published item carries."""

    slug: Slug
    locale: Locale
    title: str
    summary: str
    reviewed_by: PersonRef
    last_reviewed: dt.date
    next_review_due: dt.date
    revision: Annotated[int, Meta(ge=1, description="Grows every time the item changes.")]
    updated_at: dt.datetime
    content_hash: Annotated[str, Meta(description="SHA-256 of the item's content.")]
    word_count: int
    reading_minutes: int
    reading_grade: Annotated[float, Meta(description="Flesch-Kincaid grade level of the body.")]


class Included(Resource, kw_only=True, frozen=True):
    """Related items embedded with `include`; only the asked-for keys appear."""

    conditions: list[ConditionSummary] | msgspec.UnsetType = msgspec.UNSET
    symptoms: list[SymptomSummary] | msgspec.UnsetType = msgspec.UNSET
    treatments: list[TreatmentSummary] | msgspec.UnsetType = msgspec.UNSET
    faqs: list[Faq] | msgspec.UnsetType = msgspec.UNSET


class ArticleSummary(Item, tag_field="type", tag="article", kw_only=True, frozen=True):
    author: PersonRef
    published_at: dt.datetime
    tags: list[str]
    conditions: list[Slug]
    treatments: list[Slug]
    hero_image: Image | None = None
    included: Included | msgspec.UnsetType = msgspec.UNSET


class ArticleDetail(ArticleSummary, kw_only=True, frozen=True):
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    references: list[Reference]


class ConditionSummary(Item, tag_field="type", tag="condition", kw_only=True, frozen=True):
    also_known_as: list[str]
    symptoms: list[Slug]
    treatments: list[Slug]
    included: Included | msgspec.UnsetType = msgspec.UNSET


class ConditionDetail(ConditionSummary, kw_only=True, frozen=True):
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    codes: Codes
    references: list[Reference]


class SymptomSummary(Item, tag_field="type", tag="symptom", kw_only=True, frozen=True):
    what_it_is: str
    conditions: list[Slug]
    included: Included | msgspec.UnsetType = msgspec.UNSET


class SymptomDetail(SymptomSummary, kw_only=True, frozen=True):
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    how_it_shows: list[str]


class TreatmentSummary(Item, tag_field="type", tag="treatment", kw_only=True, frozen=True):
    how_it_works: str
    conditions: list[Slug]
    included: Included | msgspec.UnsetType = msgspec.UNSET


class TreatmentDetail(TreatmentSummary, kw_only=True, frozen=True):
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    before: list[str]
    during: list[str]
    after: list[str]
    side_effects: list[SideEffect]
    safety_notes: list[str]
    references: list[Reference]


class Faq(Resource, tag_field="type", tag="faq", kw_only=True, frozen=True):
    slug: Slug
    locale: Locale
    topic: Slug
    topic_title: str
    order: int
    question: str
    answer_html: Annotated[str, Meta(description="The answer rendered from Markdown, sanitized.")]
    answer_text: Annotated[str, Meta(description="The answer as plain text.")]
    short_answer: Annotated[str, Meta(max_length=280, description="Plain text for the kiosk.")]
    condition: Slug | None
    treatment: Slug | None
    reviewed_by: PersonRef
    last_reviewed: dt.date
    next_review_due: dt.date
    revision: int
    updated_at: dt.datetime
    content_hash: str
    included: Included | msgspec.UnsetType = msgspec.UNSET


class ListMeta(Resource, kw_only=True, frozen=True):
    total: Annotated[int, Meta(ge=0, description="Items matching the filters, on every page.")]
    limit: int
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


class ArticleList(Resource, kw_only=True, frozen=True):
    data: list[ArticleSummary]
    meta: ListMeta


class ConditionList(Resource, kw_only=True, frozen=True):
    data: list[ConditionSummary]
    meta: ListMeta


class SymptomList(Resource, kw_only=True, frozen=True):
    data: list[SymptomSummary]
    meta: ListMeta


class TreatmentList(Resource, kw_only=True, frozen=True):
    data: list[TreatmentSummary]
    meta: ListMeta


class FaqList(Resource, kw_only=True, frozen=True):
    data: list[Faq]
    meta: ListMeta


class Site(Resource, kw_only=True, frozen=True):
    name: str
    base_url: str
    description: str
    disclaimer: str
    default_locale: Locale
    locales: list[Locale]
    phone: str | None
    email: str | None
    address: str | None
    content_revision: Annotated[
        int, Meta(description="Grows with every build that changes content.")
    ]
    content_hash: Annotated[
        str, Meta(description="Identifies the content as built; equal on every replica.")
    ]


class Health(Resource, kw_only=True, frozen=True):
    status: Literal["ok"]
    content_revision: int | msgspec.UnsetType = msgspec.UNSET


class ProblemParam(Resource, kw_only=True, frozen=True):
    name: Annotated[str, Meta(description="The parameter at fault.")]
    reason: Annotated[str, Meta(description="Why it was refused.")]
    location: Literal["query", "path", "header"] = "query"


class Problem(Resource, kw_only=True, frozen=True):
    """An error, as RFC 9457 problem details (media type application/problem+json)."""

    type: Annotated[str, Meta(description="A URI identifying the kind of problem.")]
    title: str
    status: Annotated[int, Meta(ge=400, le=599)]
    detail: str
    instance: str | None = None
    invalid_params: list[ProblemParam] | msgspec.UnsetType = msgspec.UNSET
