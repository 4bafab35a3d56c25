"""The published schema of the prediction log and the feedback log.

A prediction record has fixed columns plus two per-service struct columns: ``inputs``
(the validated request, typed by the contract) and ``features`` (the model inputs after
transforms; left out when a service does not log them, because Parquet cannot store a
struct without fields). ``docs/prediction-log.md`` describes every column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pyarrow as pa

from steadyml.errors import DataError

__all__ = [
    "FALLBACK_REASONS",
    "FEEDBACK_KINDS",
    "FEEDBACK_SCHEMA",
    "KIND_TYPES",
    "LOG_SCHEMA_VERSION",
    "RAW_REQUEST_MAX_BYTES",
    "STATUSES",
    "ConformPlan",
    "FeatureKind",
    "LogSchemaError",
    "conform",
    "fixed_prediction_schema",
    "prediction_schema",
    "truncate_raw_request",
]

LOG_SCHEMA_VERSION = 1
RAW_REQUEST_MAX_BYTES = 4096
STATUSES = ("ok", "fallback", "rejected", "error")
FALLBACK_REASONS = (
    "nan_output",
    "out_of_range",
    "model_error",
    "timeout",
    "circuit_open",
    "fallback_mode",
)
FEEDBACK_KINDS = ("label", "outcome")

FeatureKind = Literal["numeric", "integer", "categorical", "boolean"]
KIND_TYPES: dict[str, pa.DataType] = {
    "numeric": pa.float64(),
    "integer": pa.int64(),
    "categorical": pa.string(),
    "boolean": pa.bool_(),
}

_TS = pa.timestamp("us", tz="UTC")
_METADATA = {b"steadyml.log_schema": str(LOG_SCHEMA_VERSION).encode()}


class LogSchemaError(DataError):
    """A batch handed to a log writer does not fit the log's schema."""

    kind = "log schema error"


def _fixed_head() -> list[pa.Field]:
    return [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("service", pa.string(), nullable=False),
        pa.field("model_version", pa.string()),
        pa.field("event_time", _TS, nullable=False),
        pa.field("received_at", _TS, nullable=False),
        pa.field("latency_ms", pa.float64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("fallback", pa.bool_()),
        pa.field("fallback_reason", pa.string()),
        pa.field("rejection_reason", pa.string()),
        pa.field("flags", pa.list_(pa.string())),
        pa.field("prediction", pa.float64()),
        pa.field("raw_prediction", pa.float64()),
        pa.field("label_class", pa.string()),
    ]


def _struct(columns: Mapping[str, FeatureKind | pa.DataType], what: str) -> pa.StructType:
    fields = []
    for name, kind in columns.items():
        if isinstance(kind, pa.DataType):
            fields.append(pa.field(name, kind))
        elif kind in KIND_TYPES:
            fields.append(pa.field(name, KIND_TYPES[kind]))
        else:
            raise LogSchemaError(
                f"{what}.{name}", kind, f"use one of {sorted(KIND_TYPES)} or a pyarrow DataType"
            )
    return pa.struct(fields)


def fixed_prediction_schema() -> pa.Schema:
    """The columns every prediction log has (no ``inputs`` or ``features``)."""
    fields = [*_fixed_head(), pa.field("raw_request", pa.string())]
    return pa.schema([*fields, pa.field("worker", pa.string(), False)], metadata=_METADATA)


def prediction_schema(
    inputs: Mapping[str, FeatureKind | pa.DataType],
    features: Mapping[str, FeatureKind | pa.DataType] | None = None,
) -> pa.Schema:
    """Build the prediction-log schema of one service.

    Parameters
    ----------
    inputs
        Contract column name -> kind (``numeric``, ``integer``, ``categorical``,
        ``boolean``) or a pyarrow type; becomes the ``inputs`` struct column.
    features
        Model-input name -> kind or pyarrow type; becomes the ``features`` struct column.
        None or empty: the service does not log features and the column is left out.

    Returns
    -------
    pyarrow.Schema
        The fixed columns, ``inputs``, optionally ``features``, ``raw_request``, ``worker``.

    Raises
    ------
    LogSchemaError
        When ``inputs`` is empty or a kind is unknown.

    Examples
    --------
    >>> schema = prediction_schema({"AGEP": "numeric", "SEX": "categorical"})
    >>> schema.field("inputs").type
    StructType(struct<AGEP: double, SEX: string>)
    >>> "features" in schema.names
    False
    """
    if not inputs:
        raise LogSchemaError("inputs", {}, "give at least one input column and its kind")
    fields = [*_fixed_head(), pa.field("inputs", _struct(inputs, "inputs"))]
    if features:
        fields.append(pa.field("features", _struct(features, "features")))
    fields += [pa.field("raw_request", pa.string()), pa.field("worker", pa.string(), False)]
    return pa.schema(fields, metadata=_METADATA)


FEEDBACK_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("service", pa.string(), nullable=False),
        pa.field("event_time", _TS, nullable=False),
        pa.field("received_at", _TS, nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("value_str", pa.string()),
        pa.field("worker", pa.string(), nullable=False),
    ],
    metadata=_METADATA,
)


