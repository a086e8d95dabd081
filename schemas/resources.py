"""What clients get. These structs become the components of the OpenAPI document.

Items are shaped here once, at build time, and stored as encoded JSON; the HTTP layer
serves those bytes. Summaries are what lists return; details add the rendered body.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from schemas.content import (
    LOCALE_PATTERN,
    Image,
    Locale,
    Reference,
    Seo,
    SideEffect,
    Slug,
    UrgentCare,
)

__all__ = [
    "ArticleDetail",
    "ArticleList",
    "ArticleSummary",
    "Codes",
    "ConditionDetail",
    "ConditionList",
    "ConditionSummary",
    "ContentChanged",
    "ContentChangedData",
    "Event",
    "EventMeta",
    "EventPage",
    "EventType",
    "Faq",
    "FaqList",
    "FaqTopic",
    "Health",
    "Image",
    "Included",
    "ItemEvent",
    "ItemEventData",
    "ItemPublished",
    "ItemUnpublished",
    "ItemUpdated",
    "ListMeta",
    "PersonRef",
    "PreviewLink",
    "PreviewLinkRequest",
    "Problem",
    "ProblemParam",
    "PublicChannel",
    "PublicationStatus",
    "Reference",
    "RelatedArticle",
    "Rendition",
    "ReviewDue",
    "ReviewOverdue",
    "ReviewStatus",
    "SearchHit",
    "SearchLink",
    "SearchMeta",
    "SearchResults",
    "SearchTerm",
    "Seo",
    "SideEffect",
    "Site",
    "Sitemap",
    "SitemapEntry",
    "SymptomDetail",
    "SymptomList",
    "SymptomSummary",
    "SyncDelete",
    "SyncMeta",
    "SyncPage",
    "SyncUpsert",
    "TocEntry",
    "TreatmentDetail",
    "TreatmentList",
    "TreatmentSummary",
    "UrgentCare",
]

ReviewStatus = Literal["current", "due", "overdue"]
#: The channels that show content to patients and readers, and the editors'.
PublicChannel = Literal["website", "kiosk", "newsletter", "editor"]
#: ...and the preview channel, which sees what is not live yet (api/preview.py).
Channel = Literal[PublicChannel, "preview"]
PublicationStatus = Literal["draft", "scheduled", "live", "expired", "withdrawn"]

ReviewStatusField = Annotated[
    ReviewStatus,
    Meta(
        description=(
            "`current`, `due` (next_review_due falls within the review window, by default"
            " 30 days) or `overdue` (next_review_due has passed). Computed when the request"
            " is answered, from today's date (UTC)."
        )
    ),
]
PublicationStatusField = Annotated[
    PublicationStatus,
    Meta(
        description=(
            "Only in preview answers (`channel=preview`, or a signed preview link): where the"
            " item stands at the instant asked for: `draft`, `scheduled` (before its"
            " `published_at`), `live`, `expired` (after its `expires_at`) or `withdrawn`."
            " Public answers hold live items only and never carry it."
        )
    ),
]
#: Which rendition of an item this is. Stored items are `full`; `channel=kiosk` answers a
#: plain-text copy that says `kiosk` here, so a typed client can tell the two shapes apart
#: from the document alone (a discriminator) instead of probing for `body_html`.
Rendition = Literal["full", "kiosk"]
FullRendition = Annotated[
    Literal["full"],
    Meta(
        description=(
            "`full`: the item with its HTML. With `channel=kiosk` it is `kiosk` instead, and"
            " `body_html`, `answer_html` and `toc` are left out: check this"
            " field before reading them."
        )
    ),
]
JsonLd = Annotated[
    dict[str, Any],
    Meta(
        description=(
            "schema.org JSON-LD for the page, with absolute URLs. Serialize it yourself with"
            " `<`, `>` and `&` escaped, or use `json_ld_script`."
        )
    ),
]
JsonLdScript = Annotated[
    str,
    Meta(
        description=(
            "`json_ld` serialized with `<`, `>` and `&` escaped as \\u003c, \\u003e and"
            " \\u0026: safe to place verbatim inside"
            ' `<script type="application/ld+json">`.'
        )
    ),
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
    review_status: ReviewStatusField
    publication_status: PublicationStatusField | msgspec.UnsetType = msgspec.UNSET


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


class RelatedArticle(Resource, kw_only=True, frozen=True):
    """Another article sharing a condition, treatment or tag; the best matches come first."""

    slug: Slug
    title: str
    summary: str
    published_at: dt.datetime
    shared_conditions: list[Slug]
    shared_treatments: list[Slug]
    shared_tags: list[str]


class ArticleDetail(ArticleSummary, kw_only=True, frozen=True):
    rendition: FullRendition
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    references: list[Reference]
    related: Annotated[
        list[RelatedArticle],
        Meta(
            description=(
                "Up to five other articles, ranked by shared conditions, then treatments,"
                " then tags; withdrawn articles are left out."
            )
        ),
    ]
    json_ld: JsonLd
    json_ld_script: JsonLdScript


UrgentCareField = Annotated[
    UrgentCare | None,
    Meta(description="When to seek urgent care, and what to do: show it prominently."),
]


class ConditionSummary(Item, tag_field="type", tag="condition", kw_only=True, frozen=True):
    also_known_as: list[str]
    symptoms: list[Slug]
    treatments: list[Slug]
    urgent_care: UrgentCareField = None
    included: Included | msgspec.UnsetType = msgspec.UNSET


class ConditionDetail(ConditionSummary, kw_only=True, frozen=True):
    rendition: FullRendition
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    codes: Codes
    references: list[Reference]
    json_ld: JsonLd
    json_ld_script: JsonLdScript


class SymptomSummary(Item, tag_field="type", tag="symptom", kw_only=True, frozen=True):
    what_it_is: str
    conditions: list[Slug]
    included: Included | msgspec.UnsetType = msgspec.UNSET


class SymptomDetail(SymptomSummary, kw_only=True, frozen=True):
    rendition: FullRendition
    body_html: Annotated[str, Meta(description="The Markdown body rendered and sanitized.")]
    body_text: Annotated[str, Meta(description="The body as plain text.")]
    toc: list[TocEntry]
    seo: Seo | None
    how_it_shows: list[str]
    json_ld: JsonLd
    json_ld_script: JsonLdScript


class TreatmentSummary(Item, tag_field="type", tag="treatment", kw_only=True, frozen=True):
    how_it_works: str
    conditions: list[Slug]
    urgent_care: UrgentCareField = None
    included: Included | msgspec.UnsetType = msgspec.UNSET


class TreatmentDetail(TreatmentSummary, kw_only=True, frozen=True):
    rendition: FullRendition
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
    json_ld: JsonLd
    json_ld_script: JsonLdScript


class Faq(Resource, tag_field="type", tag="faq", kw_only=True, frozen=True):
    slug: Slug
    locale: Locale
    topic: Slug
    topic_title: str
    order: int
    question: str
    rendition: FullRendition
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
    review_status: ReviewStatusField
    publication_status: PublicationStatusField | msgspec.UnsetType = msgspec.UNSET
    included: Included | msgspec.UnsetType = msgspec.UNSET


class FaqTopic(Resource, tag_field="type", tag="faq-topic", kw_only=True, frozen=True):
    """One FAQ topic with its questions in order, and its page as schema.org FAQPage."""

    slug: Annotated[Slug, Meta(description="The topic.")]
    locale: Locale
    title: str
    url: Annotated[str, Meta(description="The topic's page on the website.")]
    faqs: list[Faq]
    json_ld: JsonLd
    json_ld_script: JsonLdScript


class FaqTopicSummary(Resource, tag_field="type", tag="faq-topic", kw_only=True, frozen=True):
    """An FAQ topic as a home screen lists it: its title and how many questions it has."""

    slug: Annotated[Slug, Meta(description="The topic: `GET /v1/faq-topics/{slug}`.")]
    locale: Locale
    title: str
    order: Annotated[
        int, Meta(ge=0, description="The editors' order of topics (the list is sorted by it).")
    ]
    count: Annotated[
        int, Meta(ge=1, description="Questions of the topic served to the channel asked for.")
    ]
    url: Annotated[str, Meta(description="The topic's page on the website.")]
    updated_at: Annotated[dt.datetime, Meta(description="The newest of its questions.")]


class FaqTopicIndexMeta(Resource, kw_only=True, frozen=True):
    total: Annotated[int, Meta(ge=0, description="Topics in the list (it is never paged).")]
    locale: Locale


class FaqTopicIndex(Resource, kw_only=True, frozen=True):
    """Every FAQ topic in order. Not a `...List`: it is never paged and takes no `fields`."""

    data: list[FaqTopicSummary]
    meta: FaqTopicIndexMeta


class SitemapEntry(Resource, kw_only=True, frozen=True):
    loc: Annotated[str, Meta(description="Absolute URL of the page on the website.")]
    lastmod: dt.datetime
    type: Literal["article", "condition", "symptom", "treatment", "faq-topic"]
    slug: Slug
    locale: Locale


class SitemapMeta(Resource, kw_only=True, frozen=True):
    total: int


class Sitemap(Resource, kw_only=True, frozen=True):
    data: list[SitemapEntry]
    meta: SitemapMeta


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
    locale: Annotated[
        Locale, Meta(description="The language of the words below (negotiated).")
    ]
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
    superseded_by: (
        Annotated[
            str | None,
            Meta(description="410 Gone: the API path of the item that replaces it, or null."),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


# Search, sync and the kiosk.

ItemType = Literal["article", "condition", "symptom", "treatment", "faq"]
ItemDetail = ArticleDetail | ConditionDetail | SymptomDetail | TreatmentDetail | Faq


class SearchLink(Resource, kw_only=True, frozen=True):
    api: Annotated[str, Meta(description="The item in this API, in the locale served.")]
    site: Annotated[
        str | None, Meta(description="The item's page on the clinic's website, when known.")
    ]


class SearchHit(Resource, kw_only=True, frozen=True):
    type: ItemType
    slug: Slug
    locale: Annotated[
        Locale, Meta(description="The locale of the item found; the default when untranslated.")
    ]
    title: Annotated[str, Meta(description="The title, or an FAQ's question.")]
    summary: Annotated[str, Meta(description="Plain text: the summary, or an FAQ's short answer.")]
    snippet: Annotated[
        str,
        Meta(
            description="Where the words were found. HTML: the text is escaped and the only"
            " tags are `<mark>` around matched words (plain text on the kiosk channel)."
        ),
    ]
    topic: Slug | None = None
    link: SearchLink
    score: Annotated[
        float,
        Meta(description="Relevance, higher first; comparable only within one response."),
    ]
    publication_status: PublicationStatusField | msgspec.UnsetType = msgspec.UNSET


class SearchTerm(Resource, kw_only=True, frozen=True):
    """How one word or phrase of the query was understood."""

    typed: str
    searched: Annotated[
        list[str],
        Meta(
            description="The words searched for it: itself, corrections of a typo, synonyms;"
            " a trailing `*` marks a prefix (type-ahead)."
        ),
    ]


class SearchMeta(Resource, kw_only=True, frozen=True):
    total: Annotated[int, Meta(ge=0, description="Items found, on every page.")]
    limit: int
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]
    locale: Locale
    terms: list[SearchTerm]


class SearchResults(Resource, kw_only=True, frozen=True):
    data: list[SearchHit]
    meta: SearchMeta


class SyncUpsert(Resource, tag_field="op", tag="upsert", kw_only=True, frozen=True):
    """An item was created or changed: store `item` (the detail form) under its key."""

    type: ItemType
    slug: Slug
    locale: Locale
    revision: int
    hide_after: Annotated[
        str | None,
        Meta(
            description="When the channel stops showing the item (RFC 3339): its expiry, or"
            " its review falling overdue for a channel not served overdue items. A copy"
            " still offline then hides it on its own; null when nothing is known.",
            extra_json_schema={"format": "date-time"},
        ),
    ]
    item: ItemDetail


class SyncDelete(Resource, tag_field="op", tag="delete", kw_only=True, frozen=True):
    """An item was removed: delete it (a tombstone; unknown keys can be ignored)."""

    type: ItemType
    slug: Slug
    locale: Locale
    revision: int


class SyncMeta(Resource, kw_only=True, frozen=True):
    has_more: Annotated[
        bool, Meta(description="More changes are waiting: call again with `next_cursor` now.")
    ]
    next_cursor: Annotated[
        str,
        Meta(
            description="Where this response ends. Keep it and pass it as `cursor` next time"
            " to get only what changed since."
        ),
    ]
    content_revision: Annotated[int, Meta(description="The latest revision of the content.")]


class SyncPage(Resource, kw_only=True, frozen=True):
    data: Annotated[
        list[SyncUpsert | SyncDelete], Meta(description="Changes, oldest revision first.")
    ]
    meta: SyncMeta


EventType = Literal[
    "item.published",
    "item.updated",
    "item.unpublished",
    "review.due",
    "review.overdue",
    "content.changed",
]


class ItemEventData(Resource, kw_only=True, frozen=True):
    """The item an `item.*` or `review.*` event is about."""

    type: ItemType
    slug: Slug
    locale: Locale
    revision: Annotated[
        int,
        Meta(description="The item's revision when the event took effect (0 when unknown)."),
    ]
    path: Annotated[
        str,
        Meta(
            description="The item's API path, e.g. `/v1/articles/ketamine-infusions`"
            " (with `?locale=` for other locales than the default). After"
            " `item.unpublished` it answers 404 or 410."
        ),
    ]
    url: Annotated[
        str | None, Meta(description="The item's page on the website (an FAQ: its topic's page).")
    ]
    review_status: ReviewStatus | None = None


class ContentChangedData(Resource, kw_only=True, frozen=True):
    """What one build (or one transition) changed, counted."""

    cause: Annotated[
        Literal["build", "transition"],
        Meta(description="`build`: content was built; `transition`: time passed an instant."),
    ]
    content_revision: Annotated[int, Meta(description="The content revision now served.")]
    published: int
    updated: int
    unpublished: int
    review_due: int
    review_overdue: int


EventId = Annotated[
    str,
    Meta(
        description="Stable id: the same on every redelivery (`webhook-id`); use it to"
        " process each event once."
    ),
]
EventTimestamp = Annotated[dt.datetime, Meta(description="When the change took effect (UTC).")]


class ItemEvent(Resource, tag_field="type", kw_only=True, frozen=True):
    """An event about one item. `type` says which."""

    id: EventId
    timestamp: EventTimestamp
    data: ItemEventData


class ItemPublished(ItemEvent, tag="item.published", kw_only=True, frozen=True):
    """An item became live: new, or back after it was withdrawn, expired or a draft."""


class ItemUpdated(ItemEvent, tag="item.updated", kw_only=True, frozen=True):
    """A live item changed."""


class ItemUnpublished(ItemEvent, tag="item.unpublished", kw_only=True, frozen=True):
    """An item stopped being live: withdrawn, removed, expired or made a draft."""


class ReviewDue(ItemEvent, tag="review.due", kw_only=True, frozen=True):
    """A live item's clinical review fell due."""


