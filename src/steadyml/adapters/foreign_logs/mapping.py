"""Map another server's prediction table onto steadyml's prediction-log columns.

A :class:`LogMapping` is built once from ``monitors.source`` and the foreign table's
column kinds; it refuses a mapping that names an unknown column or a column of the
wrong type, naming the spec key. :meth:`LogMapping.apply` then turns each batch of
foreign rows into log records with Polars expressions (no Python loop per row, except
to find the broken rows of a JSON column that does not parse as a whole). Rows that
cannot become records - no event time, no request id when one is mapped, a status the
mapping does not know, features that are not a JSON object - are dropped and counted
by reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson
import polars as pl

from steadyml.errors import SpecError
from steadyml.spec import ForeignLogSpec

__all__ = [
    "BAD_REASONS",
    "LOG_STATUSES",
    "ColumnKind",
    "LogMapping",
    "Mapped",
    "kind_of",
]

ColumnKind = str  # numeric | integer | temporal | text | boolean | struct | json | other
LOG_STATUSES = ("ok", "fallback", "rejected", "error")
BAD_REASONS = ("event_time", "request_id", "status", "features")
KEY = "monitors.source"
_TS = pl.Datetime("us", "UTC")
_WANTED: dict[str, tuple[str, ...]] = {
    "request_id": ("text", "integer", "numeric", "other"),
    "event_time": ("temporal", "text"),
    "received_at": ("temporal", "text"),
    "model_version": ("text", "integer", "numeric"),
    "prediction": ("numeric", "integer", "boolean"),
    "label_class": ("text", "integer", "boolean"),
    "latency_ms": ("numeric", "integer"),
    "status": ("text", "integer"),
    "error": ("text", "integer", "numeric", "boolean", "json", "struct", "other"),
    "fallback": ("boolean", "integer"),
}
_KIND_TYPES: dict[str, pl.DataType] = {
    "numeric": pl.Float64(),
    "integer": pl.Int64(),
    "categorical": pl.String(),
    "boolean": pl.Boolean(),
}


def kind_of(dtype: pl.DataType) -> ColumnKind:
    """The kind of a Polars type, as the mapping checks it."""
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal() and not isinstance(dtype, pl.Duration | pl.Time):
        return "temporal"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "text"
    if isinstance(dtype, pl.Boolean):
        return "boolean"
    if isinstance(dtype, pl.Struct):
        return "struct"
    return "other"


def _unknown(key: str, column: str, kinds: Mapping[str, ColumnKind]) -> SpecError:
    close = difflib.get_close_matches(column, list(kinds), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"columns are {sorted(kinds)}"
    return SpecError(key, column, f"no such column in the source; {hint}")


def _features_of(spec: ForeignLogSpec) -> tuple[str | None, tuple[str, ...]]:
    given = spec.columns.features
    if given is None:
        return None, ()
    if isinstance(given, str):
        return given, ()
    return None, tuple(given)


@dataclass
class Mapped:
    """Log records from one batch of foreign rows, and the rows that were dropped."""

    frame: pl.DataFrame
    bad: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        """Rows dropped, all reasons."""
        return sum(self.bad.values())


class LogMapping:
    """How rows of one foreign table become prediction-log records; checked once.

    Parameters
    ----------
    spec
        The ``monitors.source`` section.
    kinds
        Column name -> kind (:func:`kind_of`; ``json`` for JSON columns) of the table.

    Raises
    ------
    SpecError
        Naming the key (``monitors.source.columns.prediction``), when a mapped column is
        absent from the table or of a type that cannot hold the field.
    """

    def __init__(self, spec: ForeignLogSpec, kinds: Mapping[str, ColumnKind]) -> None:
        self.spec = spec
        self.kinds = dict(kinds)
        columns = spec.columns
        self.fields: dict[str, str] = {}
        for name, wanted in _WANTED.items():
            column = getattr(columns, name)
            if column is None:
                continue
            key = f"{KEY}.columns.{name}"
            if column not in self.kinds:
                raise _unknown(key, column, self.kinds)
            if self.kinds[column] not in wanted:
                raise SpecError(
                    key,
                    column,
                    f"is {self.kinds[column]}, which cannot hold {name}; "
                    f"map a column of kind {' or '.join(wanted)}",
                )
            self.fields[name] = column
        self.feature_column, self.feature_columns = _features_of(spec)
        if self.feature_column is not None:
            key = f"{KEY}.columns.features"
            if self.feature_column not in self.kinds:
                raise _unknown(key, self.feature_column, self.kinds)
            if self.kinds[self.feature_column] not in ("struct", "text", "json"):
                raise SpecError(
                    key,
                    self.feature_column,
                    f"is {self.kinds[self.feature_column]}; features are a struct or "
                    "JSON-text column, or a list of columns",
                )
        for index, column in enumerate(self.feature_columns):
            if column not in self.kinds:
                raise _unknown(f"{KEY}.columns.features.{index}", column, self.kinds)
        self.watermark = spec.watermark or columns.event_time
        if self.watermark not in self.kinds:
            raise _unknown(f"{KEY}.watermark", self.watermark, self.kinds)
        if self.kinds[self.watermark] not in ("integer", "temporal"):
            raise SpecError(
                f"{KEY}.watermark",
                self.watermark,
                f"is {self.kinds[self.watermark]}; use a column that only grows, "
                "of an integer or timestamp type (an id or the event time)",
            )
        status = spec.constants.get("status")
        if status is not None and status not in LOG_STATUSES:
            raise SpecError(f"{KEY}.constants.status", status, f"use one of {LOG_STATUSES}")

    @property
    def time_watermark(self) -> bool:
        """True when the watermark is a timestamp (then ``settle`` applies)."""
        return self.kinds[self.watermark] == "temporal"

    def source_columns(self) -> list[str]:
        """The table columns a read needs (the watermark first)."""
        needed = [self.watermark, *self.fields.values(), *self.feature_columns]
        if self.feature_column is not None:
            needed.append(self.feature_column)
        return list(dict.fromkeys(needed))

    # -- applying ------------------------------------------------------------------

    def _text(self, name: str) -> pl.Expr:
        if name in self.fields:
            return pl.col(self.fields[name]).cast(pl.String)
        constant = self.spec.constants.get(name)
        return pl.lit(None if constant is None else str(constant), pl.String)

    def _number(self, name: str) -> pl.Expr:
        if name in self.fields:
            return pl.col(self.fields[name]).cast(pl.Float64, strict=False)
        constant = self.spec.constants.get(name)
        value = None if constant is None or isinstance(constant, str) else float(constant)
        return pl.lit(value, pl.Float64)

    def _time(self, name: str, frame: pl.DataFrame) -> pl.Expr:
        column = self.fields[name]
        dtype = frame.schema[column]
        expr = pl.col(column)
        if isinstance(dtype, pl.String):
            expr = expr.str.to_datetime(time_unit="us", strict=False, time_zone="UTC")
        elif isinstance(dtype, pl.Date):
            expr = expr.cast(pl.Datetime("us"))
        elif not isinstance(dtype, pl.Datetime):
            return pl.lit(None, _TS)
        naive = isinstance(dtype, pl.Date) or (
            isinstance(dtype, pl.Datetime) and dtype.time_zone is None
        )
        if naive:
            expr = expr.dt.replace_time_zone("UTC")
        return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")

    def _status(self) -> tuple[pl.Expr, pl.Expr]:
        """The status of each row, and whether the row's status value was understood."""
        if "status" in self.fields:
            raw = pl.col(self.fields["status"]).cast(pl.String)
            known: dict[str, str] = dict(self.spec.statuses)
            for name in LOG_STATUSES:
                known.setdefault(name, name)
            mapped = raw.replace_strict(known, default=None, return_dtype=pl.String)
            return mapped, mapped.is_not_null()
        constant = self.spec.constants.get("status")
        status: pl.Expr = pl.lit(str(constant) if constant is not None else "ok", pl.String)
        if "fallback" in self.fields:
            fell_back = pl.col(self.fields["fallback"]).cast(pl.Boolean, strict=False)
            status = pl.when(fell_back.fill_null(False)).then(pl.lit("fallback")).otherwise(status)
        if "error" in self.fields:
            failed = pl.col(self.fields["error"]).is_not_null()
            status = pl.when(failed).then(pl.lit("error")).otherwise(status)
        return status, pl.lit(True)

    def _inputs(
        self, frame: pl.DataFrame, kinds: Mapping[str, str] | None
    ) -> tuple[pl.Series | None, pl.Series]:
        """The ``inputs`` struct, and which rows carry features that parse."""
        ok = pl.repeat(True, frame.height, dtype=pl.Boolean, eager=True).alias("ok")
        if self.feature_columns:
            flat = frame.select(pl.struct(list(self.feature_columns)).alias("inputs"))
            return _typed(flat.to_series(), kinds), ok
        if self.feature_column is None:
            return None, ok
        column = frame.get_column(self.feature_column)
        if isinstance(column.dtype, pl.Struct):
            return _typed(column, kinds), ok
        text = column.cast(pl.String)
        dtype = pl.Struct({n: pl.String() for n in kinds}) if kinds else None
        try:
            decoded = text.str.json_decode(dtype, infer_schema_length=None)
        except pl.exceptions.PolarsError:
            ok = _json_objects(text)
            kept = text.zip_with(ok, pl.repeat(None, text.len(), dtype=pl.String, eager=True))
            decoded = kept.str.json_decode(dtype, infer_schema_length=None)
        if not isinstance(decoded.dtype, pl.Struct):
            return None, ok & text.is_null()
        return _typed(decoded, kinds), ok

    def apply(
        self,
        frame: pl.DataFrame,
        kinds_of: Callable[[Sequence[str]], Mapping[str, str] | None] | None = None,
    ) -> Mapped:
        """Log records from foreign rows; unusable rows dropped and counted by reason.

        Parameters
        ----------
        frame
            Rows of the foreign table (at least :meth:`source_columns`).
        kinds_of
            Feature name -> kind (``numeric``, ``integer``, ``categorical``,
            ``boolean``) for the model versions in the batch; types JSON features.
            ``feature_types`` in the spec come first.
        """
        event = self._time("event_time", frame)
        received = self._time("received_at", frame) if "received_at" in self.fields else event
        status, understood = self._status()
        base = frame.with_columns(
            self._text("request_id").alias("_request_id"),
            self._text("model_version").alias("_model_version"),
            event.alias("_event_time"),
            received.alias("_received"),
            status.alias("_status"),
            understood.alias("_understood"),
            self._number("prediction").alias("_prediction"),
            self._number("latency_ms").alias("_latency"),
            self._text("label_class").alias("_label_class"),
        )
        kinds: Mapping[str, str] | None = self.spec.feature_types or None
        if kinds is None and kinds_of is not None and frame.height:
            versions = base.get_column("_model_version").drop_nulls().unique().sort().to_list()
            kinds = kinds_of(versions)
        inputs, parsed = self._inputs(frame, kinds)
        extra = [parsed.alias("_parsed")]
        if inputs is not None:
            extra.append(inputs.alias("_inputs"))
        base = base.with_columns(extra)
        checks = {
            "event_time": pl.col("_event_time").is_not_null(),
            "request_id": pl.col("_request_id").is_not_null()
            if "request_id" in self.fields
            else pl.lit(True),
            "status": pl.col("_understood").fill_null(False),
            "features": pl.col("_parsed"),
        }
        counts = base.select([(~e).sum().alias(r) for r, e in checks.items()]).row(0)
        bad = {reason: int(n) for reason, n in zip(checks, counts, strict=True) if n}
        if bad:
            base = base.filter(pl.all_horizontal(list(checks.values())))
        columns = [
            pl.col("_request_id").alias("request_id"),
            pl.col("_model_version").alias("model_version"),
            pl.col("_event_time").alias("event_time"),
            pl.col("_received").fill_null(pl.col("_event_time")).alias("received_at"),
            pl.col("_latency").alias("latency_ms"),
            pl.col("_status").alias("status"),
            (pl.col("_status") == "fallback").alias("fallback"),
            pl.lit(None, pl.String).alias("fallback_reason"),
            pl.lit(None, pl.String).alias("rejection_reason"),
            pl.col("_prediction").alias("prediction"),
            pl.col("_prediction").alias("raw_prediction"),
            pl.col("_label_class").alias("label_class"),
        ]
        if inputs is not None:
            columns.append(pl.col("_inputs").alias("inputs"))
        return Mapped(base.select(columns), bad)


def _typed(struct: pl.Series, kinds: Mapping[str, str] | None) -> pl.Series:
    """A struct of features cast to their kinds (fields of no known kind kept as they are)."""
    if not kinds:
        return struct.alias("inputs")
    fields = struct.struct.unnest()
    cast = [
        fields.get_column(n).cast(_KIND_TYPES[kinds[n]], strict=False)
        if n in kinds and kinds[n] in _KIND_TYPES
        else fields.get_column(n)
        for n in fields.columns
    ]
    return pl.DataFrame(cast).to_struct("inputs") if cast else struct.alias("inputs")


def _json_objects(text: pl.Series) -> pl.Series:
    """Which values are a JSON object (or null); the slow path of a broken column."""
    flags = []
    for value in text.to_list():
        if value is None:
            flags.append(True)
            continue
        try:
            flags.append(isinstance(orjson.loads(value), dict))
        except orjson.JSONDecodeError:
            flags.append(False)
    return pl.Series("ok", flags, dtype=pl.Boolean)
