"""What editors write in content/: front matter of Markdown files and YAML lists.

Every struct forbids unknown fields, so a misspelt key fails the check instead of being
silently dropped. Constraints live on the types; `python -m api check` turns a violation
into `path: field: reason`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LOCALE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"
URL_PATTERN = r"^https?://[^\s<>\"']+$"

Slug = Annotated[
    str,
    Meta(
        pattern=SLUG_PATTERN,
        min_length=1,
        max_length=80,
        description="Lower-case words joined by single hyphens.",
        examples=["ketamine-infusion-therapy"],
    ),
]
Locale = Annotated[
    str,
    Meta(
        pattern=LOCALE_PATTERN, description="BCP 47 language tag, e.g. en or es.", examples=["en"]
    ),
]
Url = Annotated[
    str, Meta(pattern=URL_PATTERN, max_length=2000, description="An absolute http(s) URL.")
]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Summary = Annotated[str, Meta(min_length=1, max_length=600)]
Tag = Annotated[str, Meta(pattern=SLUG_PATTERN, max_length=40)]
ShortAnswer = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=280,
        description="Plain text for the kiosk, at most 280 characters.",
    ),
]
Line = Annotated[str, Meta(min_length=1, max_length=1000)]
#: A moment with its offset: content goes live and expires at instants, and a time without
#: one would mean a different instant on every machine that reads it.
Instant = Annotated[
    dt.datetime,
    Meta(
        tz=True,
        description="An RFC 3339 date-time with a timezone, e.g. 2026-03-02T09:00:00+01:00.",
        examples=["2026-03-02T09:00:00Z"],
    ),
]
Draft = Annotated[
    bool,
    Meta(description="A draft is built and checked but not served to any channel."),
]
PublishedAt = Annotated[
    Instant | None,
    Meta(description="When the item goes live; before it, it is served nowhere (scheduled)."),
]
ExpiresAt = Annotated[
    Instant | None,
    Meta(description="When the item stops being served (answers 410 Gone after it)."),
]


class Source(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Shared settings of every struct editors write."""


class Reference(Source, kw_only=True, frozen=True):
    """A source the text relies on."""

    title: Title
    url: Url
    publisher: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    year: Annotated[int, Meta(ge=1800, le=2100)] | None = None
    doi: Annotated[str, Meta(pattern=r"^10\.\d{4,9}/\S+$", max_length=200)] | None = None
    pmid: Annotated[str, Meta(pattern=r"^\d{1,9}$")] | None = None
    pmcid: Annotated[str, Meta(pattern=r"^PMC\d{1,9}$")] | None = None


class Image(Source, kw_only=True, frozen=True):
    url: Url
    alt: Annotated[str, Meta(min_length=1, max_length=300)]
    width: Annotated[int, Meta(ge=1, le=10000)] | None = None
    height: Annotated[int, Meta(ge=1, le=10000)] | None = None


class Seo(Source, kw_only=True, frozen=True):
    title: Annotated[str, Meta(min_length=1, max_length=70)] | None = None
    description: Annotated[str, Meta(min_length=1, max_length=160)] | None = None


class Withdrawn(Source, kw_only=True, frozen=True):
    """Marks an item as withdrawn: its URL answers 410 Gone, and lists, feeds and the sitemap
    drop it. The item stays in content/ (it is still checked), so the reason is on record."""

    reason: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=500,
            description="Why it was withdrawn, in plain words; clients may show it.",
        ),
    ]
    superseded_by: Annotated[
        Slug | None,
        Meta(description="Slug of the item of the same type that replaces this one, if any."),
    ] = None


class UrgentCare(Source, kw_only=True, frozen=True):
    """A "seek urgent care" block: warning signs and what to do, shown prominently."""

    title: Annotated[str, Meta(min_length=1, max_length=120)]
    when: Annotated[
        list[Line],
        Meta(min_length=1, max_length=20, description="Warning signs, one per line."),
    ]
    action: Annotated[
        str,
        Meta(min_length=1, max_length=500, description="What to do when any of them happens."),
    ]


class Reviewed(Source, kw_only=True, frozen=True):
    """Medical-review metadata every published item carries."""

    reviewed_by: Slug
    last_reviewed: dt.date
    next_review_due: dt.date


class Page(Reviewed, kw_only=True, frozen=True):
    """Fields shared by everything that has a Markdown body."""

    slug: Slug
    locale: Locale = "en"
    title: Title
    summary: Summary
    seo: Seo | None = None
    withdrawn: Withdrawn | None = None
    draft: Draft = False
    published_at: PublishedAt = None
    expires_at: ExpiresAt = None


class ArticleSource(Page, kw_only=True, frozen=True):
    author: Slug
    published_at: Annotated[
        Instant,
        Meta(description="When the article goes live; before it, it is served nowhere."),
    ]
    updated_at: Instant | None = None
    tags: list[Tag] = []
    conditions: list[Slug] = []
    treatments: list[Slug] = []
    references: list[Reference] = []
    hero_image: Image | None = None


