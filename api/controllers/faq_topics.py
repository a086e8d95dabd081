"""An FAQ topic as one page: its questions in order, and the page as schema.org FAQPage.

Assembled per request from the served FAQs (so a withdrawn or, for the channel, overdue
question is not in the FAQPage either); the JSON-LD uses the public base URL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from api import jsonld
from api.controllers.modified import header as last_modified
from api.controllers.modified import newest
from api.controllers.pipeline import (
    ChannelParam,
    LocaleParam,
    SlugPath,
    StoreDep,
    default_locale,
    review_window,
)
from api.controllers.responses import detail_responses
from api.controllers.website import website
from api.errors import NotFound
from schemas.resources import FaqTopic

_decode = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


class FaqTopicController(Controller):
    path = "/v1/faq-topics"
    tags = ("faqs",)

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
