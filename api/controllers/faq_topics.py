"""FAQ topics: the list of them in order (a kiosk's or a help page's home), and one topic
as one page: its questions in order, and the page as schema.org FAQPage.

Both are assembled per request from the served FAQs (so a withdrawn or, for the channel,
overdue question is neither counted nor in the FAQPage); the JSON-LD uses the public base
URL. Topics are few, so the list is never paged.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State

from api import jsonld
from api.controllers.locales import negotiate
from api.controllers.modified import header as last_modified
from api.controllers.modified import newest, newest_of_rows
from api.controllers.pipeline import (
    ChannelParam,
    LocaleParam,
    SlugPath,
    StoreDep,
    default_locale,
    review_window,
)
from api.controllers.preview_links import AT_PARAMETERS
from api.controllers.responses import detail_responses, list_responses
from api.controllers.website import website
from api.errors import NotFound
from schemas.resources import FaqTopic, FaqTopicIndex

#: `position` of an FAQ is its topic's order times this, plus its own (api/build/shape.py).
TOPIC_POSITION = 100_000

_decode = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


class FaqTopicController(Controller):
    path = "/v1/faq-topics"
    tags = ("faqs",)
    parameters = AT_PARAMETERS

    @get(
        "/",
        operation_id="listFaqTopics",
        summary="List FAQ topics",
        response_description="Every topic with questions in the locale, in the editors' order.",
        responses=list_responses(),
    )
    async def list_faq_topics(
        self,
        request: Request[Any, Any, Any],
        state: State,
        store: StoreDep,
        locale: LocaleParam = None,
        channel: ChannelParam = None,
    ) -> Response[FaqTopicIndex]:
        """The FAQ topics in their order, each with its title and the number of its
        questions the channel is served: what a home screen shows without reading every FAQ.
        The language is negotiated as for the other lists, without falling back: a topic is
        listed in the languages its questions are written in.
        A topic none of whose questions is served in the locale (or to the channel) is not
        listed."""
        async with store.snapshot():
            site = await website(store, state)
            negotiated = negotiate(store, request, locale)
            locale = negotiated.locale
            window = review_window(store, channel)
            rows = await store.faq_topics(locale, window)
        topics: dict[str, dict[str, Any]] = {}
        for topic, position, doc in rows:
            faq = _decode.decode(doc)
            found = topics.get(topic)
            if found is None:
                topics[topic] = {
                    "type": "faq-topic",
                    "slug": topic,
                    "locale": locale,
                    "title": str(faq["topic_title"]),
                    "order": position // TOPIC_POSITION,
                    "count": 1,
                    "url": site.url("faq-topic", topic, locale),
                    "updated_at": faq["updated_at"],
                }
                continue
            found["count"] += 1
            # ISO 8601 date-times in one form: the greater string is the later moment.
            found["updated_at"] = max(found["updated_at"], faq["updated_at"])
        data = list(topics.values())
        due_days = store.review_policy.due_days
        body: Response[Any] = Response(
            content=_encoder.encode({"data": data, "meta": {"total": len(data), "locale": locale}}),
            media_type="application/json",
            headers={
                **last_modified(newest_of_rows((d for _, _, d in rows), due_days)),
                **negotiated.headers(),
            },
        )
        return body

    @get(
        "/{slug:str}",
        operation_id="getFaqTopic",
        summary="Get an FAQ topic",
        response_description="The topic, its questions in order and its FAQPage JSON-LD.",
        responses=detail_responses(),
    )
    async def get_faq_topic(
        self,
        state: State,
        store: StoreDep,
        slug: SlugPath,
        locale: LocaleParam = None,
        channel: ChannelParam = None,
    ) -> Response[FaqTopic]:
        """One topic's questions in order, with the topic page's FAQPage JSON-LD."""
        async with store.snapshot():
            site = await website(store, state)
            locale = locale or default_locale(store)
            window = review_window(store, channel)
            rows = await store.linked("faq", "topic", slug, locale, window)
        if not rows:
            raise NotFound(detail=f"No FAQ topic '{slug}' with questions in locale '{locale}'.")
        faqs = [_decode.decode(row) for row in rows]
        url = site.url("faq-topic", slug, locale)
        title = str(faqs[0]["topic_title"])
        doc = jsonld.faq_page(
            title=title, url=url, locale=locale, publisher=site.publisher, faqs=faqs
        )
        topic = {
            "type": "faq-topic",
            "slug": slug,
            "locale": locale,
            "title": title,
            "url": url,
            "faqs": faqs,
            "json_ld": doc,
            "json_ld_script": jsonld.script(doc),
        }
        body: Response[Any] = Response(
            content=_encoder.encode(topic),
            media_type="application/json",
            headers=last_modified(newest(faqs, store.review_policy.due_days)),
        )
        return body
