"""Every content type, declared once: its name, where it lives, what it is made of and what
its lists allow.

The rest derives from this table: the API paths and the controllers mounted on them, the
content folders the build reads, the website pages the links point at, the types search
and sync name, and the `sort`, `fields` and `include` each list accepts. A few `Literal`s
and unions in `schemas.resources` must stay written out, because the OpenAPI document is
made from those annotations and `schemas` imports nothing from `api`;
tests/test_registry.py checks that they agree with this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import Any, Literal, get_args

import msgspec

from schemas import resources as r
from schemas.content import (
    ArticleSource,
    ConditionSource,
    FaqTopicSource,
    Page,
    Source,
    SymptomSource,
    TreatmentSource,
)

#: The sorts each list takes (the handlers' `sort` parameter names these).
ArticleSort = Literal[
    "-published_at", "published_at", "-updated_at", "updated_at", "title", "-title"
]
ConditionSort = Literal["title", "-title", "updated_at", "-updated_at"]
SymptomSort = Literal["title", "-title", "updated_at", "-updated_at"]
TreatmentSort = Literal["title", "-title", "updated_at", "-updated_at"]
FaqSort = Literal["order", "-order", "updated_at", "-updated_at"]

#: The API's version prefix: every content type's collection is below it.
API_PREFIX = "/v1"
#: The page kind of an FAQ topic: the FAQs of a topic live on its page, not on their own.
FAQ_TOPIC_PAGE = "faq-topic"


@dataclass(frozen=True, slots=True)
class Include:
    """How `include=name` finds its items: by the slugs in a field, or by links to the item."""

    type: str
    from_field: str | None = None
    linked_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContentType:
    """One content type. `segment` is its collection in the API (`/v1/{segment}`), its
    folder in content/ and, by convention, its path on the website."""

    name: str
    segment: str
    #: The field of `SitePaths` that says where its page lives; None for a type whose
    #: items live on another page (an FAQ on its topic's).
    page: str | None
    #: What editors write: the front matter of a Markdown file, or a YAML file of items.
    source: type[Source]
    summary: type[msgspec.Struct]
    detail: type[msgspec.Struct]
    #: The `Literal` of the sorts its list takes; the first is not the default by itself.
    sort: Any
    default_sort: str
    #: The slug filters its list takes, each the name of a link the build records.
    filters: tuple[str, ...] = ()
    includes: Mapping[str, Include] = field(default_factory=dict)
    #: The OpenAPI tag's description (the tag is `segment`).
    description: str
    #: Where its controller is, `module:Class`, so the app mounts it from this table.
    controller: str

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/{self.segment}"

    @cached_property
    def sorts(self) -> tuple[str, ...]:
        return get_args(self.sort)

    @cached_property
    def fields(self) -> frozenset[str]:
        """What `fields=` may name: the summary's fields but the embedded ones."""
        return frozenset(self.summary.__struct_fields__) - {"included"}


TYPES: tuple[ContentType, ...] = (
    ContentType(
        name="article",
        segment="articles",
        page="article",
        source=ArticleSource,
        summary=r.ArticleSummary,
        detail=r.ArticleDetail,
        sort=ArticleSort,
        default_sort="-published_at",
        filters=("tag", "condition", "treatment"),
        includes={
            "conditions": Include("condition", from_field="conditions"),
            "treatments": Include("treatment", from_field="treatments"),
        },
        description="Patient articles with references.",
        controller="api.controllers.articles:ArticleController",
    ),
    ContentType(
        name="condition",
        segment="conditions",
        page="condition",
        source=ConditionSource,
        summary=r.ConditionSummary,
        detail=r.ConditionDetail,
        sort=ConditionSort,
        default_sort="title",
        filters=("symptom", "treatment"),
        includes={
            "symptoms": Include("symptom", from_field="symptoms"),
            "treatments": Include("treatment", from_field="treatments"),
            "faqs": Include("faq", linked_by="condition"),
        },
        description="Conditions with their symptoms and treatments.",
        controller="api.controllers.conditions:ConditionController",
    ),
    ContentType(
        name="symptom",
        segment="symptoms",
        page="symptom",
        source=SymptomSource,
        summary=r.SymptomSummary,
        detail=r.SymptomDetail,
        sort=SymptomSort,
        default_sort="title",
        filters=("condition",),
        includes={"conditions": Include("condition", from_field="conditions")},
        description="What a symptom is and how it shows.",
        controller="api.controllers.symptoms:SymptomController",
    ),
    ContentType(
        name="treatment",
        segment="treatments",
        page="treatment",
        source=TreatmentSource,
        summary=r.TreatmentSummary,
        detail=r.TreatmentDetail,
        sort=TreatmentSort,
        default_sort="title",
        filters=("condition",),
        includes={
            "conditions": Include("condition", from_field="conditions"),
            "faqs": Include("faq", linked_by="treatment"),
        },
        description="How a treatment works and what to expect.",
        controller="api.controllers.treatments:TreatmentController",
    ),
    ContentType(
        name="faq",
        segment="faqs",
        page=None,
        source=FaqTopicSource,
        summary=r.Faq,
        detail=r.Faq,
        sort=FaqSort,
        default_sort="order",
        filters=("topic", "condition", "treatment"),
        description="Questions and answers by topic, with kiosk answers.",
        controller="api.controllers.faqs:FaqController",
    ),
)

#: Each type by its name (an item's `type`).
BY_NAME: Mapping[str, ContentType] = {t.name: t for t in TYPES}
#: Each type's collection in the API (and, by convention, on the website).
SEGMENTS: Mapping[str, str] = {t.name: t.segment for t in TYPES}
#: Each kind of website page -> the `SitePaths` field naming where it lives.
PAGE_KINDS: Mapping[str, str] = {t.name: t.page for t in TYPES if t.page is not None} | {
    FAQ_TOPIC_PAGE: "faq_topic"
}
#: The Markdown front-matter struct of each folder of content/ that holds pages.
PAGE_SOURCES: Mapping[str, type[Page]] = {
    t.segment: t.source for t in TYPES if issubclass(t.source, Page)
}
#: The item type of each folder of Markdown pages.
PAGE_FOLDERS: Mapping[str, str] = {t.segment: t.name for t in TYPES if issubclass(t.source, Page)}


def spec(name: str) -> ContentType:
    """The type named `name`, for its controller's module."""
    return BY_NAME[name]


def content_controllers() -> list[Any]:
    """Each type's controller, in the table's order (imported here, as the controllers
    import this module)."""
    found = []
    for t in TYPES:
        module, name = t.controller.split(":")
        found.append(getattr(import_module(module), name))
    return found
