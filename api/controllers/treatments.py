from __future__ import annotations

from typing import Annotated

from litestar import Response, get

from api.controllers import pipeline as p
from api.controllers.responses import detail_responses, list_responses
from api.registry import TreatmentSort, spec
from schemas.resources import TreatmentDetail, TreatmentList

SPEC = spec("treatment")
Fields = Annotated[str | None, p.fields_param(SPEC)]
Include = Annotated[str | None, p.include_param(SPEC)]


class TreatmentController(p.ContentController):
    path = SPEC.path
    tags = (SPEC.segment,)

    @get("/", operation_id="listTreatments", summary="List treatments", responses=list_responses())
    async def list_treatments(
        self,
        listing: p.ListDep,
        sort: p.Sort[TreatmentSort] = None,
        fields: Fields = None,
        include: Include = None,
        condition: p.SlugFilter = None,
    ) -> Response[TreatmentList]:
        """Treatments A to Z; filter by condition."""
        return await listing.answer(
            SPEC, sort=sort, fields=fields, include=include, condition=condition
        )

    @get(
        "/{slug:str}",
        operation_id="getTreatment",
        summary="Get a treatment",
        responses=detail_responses(),
    )
    async def get_treatment(
        self, item: p.ItemDep, include: Include = None
    ) -> Response[TreatmentDetail]:
        """One treatment: how it works, what to expect, side effects and safety."""
        return await item.answer(SPEC, include=include)
