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
    Related,
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
from schemas.resources import ConditionDetail, ConditionList, ConditionSummary

ConditionSort = Literal["title", "-title", "updated_at", "-updated_at"]
SPEC = TypeSpec(
    type="condition",
    path="/v1/conditions",
    sorts=("title", "-title", "updated_at", "-updated_at"),
    default_sort="title",
    fields=frozenset(ConditionSummary.__struct_fields__) - {"included"},
    includes={
        "symptoms": Related("symptom", from_field="symptoms"),
        "treatments": Related("treatment", from_field="treatments"),
        "faqs": Related("faq", linked_by="condition"),
    },
)


class ConditionController(Controller):
    path = SPEC.path
    tags = ("conditions",)
    parameters = AT_PARAMETERS

    @get("/", operation_id="listConditions", summary="List conditions", responses=list_responses())
    async def list_conditions(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        sort: Annotated[ConditionSort | None, QueryParameter(description=SORT_DESCRIPTION)] = None,
        fields: Annotated[str | None, SPEC.fields_param] = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        locale: LocaleParam = None,
        symptom: SlugFilter = None,
        treatment: SlugFilter = None,
        updated_since: UpdatedSince = None,
        review_status: ReviewStatusFilter = None,
        channel: ChannelParam = None,
    ) -> Response[ConditionList]:
        """Conditions A to Z; filter by symptom or treatment."""
        links = [(rel, v) for rel, v in (("symptom", symptom), ("treatment", treatment)) if v]
        params = ListParams(
            limit,
            cursor,
            sort,
            fields,
            include,
            locale,
            links,
            updated_since,
            review_status=review_status,
            channel=channel,
        )
        return await list_items(store, SPEC, params, request)

    @get(
        "/{slug:str}",
        operation_id="getCondition",
        summary="Get a condition",
        responses=detail_responses(),
    )
    async def get_condition(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        slug: SlugPath,
        locale: LocaleParam = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        channel: ChannelParam = None,
        preview_token: PreviewToken = None,
    ) -> Response[ConditionDetail]:
        """One condition with its other names, codes, symptoms and treatments."""
        return await get_item(store, SPEC, slug, locale, include, request, channel)
