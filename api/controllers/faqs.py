from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from api.controllers.pipeline import (
    DEFAULT_LIMIT,
    SORT_DESCRIPTION,
    ChannelParam,
    Cursor,
    Limit,
    ListParams,
    LocaleParam,
    ReviewStatusFilter,
    SlugFilter,
    SlugPath,
    StoreDep,
    TypeSpec,
    UpdatedSince,
    get_item,
    list_items,
)
from api.controllers.preview_links import AT_PARAMETERS, PreviewToken
from api.controllers.responses import detail_responses, list_responses
from schemas.resources import Faq, FaqList

FaqSort = Literal["order", "-order", "updated_at", "-updated_at"]
SPEC = TypeSpec(
    type="faq",
    path="/v1/faqs",
    sorts=("order", "-order", "updated_at", "-updated_at"),
    default_sort="order",
    fields=frozenset(Faq.__struct_fields__) - {"included"},
)


class FaqController(Controller):
    path = SPEC.path
    tags = ("faqs",)
    parameters = AT_PARAMETERS

    @get("/", operation_id="listFaqs", summary="List FAQs", responses=list_responses())
    async def list_faqs(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        sort: Annotated[FaqSort | None, QueryParameter(description=SORT_DESCRIPTION)] = None,
        fields: Annotated[str | None, SPEC.fields_param] = None,
        locale: LocaleParam = None,
        topic: SlugFilter = None,
        condition: SlugFilter = None,
        treatment: SlugFilter = None,
        updated_since: UpdatedSince = None,
        review_status: ReviewStatusFilter = None,
        channel: ChannelParam = None,
    ) -> Response[FaqList]:
        """FAQs by topic, in the order editors gave. To search them, best match first, use
        `GET /v1/search?type=faq` (with `topic` for one topic's)."""
        pairs = (("topic", topic), ("condition", condition), ("treatment", treatment))
        links = [(rel, v) for rel, v in pairs if v]
        params = ListParams(
            limit,
            cursor,
            sort,
            fields,
            None,
            locale,
            links,
            updated_since,
            review_status=review_status,
            channel=channel,
        )
        return await list_items(store, SPEC, params, request)

    @get(
        "/{slug:str}",
        operation_id="getFaq",
        summary="Get an FAQ",
        responses=detail_responses(),
    )
    async def get_faq(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        slug: SlugPath,
        locale: LocaleParam = None,
        channel: ChannelParam = None,
        preview_token: PreviewToken = None,
    ) -> Response[Faq]:
        """One question with its answer (HTML and plain text) and the kiosk's short answer."""
        return await get_item(store, SPEC, slug, locale, None, request, channel)
