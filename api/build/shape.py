"""Validated sources to the resources clients get, plus what storage indexes them by."""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from typing import Any, TypeVar

import msgspec

from api import jsonld
from api.build.load import Loaded, PageFile
from api.build.render import Rendered, render
from api.links import SiteLinks
from api.registry import BY_NAME
from api.review import STORED_STATUS
from api.storage.writer import Record, SearchText, vocabulary
from schemas import resources as r
from schemas.content import (
    ArticleSource,
    ConditionSource,
    FaqSource,
    FaqTopicSource,
    PersonSource,
    Seo,
    SiteSource,
    SymptomSource,
    TreatmentSource,
    Withdrawn,
)

_encoder = msgspec.json.Encoder()
S = TypeVar("S", bound=msgspec.Struct)
#: How many related articles an article lists.
MAX_RELATED = 5
#: How much each kind of shared link counts when ranking related articles.
RELATED_WEIGHTS = {"conditions": 4, "treatments": 2, "tags": 1}


@dataclass(frozen=True, slots=True)
class Context:
    """What shaping one item needs to know about the others and the site."""

    site: SiteSource
    people: dict[str, r.PersonRef]
    titles: dict[tuple[str, str, str], str]
    related: RelatedArticles
    links: SiteLinks
    #: Pages that are drafts: they do not exist for clients, so no item names them.
    drafts: frozenset[tuple[str, str, str]] = frozenset()

    def is_draft(self, kind: str, slug: str, locale: str) -> bool:
        key = (kind, slug, locale)
        if key not in self.titles:  # no translation: the relation is to the original
            key = (kind, slug, self.site.default_locale)
        return key in self.drafts

    def url(self, kind: str, slug: str, locale: str) -> str:
        return self.links.page(kind, slug, locale)

    @property
    def publisher(self) -> jsonld.Doc:
        return jsonld.organization(self.site.name, self.site.base_url)

    def entities(self, type_: str, kind: str, slugs: list[str], locale: str) -> list[jsonld.Doc]:
        return [
            jsonld.entity(type_, self.titles[(kind, slug, locale)], self.url(kind, slug, locale))
            for slug in slugs
            if (kind, slug, locale) in self.titles
        ]


def content_hash(detail: msgspec.Struct, record: Record | None = None) -> str:
    """SHA-256 of the item as clients get it and, when it has them, of its schedule and its
    withdrawal: making an item a draft, moving its instants or withdrawing it is a change to
    build, though no field of the detail shows it (the withdrawal is stored beside the
    detail; without it here, an item withdrawn after its first build kept serving). An item
    with neither hashes as it always did."""
    digest = hashlib.sha256(_encoder.encode(detail))
    if record is not None and (
        record.draft
        or record.live_until is not None
        # an article's published_at is in its fields already
        or (record.live_from is not None and record.published_at is None)
    ):
        digest.update(_encoder.encode([record.draft, record.live_from, record.live_until]))
    if record is not None and record.withdrawn is not None:
        digest.update(b"\nwithdrawn:" + record.withdrawn)
    return digest.hexdigest()


