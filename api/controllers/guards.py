"""The guard every request passes before its handler: query parameters are judged by the
OpenAPI document as served (api/document.py), not by the framework's laxer reading.

The factory reads each operation's parameters from the finished document once
(`documented_query_names`, and `parameter_rules` in api/controllers/parameters.py) and
keeps them in the app's state; `reject_unknown_parameters` refuses what they do not allow.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI, Parameter

from api.controllers.parameters import Rule, check_parameters
from api.errors import bad_param


def documented_query_names(schema: OpenAPI) -> dict[str, frozenset[str]]:
    """Each operation's query parameters as the OpenAPI document lists them, by operation
    id: the handler's own and those of its dependencies."""
    names: dict[str, frozenset[str]] = {}
    for item in (schema.paths or {}).values():
        operation = item.get
        if operation is not None and operation.operation_id:
            names[operation.operation_id] = frozenset(
                p.name
                for p in operation.parameters or []
                if isinstance(p, Parameter) and p.param_in == ParamType.QUERY
            )
    return names


async def reject_unknown_parameters(request: Request[Any, Any, Any]) -> None:
    """Refuse query parameters the operation does not define, so typos do not pass silently."""
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
        return
    query_names: dict[str, frozenset[str]] = request.app.state.query_names
    allowed = query_names.get(str(handler.operation_id), frozenset())
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise bad_param(
            unknown[0],
            f"unknown parameter; this operation accepts: {', '.join(sorted(allowed)) or 'none'}",
        )
    for name, values in request.query_params.dict().items():
        if len(values) > 1:
            raise bad_param(name, "given more than once")
    # Integers and patterns as the document states them, before the framework's lax reading.
    rules: dict[str, tuple[Rule, ...]] = request.app.state.parameter_rules
    check_parameters(
        rules.get(str(handler.operation_id), ()), request.query_params, request.path_params
    )
