"""The contract as Polars schema, JSON Schema and pydantic request model."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from pydantic import TypeAdapter

from steadyml.core.contract import ColumnRule, Contract
from steadyml.core.violations import ViolationAction, ViolationPolicy

CONTRACT = Contract(
    columns=(
        ColumnRule("age", "numeric", False, True, 0.0, 120.0, None, 40.0, "age in years"),
        ColumnRule("kids", "integer", True, False, 0.0, 20.0, None, 1),
        ColumnRule("SCHL", "categorical", False, True, None, None, ("1", "16"), "16"),
        ColumnRule("my col", "boolean", True, True, None, None, None, None),
    )
)

_TYPES: dict[str, Any] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _conforms(record: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """A small hand check of the JSON Schema subset the contract uses."""
    errors = [f"{name} missing" for name in schema["required"] if name not in record]
    for name, value in record.items():
        prop = schema["properties"].get(name)
        if prop is None:
            if not schema["additionalProperties"]:
                errors.append(f"{name} unknown")
            continue
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        ok = any(
            isinstance(value, _TYPES[t]) and not (t != "boolean" and isinstance(value, bool))
            for t in types
        )
        if not ok:
            errors.append(f"{name} type")
            continue
        if "enum" in prop and value not in prop["enum"]:
            errors.append(f"{name} enum")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in prop and value < prop["minimum"]:
                errors.append(f"{name} minimum")
            if "maximum" in prop and value > prop["maximum"]:
                errors.append(f"{name} maximum")
    return errors


def test_polars_schema_uses_the_four_dtypes() -> None:
    assert CONTRACT.polars_schema() == {
        "age": pl.Float64(),
        "kids": pl.Int64(),
        "SCHL": pl.String(),
        "my col": pl.Boolean(),
    }


def test_json_schema_shape() -> None:
    schema = CONTRACT.json_schema()
    json.dumps(schema, allow_nan=False)
    assert schema["type"] == "object"
    assert schema["required"] == ["age", "SCHL", "my col"]
    assert schema["additionalProperties"] is True
    age = schema["properties"]["age"]
    assert (age["type"], age["minimum"], age["maximum"]) == ("number", 0.0, 120.0)
    assert age["description"] == "age in years"
    assert schema["properties"]["kids"]["type"] == ["integer", "null"]
    assert schema["properties"]["SCHL"]["enum"] == ["1", "16"]
    assert "Integer codes" in schema["properties"]["SCHL"]["description"]
    assert schema["properties"]["my col"]["type"] == ["boolean", "null"]


@pytest.mark.parametrize(
    ("record", "errors"),
    [
        ({"age": 30, "SCHL": "16", "my col": None, "extra": 1}, []),
        ({"age": 30.5, "kids": 2, "SCHL": "1", "my col": True}, []),
        ({"SCHL": "1", "my col": True}, ["age missing"]),
        ({"age": 130, "SCHL": "1", "my col": True}, ["age maximum"]),
        ({"age": 30, "SCHL": "7", "my col": True}, ["SCHL enum"]),
        ({"age": "30", "SCHL": "1", "my col": True}, ["age type"]),
        ({"age": 30, "kids": 1.5, "SCHL": "1", "my col": True}, ["kids type"]),
        ({"age": True, "SCHL": "1", "my col": True}, ["age type"]),
    ],
)
def test_json_schema_agrees_with_strict_validation(
    record: dict[str, Any], errors: list[str]
) -> None:
    assert _conforms(record, CONTRACT.json_schema()) == errors
    policy = ViolationPolicy.strict().model_copy(update={"unknown_column": ViolationAction.FLAG})
    result = CONTRACT.validate_records([record], policy)
    assert (not result.rejected) == (not errors)


def test_request_model_documents_and_accepts_records() -> None:
    model = CONTRACT.request_model()
    schema = model.model_json_schema()
    assert set(schema["properties"]) == {"age", "kids", "SCHL", "my col"}
    assert set(schema["required"]) == {"age", "SCHL", "my col"}
    assert schema["properties"]["SCHL"]["enum"] == ["1", "16"]
    assert schema["properties"]["age"]["maximum"] == 120.0
    assert schema.get("additionalProperties") is not False
    parsed = model.model_validate({"age": 200, "SCHL": "99", "my col": None, "extra": 3})
    # ranges and categories are documented, not enforced: the policy decides
    assert parsed.model_dump(by_alias=True)["age"] == 200.0
    assert parsed.model_extra == {"extra": 3}


def test_request_model_works_inside_an_openapi_schema() -> None:
    record: Any = CONTRACT.request_model()
    adapter: TypeAdapter[Any] = TypeAdapter(list[record])
    schema = adapter.json_schema()
    assert schema["type"] == "array"
    json.dumps(schema)
