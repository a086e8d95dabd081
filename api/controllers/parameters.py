"""Parameters judged as strictly as the OpenAPI document states them, for every operation.

Litestar converts query and path values with msgspec in lax mode (`strict=False`), which
takes any string that spells an integral number for an integer: `limit=1e2` is 100 and
`limit=2.0` is 2. And msgspec matches a `pattern` with Python's `re.search`, where `$`
also matches before a final line break, so `topic=about-crps%0a` passed a slug's
`^...$`. A client generated from the document, and every other implementation of it,
reads both strictly: an integer is written in decimal digits, and a pattern's `$` is the
end of the value (ECMA-262, which JSON Schema and OpenAPI follow).

So before the framework converts anything, each value is judged against the parameter's
schema in the served document: an integer must be decimal ASCII digits with an optional
`-`, and a pattern ending in `$` must match up to the very end. The document is the one
source, so an operation added later is judged the same way without saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPI, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType

from api.errors import bad_param

INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class Rule:
    """What one parameter's value must be, beyond what the framework checks."""

    name: str
    location: str
    integer: bool
    #: The pattern with its final `$` meaning the end of the value, and the pattern as
    #: documented (for the message).
    pattern: re.Pattern[str] | None
    documented: str | None


def _rule(parameter: Parameter) -> Rule | None:
    schema = parameter.schema
    if not isinstance(schema, Schema):
        return None
    kinds = schema.type if isinstance(schema.type, list | tuple) else [schema.type]
    integer = OpenAPIType.INTEGER in kinds
    pattern = None
    documented = schema.pattern
    if documented and documented.endswith("$") and not documented.endswith("\\$"):
        pattern = re.compile(documented[:-1] + r"\Z")
    if not integer and pattern is None:
        return None
    location = ParamType(parameter.param_in).value
    return Rule(parameter.name, location, integer, pattern, documented)


def parameter_rules(schema: OpenAPI) -> dict[str, tuple[Rule, ...]]:
    """Each operation's rules, by operation id, from the document as served."""
    rules: dict[str, tuple[Rule, ...]] = {}
    for item in (schema.paths or {}).values():
        operation = item.get
        if operation is None or not operation.operation_id:
            continue
        found = []
        for parameter in operation.parameters or []:
            if isinstance(parameter, Parameter) and parameter.param_in in (
                ParamType.QUERY,
                ParamType.PATH,
            ):
                rule = _rule(parameter)
                if rule is not None:
                    found.append(rule)
        rules[operation.operation_id] = tuple(found)
    return rules


def check_parameters(
    rules: tuple[Rule, ...], query: Mapping[str, Any], path: Mapping[str, Any]
) -> None:
    """Raise a 400 naming the first parameter whose value breaks its rule."""
    for rule in rules:
        value = (query if rule.location == "query" else path).get(rule.name)
        if not isinstance(value, str):
            continue
        if rule.integer and not INTEGER.fullmatch(value):
            raise bad_param(rule.name, "expected an integer in decimal digits", rule.location)
        if rule.pattern is not None and not rule.pattern.search(value):
            raise bad_param(
                rule.name, f"expected a value matching {rule.documented}", rule.location
            )