def truncate_raw_request(text: str, limit: int = RAW_REQUEST_MAX_BYTES) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def _extra_struct_fields(given: pa.DataType, wanted: pa.DataType) -> list[str]:
    if not (pa.types.is_struct(given) and pa.types.is_struct(wanted)):
        return []
    known = {wanted.field(i).name for i in range(wanted.num_fields)}
    return [
        given.field(i).name for i in range(given.num_fields) if given.field(i).name not in known
    ]


def _constant(value: str, rows: int) -> pa.Array:
    if rows <= 4096:  # a list is faster for small batches, pa.repeat for big ones
        return pa.array([value] * rows, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), rows)


class ConformPlan:
    """How tables of one given schema become tables of the log schema; checked once.

    Parameters
    ----------
    given
        The schema of the incoming tables.
    schema
        The log schema.
    fill
        Constants for absent columns (``service``, ``worker``).

    Raises
    ------
    LogSchemaError
        Naming the column, when a column is unknown, a required column is absent, or a
        type cannot be cast.
    """

    def __init__(self, given: pa.Schema, schema: pa.Schema, fill: Mapping[str, str]) -> None:
        extra = sorted(set(given.names) - set(schema.names))
        if extra:
            raise LogSchemaError(
                extra[0],
                None,
                f"not a column of the log schema ({', '.join(schema.names)}); drop it",
            )
        self.given = given
        self.schema = schema
        self._steps: list[tuple[int | None, pa.DataType | None, str | None]] = []
        for wanted in schema:
            name = wanted.name
            index = given.get_field_index(name)
            if index < 0:
                if name not in fill and not wanted.nullable:
                    raise LogSchemaError(name, None, "this column is required; add it to the batch")
                self._steps.append((None, wanted.type, fill.get(name)))
                continue
            have = given.field(index).type
            unknown = _extra_struct_fields(have, wanted.type)
            if unknown:
                raise LogSchemaError(
                    f"{name}.{unknown[0]}",
                    None,
                    f"not a field of '{name}' in the log schema; drop it",
                )
            if have == wanted.type:
                self._steps.append((index, None, None))
                continue
            try:
                pa.array([], type=have).cast(wanted.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise LogSchemaError(
                    name, str(have), f"cannot be stored as {wanted.type} ({exc}); fix its type"
                ) from None
            self._steps.append((index, wanted.type, None))

    def apply(self, table: pa.Table, *, safe: bool = True) -> pa.Table:
        """Convert ``table`` (of the ``given`` schema) to the log schema."""
        rows = table.num_rows
        columns: list[pa.ChunkedArray | pa.Array] = []
        for index, cast, constant in self._steps:
            if index is None:
                if constant is not None:
                    columns.append(_constant(constant, rows))
                else:
                    columns.append(pa.nulls(rows, cast))
            elif cast is None:
                columns.append(table.column(index))
            else:
                columns.append(table.column(index).cast(cast, safe=safe))
        return pa.Table.from_arrays(columns, schema=self.schema)


def conform(
    table: pa.Table, schema: pa.Schema, *, fill: Mapping[str, str], safe: bool = True
) -> pa.Table:
    """Cast ``table`` to ``schema``: reorder, cast, fill absent columns.

    Absent nullable columns become nulls; absent columns named in ``fill`` (``service``,
    ``worker``) take that constant.

    Raises
    ------
    LogSchemaError
        Naming the column, when a column is unknown, a required column is absent or
        null, or a type cannot be cast.
    """
    try:
        out = ConformPlan(table.schema, schema, fill).apply(table, safe=safe)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LogSchemaError("batch", None, f"a value cannot be stored ({exc}); fix it") from None
    for wanted in schema:
        column = out.column(wanted.name)
        if not wanted.nullable and column.null_count:
            raise LogSchemaError(
                wanted.name,
                None,
                f"{column.null_count} null value(s) in a required column; fill them",
            )
    return out
