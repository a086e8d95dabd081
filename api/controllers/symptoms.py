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
from schemas.resources import SymptomDetail, SymptomList, SymptomSummary

SymptomSort = Literal["title", "-title", "updated_at", "-updated_at"]
SPEC = TypeSpec(
    type="symptom",
    path="/v1/symptoms",
    sorts=("title", "-title", "updated_at", "-updated_at"),
    default_sort="title",
    fields=frozenset(SymptomSummary.__struct_fields__) - {"included"},
    includes={
        "conditions": Related("condition", from_field="conditions"),
    },
)


class SymptomController(Controller):
    path = SPEC.path
    tags = ("symptoms",)
    parameters = AT_PARAMETERS

    @get("/", operation_id="listSymptoms", summary="List symptoms", responses=list_responses())
    async def list_symptoms(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        sort: Annotated[SymptomSort | None, QueryParameter(description=SORT_DESCRIPTION)] = None,
        fields: Annotated[str | None, SPEC.fields_param] = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        locale: LocaleParam = None,
        condition: SlugFilter = None,
        updated_since: UpdatedSince = None,
        review_status: ReviewStatusFilter = None,
        channel: ChannelParam = None,
    ) -> Response[SymptomList]:
        """Symptoms A to Z; filter by condition."""
        links = [(rel, v) for rel, v in (("condition", condition),) if v]
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
        operation_id="getSymptom",
        summary="Get a symptom",
        responses=detail_responses(),
    )
    async def get_symptom(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        slug: SlugPath,
        locale: LocaleParam = None,
        include: Annotated[str | None, SPEC.include_param] = None,
        channel: ChannelParam = None,
        preview_token: PreviewToken = None,
    ) -> Response[SymptomDetail]:
        """One symptom: what it is and how it shows."""
        return await get_item(store, SPEC, slug, locale, include, request, channel)
