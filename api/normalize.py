"""What the generators' output is made from, normalized so that it does not depend on the
release of Litestar or msgspec that produced it: `python -m api schemas` and `python -m api
openapi` give the same bytes under the locked and under the newest releases."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec

#: Maps whose order is the author's (a struct's fields, in the order they are declared and
#: shown), and values that are data given as examples: kept as they are.
_KEPT_ORDER = frozenset({"properties"})
_DATA = frozenset({"example", "examples", "default", "enum", "const"})


def normalized(schema: Any) -> Any:
    """The schema with every description cleaned as `inspect.cleandoc` cleans a docstring.

    msgspec releases differ in how they dedent the docstrings a description comes from (0.23
    began to clean them), so the committed files are made from text that no release changes.
    """
    if isinstance(schema, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else normalized(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [normalized(value) for value in schema]
    return schema


def normalized_document(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document with descriptions cleaned and the keys of every object sorted,
    except where their order carries meaning: a schema's `properties` keep their declared
    order, and example and default values are left as given."""
    result: dict[str, Any] = _sorted(normalized(document), keep=False)
    return result


def _sorted(value: Any, *, keep: bool) -> Any:
    if isinstance(value, dict):
        items = value.items() if keep else sorted(value.items())
        return {
            # Inside `properties` the keys are field names, not keywords.
            key: item
            if key in _DATA and not keep
            else _sorted(item, keep=key in _KEPT_ORDER and not keep)
            for key, item in items
        }
    if isinstance(value, list):
        return [_sorted(item, keep=False) for item in value]
    return value


def document_bytes(document: dict[str, Any]) -> bytes:
    """The normalized document as committed and served: JSON, indented for git."""
    return msgspec.json.format(msgspec.json.encode(normalized_document(document)), indent=2) + b"\n"