class Codes(Source, kw_only=True, frozen=True):
    icd10cm: list[Annotated[str, Meta(pattern=r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$")]] = []
    snomed_ct: list[Annotated[str, Meta(pattern=r"^\d{6,18}$")]] = []


class ConditionSource(Page, kw_only=True, frozen=True):
    also_known_as: list[Annotated[str, Meta(min_length=1, max_length=120)]] = []
    symptoms: list[Slug] = []
    treatments: list[Slug] = []
    codes: Codes | None = None
    references: list[Reference] = []
    urgent_care: UrgentCare | None = None


class SymptomSource(Page, kw_only=True, frozen=True):
    what_it_is: Annotated[str, Meta(min_length=1, max_length=1000)]
    how_it_shows: list[Line] = []
    conditions: list[Slug] = []


class SideEffect(Source, kw_only=True, frozen=True):
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    description: Line
    frequency: Literal["common", "occasional", "rare"] = "common"


class TreatmentSource(Page, kw_only=True, frozen=True):
    how_it_works: Annotated[str, Meta(min_length=1, max_length=2000)]
    before: list[Line] = []
    during: list[Line] = []
    after: list[Line] = []
    side_effects: list[SideEffect] = []
    safety_notes: list[Line] = []
    conditions: list[Slug] = []
    references: list[Reference] = []
    urgent_care: UrgentCare | None = None


class FaqSource(Source, kw_only=True, frozen=True):
    slug: Slug
    question: Annotated[str, Meta(min_length=1, max_length=300)]
    answer: Annotated[str, Meta(min_length=1, max_length=5000)]
    short_answer: ShortAnswer
    order: Annotated[int, Meta(ge=0, le=10000)]
    condition: Slug | None = None
    treatment: Slug | None = None
    reviewed_by: Slug | None = None
    last_reviewed: dt.date | None = None
    next_review_due: dt.date | None = None
    withdrawn: Withdrawn | None = None
    draft: Draft = False
    published_at: PublishedAt = None
    expires_at: ExpiresAt = None


class FaqTopicSource(Reviewed, kw_only=True, frozen=True):
    """One YAML file in content/faqs/: a topic and its questions.

    The topic's review metadata, `published_at` and `expires_at` apply to each question that
    does not give its own; `draft: true` on the topic makes every question a draft.
    """

    topic: Slug
    title: Title
    order: Annotated[int, Meta(ge=0, le=10000)] = 0
    locale: Locale = "en"
    faqs: Annotated[list[FaqSource], Meta(min_length=1, max_length=500)]
    draft: Draft = False
    published_at: PublishedAt = None
    expires_at: ExpiresAt = None


class PersonSource(Source, kw_only=True, frozen=True):
    slug: Slug
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    credentials: Annotated[str, Meta(max_length=120)] | None = None
    role: Literal["author", "medical-reviewer", "author-and-reviewer"]
    job_title: Annotated[str, Meta(max_length=120)] | None = None
    bio: Annotated[str, Meta(max_length=2000)] | None = None
    url: Url | None = None


class PeopleSource(Source, kw_only=True, frozen=True):
    people: Annotated[list[PersonSource], Meta(min_length=1)]


PagePath = Annotated[
    str,
    Meta(
        pattern=r"^/[^\s{}]*\{slug\}[^\s{}]*$",
        max_length=200,
        description="Path of a page on the website, with {slug} where its slug goes.",
    ),
]


class SitePaths(Source, kw_only=True, frozen=True):
    """Where each kind of item lives on the website, for absolute links (feeds, JSON-LD,
    sitemap). Items in a locale other than the default get a /{locale} prefix."""

    article: PagePath = "/articles/{slug}"
    condition: PagePath = "/conditions/{slug}"
    symptom: PagePath = "/symptoms/{slug}"
    treatment: PagePath = "/treatments/{slug}"
    faq_topic: PagePath = "/faqs/{slug}"


class SiteTranslation(Source, kw_only=True, frozen=True):
    """The site settings that are words, in one more locale."""

    name: Title | None = None
    description: Summary
    disclaimer: Annotated[str, Meta(min_length=1, max_length=2000)]
    address: Annotated[str, Meta(max_length=300)] | None = None


class SiteSource(Source, kw_only=True, frozen=True):
    name: Title
    base_url: Url
    description: Summary
    disclaimer: Annotated[str, Meta(min_length=1, max_length=2000)]
    default_locale: Locale = "en"
    locales: Annotated[list[Locale], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["en"]
    )
    phone: Annotated[str, Meta(max_length=40)] | None = None
    email: Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+$", max_length=200)] | None = None
    address: Annotated[str, Meta(max_length=300)] | None = None
    paths: SitePaths = msgspec.field(default_factory=SitePaths)
    #: The words of the site in its other locales, keyed by locale.
    translations: dict[Locale, SiteTranslation] = {}


SynonymTerm = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=80,
        description="A word or a phrase as a patient might type it.",
        examples=["reflex sympathetic dystrophy"],
    ),
]


class SynonymGroup(Source, kw_only=True, frozen=True):
    """Words and phrases a patient may use for one thing; searching one finds them all."""

    terms: Annotated[list[SynonymTerm], Meta(min_length=2, max_length=50)]
    note: Annotated[str, Meta(max_length=300)] | None = None


class SynonymsSource(Source, kw_only=True, frozen=True):
    """content/synonyms.yaml: groups of equivalent search terms, in any locale."""

    groups: Annotated[list[SynonymGroup], Meta(min_length=1, max_length=2000)]