def _person(p: PersonSource) -> r.PersonRef:
    return r.PersonRef(
        slug=p.slug, name=p.name, credentials=p.credentials, job_title=p.job_title, url=p.url
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(moment: dt.datetime | None) -> float | None:
    return None if moment is None else _utc(moment).timestamp()


#: Below this many items a build renders in this process: starting workers costs more.
PARALLEL_FROM_ITEMS = 3000


@dataclass(frozen=True, slots=True)
class Shaped:
    """Every item as a Record in (type, slug, locale) order, and the search vocabulary of
    them all: how many items use each folded word (storage.writer.vocabulary)."""

    records: list[Record]
    vocabulary: Counter[str]


#: The build in progress, inherited by forked workers rather than pickled: the context,
#: the pages and the FAQ topics.
_job: tuple[Context, list[PageFile], list[FaqTopicSource]] | None = None


def shape(loaded: Loaded, workers: int | None = None) -> Shaped:
    """Every item of the content as a Record, in a stable order. Expects checked content.

    Rendering is most of a build; a large one is spread over one process per CPU (the
    target is 10,000 articles and 50,000 FAQs within a minute), and each process also
    hashes its items and counts their words for the search vocabulary. The result does
    not depend on it.
    """
    global _job
    assert loaded.people is not None
    assert loaded.site is not None
    people = {p.slug: _person(p) for p in loaded.people.people}
    ctx = Context(
        site=loaded.site,
        people=people,
        titles={(p.kind, p.source.slug, p.source.locale): p.source.title for p in loaded.pages},
        related=RelatedArticles.of(
            [p.source for p in loaded.pages if isinstance(p.source, ArticleSource)]
        ),
        links=SiteLinks.of(loaded.site),
        drafts=frozenset(
            (p.kind, p.source.slug, p.source.locale) for p in loaded.pages if p.source.draft
        ),
    )
    topics = [topic for _, topic in loaded.faq_topics]
    items = len(loaded.pages) + sum(len(t.faqs) for t in topics)
    workers = workers or os.cpu_count() or 1
    # fork: workers start at once, inherit the context, and need no importable __main__
    # (spawn re-imports it). The build holds no database connection or lock at this point.
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if workers > 1 and items >= PARALLEL_FROM_ITEMS and can_fork:
        parts = workers * 4
        _job = (ctx, loaded.pages, topics)
        try:
            with ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork")
            ) as pool:
                done = list(pool.map(_shape_part, range(parts), repeat(parts)))
        finally:
            _job = None
    else:
        done = [_shape_records(loaded.pages, topics, ctx)]
    records = [record for part, _ in done for record in part]
    records.sort(key=lambda rec: rec.key)
    words: Counter[str] = Counter()
    for _, counted in done:
        words.update(counted)
    return Shaped(records, words)


def _shape_part(part: int, parts: int) -> tuple[list[Record], Counter[str]]:
    """Every `parts`-th page and FAQ topic from the `part`-th, in a forked worker."""
    assert _job is not None
    ctx, pages, topics = _job
    return _shape_records(pages[part::parts], topics[part::parts], ctx)


def _shape_records(
    pages: list[PageFile], topics: list[FaqTopicSource], ctx: Context
) -> tuple[list[Record], Counter[str]]:
    records = [_page(page, ctx) for page in pages]
    for topic in topics:
        records.extend(_faq(topic, _without_drafts(faq, topic.locale, ctx), ctx.people)
                       for faq in topic.faqs)  # fmt: skip
    for record in records:
        record.content_hash = content_hash(record.detail, record)
    return records, vocabulary(records)


@dataclass(frozen=True, slots=True)
class RelatedArticles:
    """Finds, for an article, the others it shares most with: conditions, then treatments,
    then tags, newest first among equals. Withdrawn articles and drafts are never suggested;
    one that is scheduled or expires is, and is left out when served while it is not live.

    Scored through an index of who links to what, not by comparing every pair: 10,000
    articles are 10^8 pairs. The index is built once; each article's list is
    found when the article is rendered, so a large build finds them in its workers.
    """

    live: list[ArticleSource]
    published: list[dt.datetime]
    #: Position of each live article in "newest first, then by slug": the tie-break order.
    rank: list[int]
    index: dict[tuple[str, str, str], list[int]]

    @classmethod
    def of(cls, articles: list[ArticleSource]) -> RelatedArticles:
        live = [a for a in articles if a.withdrawn is None and not a.draft]
        published = [_utc(a.published_at) for a in live]
        order = sorted(range(len(live)), key=lambda j: (-published[j].timestamp(), live[j].slug))
        rank = [0] * len(live)
        for position, j in enumerate(order):
            rank[j] = position
        index: dict[tuple[str, str, str], list[int]] = {}
        for j, other in enumerate(live):
            for name in RELATED_WEIGHTS:
                for value in set(getattr(other, name)):
                    index.setdefault((name, other.locale, value), []).append(j)
        return cls(live, published, rank, index)

    def to(self, article: ArticleSource) -> list[r.RelatedArticle]:
        live, rank = self.live, self.rank
        scores: Counter[int] = Counter()
        for name, weight in RELATED_WEIGHTS.items():
            for value in set(getattr(article, name)):
                posting = self.index.get((name, article.locale, value), ())
                for _ in range(weight):
                    scores.update(posting)
        chosen = heapq.nsmallest(
            MAX_RELATED + 1,
            scores.items(),
            key=lambda item: (-item[1], rank[item[0]]),
        )
        found = []
        for j, _score in chosen:
            other = live[j]
            if other.slug == article.slug:
                continue
            shared = {
                name: sorted(set(getattr(article, name)) & set(getattr(other, name)))
                for name in RELATED_WEIGHTS
            }
            found.append(
                r.RelatedArticle(
                    slug=other.slug,
                    title=other.title,
                    summary=other.summary,
                    published_at=self.published[j],
                    shared_conditions=shared["conditions"],
                    shared_treatments=shared["treatments"],
                    shared_tags=shared["tags"],
                )
            )
        return found[:MAX_RELATED]


