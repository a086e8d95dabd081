from __future__ import annotations

from typing import Annotated

from litestar import Response, get

from api.controllers import pipeline as p
from api.controllers.responses import detail_responses, list_responses
from api.registry import ConditionSort, spec
from schemas.resources import ConditionDetail, ConditionList

SPEC = spec("condition")
Fields = Annotated[str | None, p.fields_param(SPEC)]
Include = Annotated[str | None, p.include_param(SPEC)]


class ConditionController(p.ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listConditions", summary="List conditions", responses=list_responses())
    async def list_conditions(
        self,
        listing: p.ListDep,
        sort: p.Sort[ConditionSort] = None,
        fields: Fields = None,
        include: Include = None,
        symptom: p.SlugFilter = None,
        treatment: p.SlugFilter = None,
    ) -> Response[ConditionList]:
        """Conditions A to Z; filter by symptom or treatment."""
        return await listing.answer(
            SPEC, sort=sort, fields=fields, include=include, symptom=symptom, treatment=treatment
        )

    @get(
        "/{slug:str}",
        operation_id="getCondition",
        summary="Get a condition",
        responses=detail_responses(),
    )
    async def get_condition(
        self, item: p.ItemDep, include: Include = None
    ) -> Response[ConditionDetail]:
        """One condition with its other names, codes, symptoms and treatments."""
        return await item.answer(SPEC, include=include)
