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
from api.registry import ConditionSort, spec
from schemas.resources import ConditionDetail, ConditionList

SPEC = spec("condition")


class ConditionController(ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listConditions", summary="List conditions", responses=list_responses())
    async def list_conditions(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        params: ListParamsDep,
        sort: Sort[ConditionSort] = None,
        fields: Annotated[str | None, fields_param(SPEC)] = None,
        include: Annotated[str | None, include_param(SPEC)] = None,
        symptom: SlugFilter = None,
        treatment: SlugFilter = None,
    ) -> Response[ConditionList]:
        """Conditions A to Z; filter by symptom or treatment."""
        found = links(symptom=symptom, treatment=treatment)
        return await list_items(
            store, SPEC, params, request, sort=sort, fields=fields, include=include, links=found
        )

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
        item: ItemParamsDep,
        include: Annotated[str | None, include_param(SPEC)] = None,
    ) -> Response[ConditionDetail]:
        """One condition with its other names, codes, symptoms and treatments."""
        return await get_item(store, SPEC, item, request, include=include)