def _with_json_ld(fields: dict[str, Any], doc: jsonld.Doc) -> dict[str, Any]:
    return {**fields, "json_ld": doc, "json_ld_script": jsonld.script(doc)}


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """The item's fields as JSON-ready values (dates as ISO strings), for the JSON-LD."""
    return msgspec.to_builtins(fields)  # type: ignore[no-any-return]


#: Fields that relate to other pages by slug, and the kind of page each names.
RELATION_FIELDS = {
    "conditions": "condition",
    "treatments": "treatment",
    "symptoms": "symptom",
    "condition": "condition",
    "treatment": "treatment",
}


def _without_drafts(src: S, locale: str, ctx: Context) -> S:
    """`src` without its relations to drafts: a draft does not exist for clients, so the
    items they see do not name it (fields, JSON-LD, filters) until it is published."""
    if not ctx.drafts:
        return src
    changes: dict[str, Any] = {}
    for name, kind in RELATION_FIELDS.items():
        value = getattr(src, name, None)
        if isinstance(value, list):
            kept = [slug for slug in value if not ctx.is_draft(kind, slug, locale)]
            if len(kept) != len(value):
                changes[name] = kept
        elif isinstance(value, str) and ctx.is_draft(kind, value, locale):
            changes[name] = None
    return msgspec.structs.replace(src, **changes) if changes else src


