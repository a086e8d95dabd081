from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get

from api.controllers.pipeline import (
    ContentController,
    ItemParamsDep,
    ListParamsDep,
    SlugFilter,
    Sort,
    StoreDep,
    fields_param,
    get_item,
    links,
    list_items,
)
from api.controllers.responses import detail_responses, list_responses
from api.registry import FaqSort, spec
from schemas.resources import Faq, FaqList

SPEC = spec("faq")


class FaqController(ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listFaqs", summary="List FAQs", responses=list_responses())
    async def list_faqs(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        params: ListParamsDep,
        sort: Sort[FaqSort] = None,
        fields: Annotated[str | None, fields_param(SPEC)] = None,
        topic: SlugFilter = None,
        condition: SlugFilter = None,
        treatment: SlugFilter = None,
    ) -> Response[FaqList]:
        """FAQs by topic, in the order editors gave. To search them, best match first, use
        `GET /v1/search?type=faq` (with `topic` for one topic's)."""
        found = links(topic=topic, condition=condition, treatment=treatment)
        return await list_items(store, SPEC, params, request, sort=sort, fields=fields, links=found)

    @get("/{slug:str}", operation_id="getFaq", summary="Get an FAQ", responses=detail_responses())
    async def get_faq(
        self, request: Request[Any, Any, Any], store: StoreDep, item: ItemParamsDep
    ) -> Response[Faq]:
        """One question with its answer (HTML and plain text) and the kiosk's short answer."""
        return await get_item(store, SPEC, item, request)
