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
from api.controllers.responses import detail_responses, list_responses
from api.controllers.search import MAX_QUERY_LENGTH, ranked_faqs
from api.errors import bad_param
from schemas.resources import Faq, FaqList

FaqSort = Literal["order", "-order", "updated_at", "-updated_at"]
FaqQuery = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        # At least one letter or digit: a query of only punctuation has no word to search.
        pattern=r"[^\W_]",
        description="Words to search the FAQs for (the kiosk's FAQ box): results come best"
        " first, typos forgiven, as in GET /v1/search. Not with `sort`, `fields` or"
        " `updated_since`.",
    ),
]
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
        q: FaqQuery = None,
    ) -> Response[FaqList]:
        """FAQs by topic, in the order editors gave, or best match first with `q`."""
        pairs = (("topic", topic), ("condition", condition), ("treatment", treatment))
        links = [(rel, v) for rel, v in pairs if v]
        if q is not None:
            for name, value in (
                ("sort", sort),
                ("fields", fields),
                ("updated_since", updated_since),
                ("review_status", review_status),
            ):
                if value is not None:
                    raise bad_param(name, "cannot be combined with q (results come best first)")
            return await ranked_faqs(
                request,
                store,
                q,
                locale=locale,
                topic=topic,
                links=[(rel, v) for rel, v in links if rel != "topic"],
                limit=limit,
                cursor=cursor,
                channel=channel,
            )
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

    @get("/{slug:str}", operation_id="getFaq", summary="Get an FAQ", responses=detail_responses())
    async def get_faq(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        slug: SlugPath,
        locale: LocaleParam = None,
        channel: ChannelParam = None,
    ) -> Response[Faq]:
        """One question with its answer (HTML and plain text) and the kiosk's short answer."""
        return await get_item(store, SPEC, slug, locale, None, request, channel)