def _page(page: PageFile, ctx: Context) -> Record:
    src = _without_drafts(page.source, page.source.locale, ctx)
    people = ctx.people
    url = ctx.url(page.kind, src.slug, src.locale)
    loc = src.locale
    body = render(page.body, src.locale)
    updated = _midnight(src.last_reviewed)
    common: dict[str, Any] = {
        "slug": src.slug,
        "locale": src.locale,
        "title": src.title,
        "summary": src.summary,
        "reviewed_by": people[src.reviewed_by],
        "last_reviewed": src.last_reviewed,
        "next_review_due": src.next_review_due,
        "revision": 1,
        "updated_at": updated,
        "content_hash": "",
        "word_count": body.word_count,
        "reading_minutes": body.reading_minutes,
        "reading_grade": body.reading_grade,
        "review_status": STORED_STATUS,
    }
    published: str | None = None
    search: SearchText
    links: list[tuple[str, str]]
    summary: msgspec.Struct
    detail: msgspec.Struct
    if isinstance(src, ArticleSource):
        published_at = _utc(src.published_at)
        updated = _utc(src.updated_at) if src.updated_at else published_at
        common["updated_at"] = updated
        published = _iso(published_at)
        article = {
            **common,
            "author": people[src.author],
            "published_at": published_at,
            "tags": list(src.tags),
            "conditions": list(src.conditions),
            "treatments": list(src.treatments),
            "hero_image": src.hero_image,
        }
        summary = r.ArticleSummary(**article)
        fields = {**article, **_body(body, src.seo), "references": list(src.references)}
        doc = jsonld.medical_web_page(
            _plain(fields),
            url=url,
            publisher=ctx.publisher,
            about=ctx.entities("MedicalCondition", "condition", src.conditions, loc),
            mentions=ctx.entities("MedicalTherapy", "treatment", src.treatments, loc),
        )
        detail = r.ArticleDetail(**_with_json_ld(fields, doc), related=ctx.related.to(src))
        links = _links(tag=src.tags, condition=src.conditions, treatment=src.treatments)
        search = SearchText(
            title=src.title,
            keywords=" ".join(t.replace("-", " ") for t in src.tags),
            summary=src.summary,
            body=body.text,
        )
    elif isinstance(src, ConditionSource):
        condition = {
            **common,
            "also_known_as": list(src.also_known_as),
            "symptoms": list(src.symptoms),
            "treatments": list(src.treatments),
            "urgent_care": src.urgent_care,
        }
        codes = src.codes
        summary = r.ConditionSummary(**condition)
        fields = {
            **condition,
            **_body(body, src.seo),
            "codes": r.Codes(
                icd10cm=list(codes.icd10cm) if codes else [],
                snomed_ct=list(codes.snomed_ct) if codes else [],
            ),
            "references": list(src.references),
        }
        doc = jsonld.medical_condition(
            _plain(fields),
            url=url,
            publisher=ctx.publisher,
            symptoms=ctx.entities("MedicalSignOrSymptom", "symptom", src.symptoms, loc),
            treatments=ctx.entities("MedicalTherapy", "treatment", src.treatments, loc),
        )
        detail = r.ConditionDetail(**_with_json_ld(fields, doc))
        links = _links(symptom=src.symptoms, treatment=src.treatments)
        search = SearchText(
            title=src.title,
            keywords="\n".join(src.also_known_as),
            summary=src.summary,
            body=body.text,
        )
    elif isinstance(src, SymptomSource):
        symptom = {**common, "what_it_is": src.what_it_is, "conditions": list(src.conditions)}
        summary = r.SymptomSummary(**symptom)
        fields = {**symptom, **_body(body, src.seo), "how_it_shows": list(src.how_it_shows)}
        doc = jsonld.sign_or_symptom(_plain(fields), url=url, publisher=ctx.publisher)
        detail = r.SymptomDetail(**_with_json_ld(fields, doc))
        links = _links(condition=src.conditions)
        search = SearchText(
            title=src.title,
            summary=f"{src.summary}\n{src.what_it_is}",
            body="\n".join([*src.how_it_shows, body.text]),
        )
    elif isinstance(src, TreatmentSource):
        treatment = {
            **common,
            "how_it_works": src.how_it_works,
            "conditions": list(src.conditions),
            "urgent_care": src.urgent_care,
        }
        summary = r.TreatmentSummary(**treatment)
        fields = {
            **treatment,
            **_body(body, src.seo),
            "before": list(src.before),
            "during": list(src.during),
            "after": list(src.after),
            "side_effects": list(src.side_effects),
            "safety_notes": list(src.safety_notes),
            "references": list(src.references),
        }
        doc = jsonld.medical_therapy(_plain(fields), url=url, publisher=ctx.publisher)
        detail = r.TreatmentDetail(**_with_json_ld(fields, doc))
        links = _links(condition=src.conditions)
        effects = [f"{e.name}. {e.description}" for e in src.side_effects]
        search = SearchText(
            title=src.title,
            keywords="\n".join(e.name for e in src.side_effects),
            summary=f"{src.summary}\n{src.how_it_works}",
            body="\n".join(
                [*src.before, *src.during, *src.after, *effects, *src.safety_notes, body.text]
            ),
        )
    else:
        # A type without shaping of its own (api/registry.py): its summary and detail take
        # the source's fields of the same names, its page is a reviewed web page, and
        # search reads its title, summary and body.
        kind = BY_NAME[page.kind]
        fields = {**common, **_same_named(src, kind.summary, common)}
        summary = kind.summary(**fields)
        fields |= _body(body, src.seo)
        fields |= _same_named(src, kind.detail, fields)
        doc = jsonld.web_page(_plain(fields), url=url, publisher=ctx.publisher)
        detail = kind.detail(**_with_json_ld(fields, doc))
        links = _links(
            **{
                RELATION_FIELDS[name]: list(value)
                for name in RELATION_FIELDS
                if isinstance(value := getattr(src, name, None), list)
            }
        )
        search = SearchText(title=src.title, summary=src.summary, body=body.text)
    return Record(
        type=page.kind,
        slug=src.slug,
        locale=src.locale,
        sort_title=src.title.casefold(),
        published_at=published,
        updated_at=_iso(updated),
        topic=None,
        position=0,
        links=links,
        summary=summary,
        detail=detail,
        next_review_due=src.next_review_due.isoformat(),
        withdrawn=_withdrawn(src.withdrawn),
        search=search,
        draft=src.draft,
        live_from=_seconds(src.published_at),
        live_until=_seconds(src.expires_at),
    )


