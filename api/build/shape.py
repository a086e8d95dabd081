"""Validated sources to the resources clients get, plus what storage indexes them by."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from api.build.load import Loaded, PageFile
from api.build.render import Rendered, markdown_to_text, render
from api.storage.writer import Record
from schemas import resources as r
from schemas.content import (
    ArticleSource,
    ConditionSource,
    FaqSource,
    FaqTopicSource,
    PersonSource,
    Seo,
    SymptomSource,
    TreatmentSource,
)

_encoder = msgspec.json.Encoder()


def content_hash(detail: msgspec.Struct) -> str:
    return hashlib.sha256(_encoder.encode(detail)).hexdigest()


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


def shape(loaded: Loaded) -> list[Record]:
    """Every item of the content as a Record, in a stable order. Expects checked content."""
    assert loaded.people is not None
    people = {p.slug: _person(p) for p in loaded.people.people}
    records = [_page(page, people) for page in loaded.pages]
    for _, topic in loaded.faq_topics:
        records.extend(_faq(topic, faq, people) for faq in topic.faqs)
    records.sort(key=lambda rec: rec.key)
    for record in records:
        record.content_hash = content_hash(record.detail)
    return records


def _page(page: PageFile, people: dict[str, r.PersonRef]) -> Record:
    src = page.source
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
    }
    published: str | None = None
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
        detail = r.ArticleDetail(**article, **_body(body, src.seo), references=list(src.references))
        links = _links(tag=src.tags, condition=src.conditions, treatment=src.treatments)
    elif isinstance(src, ConditionSource):
        condition = {
            **common,
            "also_known_as": list(src.also_known_as),
            "symptoms": list(src.symptoms),
            "treatments": list(src.treatments),
        }
        codes = src.codes
        summary = r.ConditionSummary(**condition)
        detail = r.ConditionDetail(
            **condition,
            **_body(body, src.seo),
            codes=r.Codes(
                icd10cm=list(codes.icd10cm) if codes else [],
                snomed_ct=list(codes.snomed_ct) if codes else [],
            ),
            references=list(src.references),
        )
        links = _links(symptom=src.symptoms, treatment=src.treatments)
    elif isinstance(src, SymptomSource):
        symptom = {**common, "what_it_is": src.what_it_is, "conditions": list(src.conditions)}
        summary = r.SymptomSummary(**symptom)
        detail = r.SymptomDetail(
            **symptom, **_body(body, src.seo), how_it_shows=list(src.how_it_shows)
        )
        links = _links(condition=src.conditions)
    elif isinstance(src, TreatmentSource):
        treatment = {**common, "how_it_works": src.how_it_works, "conditions": list(src.conditions)}
        summary = r.TreatmentSummary(**treatment)
        detail = r.TreatmentDetail(
            **treatment,
            **_body(body, src.seo),
            before=list(src.before),
            during=list(src.during),
            after=list(src.after),
            side_effects=list(src.side_effects),
            safety_notes=list(src.safety_notes),
            references=list(src.references),
        )
        links = _links(condition=src.conditions)
    else:  # pragma: no cover - PAGE_SOURCES names every page struct
        raise TypeError(type(src))
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
    )


def _body(body: Rendered, seo: Seo | None) -> dict[str, Any]:
    return {"body_html": body.html, "body_text": body.text, "toc": body.toc, "seo": seo}


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
        answer_html=answer.html,
        answer_text=markdown_to_text(faq.answer),
        short_answer=faq.short_answer,
        condition=faq.condition,
        treatment=faq.treatment,
        reviewed_by=people[faq.reviewed_by or topic.reviewed_by],
        last_reviewed=last_reviewed,
        next_review_due=faq.next_review_due or topic.next_review_due,
        revision=1,
        updated_at=_midnight(last_reviewed),
        content_hash="",
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
    )
