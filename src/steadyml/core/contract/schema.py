"""The contract as schemas: Polars dtypes, a JSON Schema and a pydantic request model.

The JSON Schema and the pydantic model describe ONE record. They document ranges and
categories for people and for OpenAPI (``/docs``), but unknown fields are allowed and
the pydantic model does not enforce ranges or categories: the violation policy
decides what happens to such values, not the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, create_model

from steadyml.core.contract.rules import ColumnRule

__all__ = ["json_schema", "polars_schema", "request_model"]

_POLARS: dict[str, pl.DataType] = {
    "numeric": pl.Float64(),
    "integer": pl.Int64(),
    "categorical": pl.String(),
    "boolean": pl.Boolean(),
}
_JSON_TYPES = {
    "numeric": "number",
    "integer": "integer",
    "categorical": "string",
    "boolean": "boolean",
}
_PYTHON_TYPES: dict[str, Any] = {
    "numeric": float,
    "integer": int,
    "categorical": str,
    "boolean": bool,
}
_CODES_NOTE = "Integer codes are accepted and read as their string form."


def polars_schema(rules: Sequence[ColumnRule]) -> dict[str, pl.DataType]:
    """Column name → Polars dtype (Float64, Int64, String or Boolean), in contract order."""
    return {rule.name: _POLARS[rule.kind] for rule in rules}


def _constraints(rule: ColumnRule) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if rule.minimum is not None:
        found["minimum"] = rule.minimum
    if rule.maximum is not None:
        found["maximum"] = rule.maximum
    if rule.categories is not None:
        found["enum"] = [*rule.categories, None] if rule.nullable else list(rule.categories)
    if rule.default is not None:
        found["examples"] = [rule.default]
    return found


def _description(rule: ColumnRule) -> str:
    parts = [rule.description] if rule.description else []
    if rule.kind == "categorical":
        parts.append(_CODES_NOTE)
    return " ".join(parts)


def _property(rule: ColumnRule) -> dict[str, Any]:
    kind = _JSON_TYPES[rule.kind]
    prop: dict[str, Any] = {"title": rule.name, "type": [kind, "null"] if rule.nullable else kind}
    description = _description(rule)
    if description:
        prop["description"] = description
    prop.update(_constraints(rule))
    return prop


def json_schema(rules: Sequence[ColumnRule], title: str = "Record") -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one record.

    Types, ``enum`` for categories, ``minimum``/``maximum``, null where nullable, the
    required columns; ``additionalProperties`` is true (the policy decides).
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": {rule.name: _property(rule) for rule in rules},
        "required": [rule.name for rule in rules if rule.required],
        "additionalProperties": True,
    }


def request_model(rules: Sequence[ColumnRule], name: str = "Record") -> type[BaseModel]:
    """A pydantic model of one record, for OpenAPI documentation.

    Fields use the column names as aliases (any column name works, even one that is
    not a Python identifier); extra fields are allowed. Ranges and categories appear
    in the schema but are not enforced.
    """
    fields: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        annotation: Any = _PYTHON_TYPES[rule.kind]
        if rule.nullable or not rule.required:
            annotation = annotation | None
        extra = _constraints(rule)
        info = Field(
            ... if rule.required else None,
            alias=rule.name,
            title=rule.name,
            description=_description(rule) or None,
            json_schema_extra=extra or None,
        )
        fields[f"field_{i}"] = (annotation, info)
    config = ConfigDict(extra="allow", populate_by_name=True, title=name)
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model
