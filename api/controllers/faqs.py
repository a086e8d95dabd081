from __future__ import annotations

from typing import Annotated

from litestar import Response, get

from api.controllers import pipeline as p
from api.controllers.responses import detail_responses, list_responses
from api.registry import FaqSort, spec
from schemas.resources import Faq, FaqList

SPEC = spec("faq")
Fields = Annotated[str | None, p.fields_param(SPEC)]


class FaqController(p.ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listFaqs", summary="List FAQs", responses=list_responses())
    async def list_faqs(
        self,
        listing: p.ListDep,
        sort: p.Sort[FaqSort] = None,
        fields: Fields = None,
        topic: p.SlugFilter = None,
        condition: p.SlugFilter = None,
        treatment: p.SlugFilter = None,
    ) -> Response[FaqList]:
        """FAQs by topic, in the order editors gave. To search them, best match first, use
        `GET /v1/search?type=faq` (with `topic` for one topic's)."""
        return await listing.answer(
            SPEC, sort=sort, fields=fields, topic=topic, condition=condition, treatment=treatment
        )

    @get("/{slug:str}", operation_id="getFaq", summary="Get an FAQ", responses=detail_responses())
    async def get_faq(self, item: p.ItemDep) -> Response[Faq]:
        """One question with its answer (HTML and plain text) and the kiosk's short answer."""
        return await item.answer(SPEC)
