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
from api.registry import SymptomSort, spec
from schemas.resources import SymptomDetail, SymptomList

SPEC = spec("symptom")


class SymptomController(ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listSymptoms", summary="List symptoms", responses=list_responses())
    async def list_symptoms(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        params: ListParamsDep,
        sort: Sort[SymptomSort] = None,
        fields: Annotated[str | None, fields_param(SPEC)] = None,
        include: Annotated[str | None, include_param(SPEC)] = None,
        condition: SlugFilter = None,
    ) -> Response[SymptomList]:
        """Symptoms A to Z; filter by condition."""
        found = links(condition=condition)
        return await list_items(
            store, SPEC, params, request, sort=sort, fields=fields, include=include, links=found
        )

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
        item: ItemParamsDep,
        include: Annotated[str | None, include_param(SPEC)] = None,
    ) -> Response[SymptomDetail]:
        """One symptom: what it is and how it shows."""
        return await get_item(store, SPEC, item, request, include=include)
