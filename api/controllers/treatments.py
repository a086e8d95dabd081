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
    include_param,
    links,
    list_items,
)
from api.controllers.responses import detail_responses, list_responses
from api.registry import TreatmentSort, spec
from schemas.resources import TreatmentDetail, TreatmentList

SPEC = spec("treatment")


class TreatmentController(ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listTreatments", summary="List treatments", responses=list_responses())
    async def list_treatments(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        params: ListParamsDep,
        sort: Sort[TreatmentSort] = None,
        fields: Annotated[str | None, fields_param(SPEC)] = None,
        include: Annotated[str | None, include_param(SPEC)] = None,
        condition: SlugFilter = None,
    ) -> Response[TreatmentList]:
        """Treatments A to Z; filter by condition."""
        found = links(condition=condition)
        return await list_items(
            store, SPEC, params, request, sort=sort, fields=fields, include=include, links=found
        )

    @get(
        "/{slug:str}",
        operation_id="getTreatment",
        summary="Get a treatment",
        responses=detail_responses(),
    )
    async def get_treatment(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        item: ItemParamsDep,
        include: Annotated[str | None, include_param(SPEC)] = None,
    ) -> Response[TreatmentDetail]:
        """One treatment: how it works, what to expect, side effects and safety."""
        return await get_item(store, SPEC, item, request, include=include)