#: Fields a detail gets from the build, never from the source.
_BUILT_FIELDS = frozenset({"included", "json_ld", "json_ld_script"})


def _same_named(
    src: msgspec.Struct, struct: type[msgspec.Struct], have: dict[str, Any]
) -> dict[str, Any]:
    """The fields of `struct` that `src` has under the same name, but those in `have`
    (lists copied, so the item does not share them with its source)."""
    found: dict[str, Any] = {}
    for name in struct.__struct_fields__:
        if name in have or name in _BUILT_FIELDS or name not in src.__struct_fields__:
            continue
        value = getattr(src, name)
        found[name] = list(value) if isinstance(value, list) else value
    return found


def _withdrawn(withdrawn: Withdrawn | None) -> bytes | None:
    return None if withdrawn is None else _encoder.encode(withdrawn)


def _body(body: Rendered, seo: Seo | None) -> dict[str, Any]:
    return {
        "rendition": "full",
        "body_html": body.html,
        "body_text": body.text,
        "toc": body.toc,
        "seo": seo,
    }


def _links(**rels: list[str]) -> list[tuple[str, str]]:
    return sorted({(rel, target) for rel, targets in rels.items() for target in targets})


def _faq(topic: FaqTopicSource, faq: FaqSource, people: dict[str, r.PersonRef]) -> Record:
    answer = render(faq.answer, topic.locale)
    last_reviewed = faq.last_reviewed or topic.last_reviewed
    item = r.Faq(
        slug=faq.slug,
        locale=topic.locale,
        topic=topic.topic,
        topic_title=topic.title,
        order=faq.order,
        question=faq.question,
        rendition="full",
        answer_html=answer.html,
        answer_text=answer.text,  # what markdown_to_text gives, without parsing again
        short_answer=faq.short_answer,
        condition=faq.condition,
        treatment=faq.treatment,
        reviewed_by=people[faq.reviewed_by or topic.reviewed_by],
        last_reviewed=last_reviewed,
        next_review_due=faq.next_review_due or topic.next_review_due,
        revision=1,
        updated_at=_midnight(last_reviewed),
        content_hash="",
        review_status=STORED_STATUS,
    )
    return Record(
        type="faq",
        slug=faq.slug,
        locale=topic.locale,
        sort_title=faq.question.casefold(),
        published_at=None,
        updated_at=_iso(item.updated_at),
        topic=topic.topic,
        # Topics in their order, then questions in theirs: one integer to sort and page by.
        position=topic.order * 100_000 + faq.order,
        links=_links(
            topic=[topic.topic],
            condition=[faq.condition] if faq.condition else [],
            treatment=[faq.treatment] if faq.treatment else [],
        ),
        summary=item,
        detail=item,
        next_review_due=item.next_review_due.isoformat(),
        withdrawn=_withdrawn(faq.withdrawn),
        # The topic is to an FAQ what tags are to an article: words it is filed under, so
        # they go with the other names and tags, weighted below the question itself.
        search=SearchText(
            title=item.question,
            keywords=topic.title,
            summary=item.short_answer,
            body=item.answer_text,
        ),
        draft=faq.draft or topic.draft,
        live_from=_seconds(faq.published_at or topic.published_at),
        live_until=_seconds(faq.expires_at or topic.expires_at),
    )