class ReviewOverdue(ItemEvent, tag="review.overdue", kw_only=True, frozen=True):
    """A live item's clinical review is overdue: channels that do not show overdue items
    stop showing it."""


class ContentChanged(Resource, tag_field="type", tag="content.changed", kw_only=True, frozen=True):
    """One build or transition changed something; the counts of its other events."""

    id: EventId
    timestamp: EventTimestamp
    data: ContentChangedData


Event = ItemPublished | ItemUpdated | ItemUnpublished | ReviewDue | ReviewOverdue | ContentChanged


class EventMeta(Resource, kw_only=True, frozen=True):
    has_more: Annotated[
        bool, Meta(description="More events are waiting: call again with `next_cursor` now.")
    ]
    next_cursor: Annotated[
        str,
        Meta(
            description="Where this page ends. Keep it and pass it as `cursor` next time to"
            " get only the events recorded since."
        ),
    ]


class EventPage(Resource, kw_only=True, frozen=True):
    data: Annotated[
        list[Event],
        Meta(description="Events, oldest first; the same JSON that webhooks send, per event."),
    ]
    meta: EventMeta


PreviewItemType = Literal["article", "condition", "symptom", "treatment", "faq"]


class PreviewLinkRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """The item a signed preview link is to open, and for how long."""

    slug: Slug
    type: Annotated[PreviewItemType, Meta(description="The item's type.")] = "article"
    locale: (
        Annotated[
            str,
            Meta(
                pattern=LOCALE_PATTERN,
                max_length=10,
                description="The item's locale; the site's default when omitted.",
            ),
        ]
        | None
    ) = None
    ttl: Annotated[
        int,
        Meta(ge=1, le=30 * 86400, description="Seconds the link opens the item (at most 30 days)."),
    ] = 3600


class PreviewLink(Resource, kw_only=True, frozen=True):
    """A signed link that opens one item as the preview channel shows it, without a key."""

    url: Annotated[
        str,
        Meta(
            description="The item's API URL with its locale and `preview_token`: open it as"
            " it is; an expired or altered link answers 401."
        ),
    ]
    token: Annotated[str, Meta(description="The `preview_token` alone.")]
    type: PreviewItemType
    slug: Slug
    locale: Locale
    expires_at: dt.datetime
    publication_status: PublicationStatusField
