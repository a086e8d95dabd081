from __future__ import annotations

from typing import Annotated

from litestar import Response, get

from api.controllers import pipeline as p
from api.controllers.responses import detail_responses, list_responses
from api.registry import SymptomSort, spec
from schemas.resources import SymptomDetail, SymptomList

SPEC = spec("symptom")
Fields = Annotated[str | None, p.fields_param(SPEC)]
Include = Annotated[str | None, p.include_param(SPEC)]


class SymptomController(p.ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listSymptoms", summary="List symptoms", responses=list_responses())
    async def list_symptoms(
        self,
        listing: p.ListDep,
        sort: p.Sort[SymptomSort] = None,
        fields: Fields = None,
        include: Include = None,
        condition: p.SlugFilter = None,
    ) -> Response[SymptomList]:
        """Symptoms A to Z; filter by condition."""
        return await listing.answer(
            SPEC, sort=sort, fields=fields, include=include, condition=condition
        )

    @get(
        "/{slug:str}",
        operation_id="getSymptom",
        summary="Get a symptom",
        responses=detail_responses(),
    )
    async def get_symptom(
        self, item: p.ItemDep, include: Include = None
    ) -> Response[SymptomDetail]:
        """One symptom: what it is and how it shows."""
        return await item.answer(SPEC, include=include)
