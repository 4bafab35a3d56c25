"""The published log schema and the conversion of batches to it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.adapters.predlog import (
    FEEDBACK_SCHEMA,
    LogSchemaError,
    fixed_prediction_schema,
    prediction_schema,
    truncate_raw_request,
)
from steadyml.adapters.predlog.schema import conform

from .helpers import SCHEMA, records

FILL = {"service": "churn", "worker": "w0"}


def test_kinds_map_to_arrow_types() -> None:
    schema = prediction_schema(
        {"a": "numeric", "b": "integer", "c": "categorical", "d": "boolean", "e": pa.int8()},
        {"a_log": "numeric"},
    )
    inputs = schema.field("inputs").type
    assert [inputs.field(i).type for i in range(inputs.num_fields)] == [
        pa.float64(),
        pa.int64(),
        pa.string(),
        pa.bool_(),
        pa.int8(),
    ]
    assert schema.field("features").type == pa.struct([("a_log", pa.float64())])
    assert schema.metadata[b"steadyml.log_schema"] == b"1"


def test_fixed_columns_come_first_and_worker_last() -> None:
    schema = prediction_schema({"x": "numeric"})
    fixed = fixed_prediction_schema().names
    assert schema.names[:14] == fixed[:14]
    assert schema.names[-2:] == ["raw_request", "worker"]
    assert "features" not in schema.names
    assert schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert not schema.field("request_id").nullable
    assert schema.field("prediction").nullable


def test_unknown_kind_and_empty_inputs_are_refused() -> None:
    with pytest.raises(LogSchemaError, match=r"inputs\.x"):
        prediction_schema({"x": "float"})
    with pytest.raises(LogSchemaError, match="at least one input"):
        prediction_schema({})


def test_schema_survives_a_parquet_round_trip(tmp_path: Path) -> None:
    table = conform(records(["a", "b"]), SCHEMA, fill=FILL)
    pq.write_table(table, tmp_path / "x.parquet")
    back = pq.read_table(tmp_path / "x.parquet")
    assert back.schema.equals(SCHEMA)
    assert back.column("service").to_pylist() == ["churn", "churn"]
    assert back.column("worker").to_pylist() == ["w0", "w0"]
    assert back.column("rejection_reason").null_count == 2


def test_conform_casts_polars_style_types() -> None:
    table = records(["a"])
    large = table.set_column(0, "request_id", table.column(0).cast(pa.large_string()))
    out = conform(large, SCHEMA, fill=FILL)
    assert out.schema.equals(SCHEMA)
    assert out.column("request_id").to_pylist() == ["a"]


def test_conform_refuses_extra_and_missing_columns() -> None:
    table = records(["a"])
    with pytest.raises(LogSchemaError, match="colour"):
        conform(table.append_column("colour", pa.array(["red"])), SCHEMA, fill=FILL)
    with pytest.raises(LogSchemaError, match="status"):
        conform(table.drop_columns(["status"]), SCHEMA, fill=FILL)
    with pytest.raises(LogSchemaError, match="service"):
        conform(table, SCHEMA, fill={})


def test_conform_refuses_nulls_in_required_columns_and_bad_types() -> None:
    table = records(["a", "b"])
    nulls = table.set_column(
        table.schema.get_field_index("status"), "status", pa.array(["ok", None])
    )
    with pytest.raises(LogSchemaError, match="status"):
        conform(nulls, SCHEMA, fill=FILL)
    bad = table.set_column(
        table.schema.get_field_index("prediction"), "prediction", pa.array([[1.0], [2.0]])
    )
    with pytest.raises(LogSchemaError, match="prediction"):
        conform(bad, SCHEMA, fill=FILL)


def test_conform_refuses_unknown_input_fields() -> None:
    table = records(["a"])
    inputs = pa.array([{"AGEP": 1.0, "SEX": "1", "WKHP": 4, "ZIP": "x"}])
    with pytest.raises(LogSchemaError, match=r"inputs\.ZIP"):
        conform(
            table.set_column(table.schema.get_field_index("inputs"), "inputs", inputs),
            SCHEMA,
            fill=FILL,
        )


def test_feedback_schema_columns() -> None:
    assert FEEDBACK_SCHEMA.names == [
        "request_id",
        "service",
        "event_time",
        "received_at",
        "kind",
        "name",
        "value",
        "value_str",
        "worker",
    ]


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=5000))
def test_truncated_raw_request_is_a_valid_prefix(text: str, limit: int) -> None:
    cut = truncate_raw_request(text, limit)
    data = cut.encode("utf-8", errors="replace")
    assert len(data) <= limit
    assert text.encode("utf-8", errors="replace").startswith(data)
    if len(text.encode("utf-8", errors="replace")) <= limit:
        assert cut == text
