"""The rows a retrain trains on: recent labelled production traffic, the source, or both.

A model that drifted out of date is retrained on what it sees now. :func:`production_rows`
turns the prediction log into training rows: the records of the last ``retrain.window``
that the model answered (status ``ok``) with no contract flag, joined by request id with
the latest label each one received (read as monitoring reads it: the champion's classes),
in event-time order, the most recent ``retrain.max_rows`` of them. Their columns are the
champion's contract inputs (the raw request, before transforms) and the target, typed as
in the champion's training data, so :func:`~steadyml.services.training.train` handles them
as it handles the source.

Examples
--------
>>> from steadyml.spec import parse_spec
>>> spec = parse_spec({"service": "churn", "task": "binary_classification",
...                    "data": {"source": {"path": "t.parquet"}, "target": "churned"},
...                    "retrain": {"window": "14d"}})
>>> spec.retrain.data, spec.retrain.window, spec.retrain.min_rows
('production', '14d', 1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from steadyml.adapters.predlog import latest_feedback, read_feedback, read_predictions
from steadyml.adapters.sources import read_source
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import label_targets
from steadyml.errors import DataError
from steadyml.services.bundles import ModelBundle, load_bundle
from steadyml.services.monitoring import log_root
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec

__all__ = ["TrainingData", "production_rows", "training_data"]

DataChoice = Literal["production", "source", "both"]
#: Predictions are read a day at a time, newest first, until ``max_rows`` are found.
CHUNK = timedelta(days=1)


@dataclass(frozen=True)
class TrainingData:
    """The rows of one retrain and where they came from.

    ``frame`` is None for ``source`` (training reads the spec's source itself).
    """

    choice: DataChoice
    frame: pl.DataFrame | None
    production_rows: int = 0
    source_rows: int = 0
    start: datetime | None = None
    end: datetime | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for the audit log."""
        out: dict[str, Any] = {"data": self.choice}
        if self.choice != "source":
            out.update(
                production_rows=self.production_rows,
                window_start=self.start.isoformat() if self.start else None,
                window_end=self.end.isoformat() if self.end else None,
            )
        if self.choice == "both":
            out["source_rows"] = self.source_rows
        return out


def _as_target(values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """Class names (or regression values) typed like the champion's training target."""
    if dtype == pl.Boolean:
        lowered = values.cast(pl.String).str.to_lowercase()
        return lowered.is_in(["true", "1"]).alias(values.name)
    return values.cast(dtype, strict=False)


def production_rows(
    spec: ServiceSpec,
    root: Path,
    champion: ModelBundle,
    *,
    start: datetime,
    end: datetime,
    max_rows: int,
) -> pl.DataFrame:
    """Labelled predictions of ``[start, end)`` as training rows, oldest first.

    Parameters
    ----------
    spec
        The service spec (service name, target, label name).
    root
        The prediction log directory.
    champion
        The serving model: its contract names the input columns, its classes say how a
        label reads, its training data types the target.
    start, end
        The event-time range of the predictions; labels with an event time in
        ``[start, end)`` count (a label comes after its prediction).
    max_rows
        Keep at most this many rows, the most recent.

    Returns
    -------
    polars.DataFrame
        The contract's input columns and the target column.
    """
    inputs = list(champion.contract.names)
    target_name = spec.data.target
    target_dtype = champion.holdout_schema()[target_name]
    parts: list[pl.DataFrame] = []
    found = 0
    stop = end
    while stop > start and found < max_rows:  # newest day first: memory stays one day
        begin = max(start, stop - CHUNK)
        part = _labelled(spec, root, champion, begin=begin, stop=stop, end=end)
        if part.height:
            parts.append(part)
            found += part.height
        stop = begin
    if not parts:
        schema = dict.fromkeys(inputs, pl.Null)
        return pl.DataFrame(schema=schema).with_columns(
            pl.lit(None, target_dtype).alias(target_name)
        )
    rows = pl.concat(parts[::-1], how="vertical_relaxed").tail(max_rows)
    typed = _as_target(rows.get_column(target_name), target_dtype)
    return rows.with_columns(typed).select([*inputs, target_name])


def _labelled(
    spec: ServiceSpec,
    root: Path,
    champion: ModelBundle,
    *,
    begin: datetime,
    stop: datetime,
    end: datetime,
) -> pl.DataFrame:
    """The labelled rows of predictions in ``[begin, stop)``, labels received before
    ``end``; the target as class names (or values), oldest first."""
    logged = read_predictions(root, spec.service, begin, stop)
    if "inputs" not in logged.collect_schema().names():  # nothing logged in the range
        return pl.DataFrame()
    flags_clear = pl.col("flags").is_null() | (pl.col("flags").list.len() == 0)
    answered = logged.filter(
        (pl.col("status") == "ok") & flags_clear & pl.col("inputs").is_not_null()
    ).select("request_id", "event_time", "inputs")
    label_name = spec.labels.name or spec.data.target
    feedback = read_feedback(root, spec.service, begin, end)
    labels = latest_feedback(feedback, label_name, "label")
    joined = (
        answered.join(labels.select("request_id", "value", "value_str"), on="request_id")
        .sort("event_time", "request_id")
        .collect()
    )
    target = label_targets(joined, champion.task, champion.predictor.classes)
    return (
        joined.with_columns(target.alias(spec.data.target))
        .filter(target.is_not_null())
        .unnest("inputs")
        .select([*champion.contract.names, spec.data.target])
    )


def _source_rows(spec: ServiceSpec, columns: list[str]) -> pl.DataFrame:
    """The spec's source in its own time order, cut to ``columns``."""
    frame = read_source(spec)
    order = spec.data.split.order_by or spec.data.time_column or spec.data.id_column
    if order is not None and order in frame.columns:
        frame = frame.sort(order, maintain_order=True)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError("data.source", missing, "the source lacks columns the champion takes")
    return frame.select(columns)


def training_data(
    spec: ServiceSpec, workspace: Workspace, *, now: datetime, choice: DataChoice | None = None
) -> TrainingData:
    """The rows a retrain at ``now`` trains on, per ``spec.retrain`` (or ``choice``).

    Raises
    ------
    DataError
        When production rows are asked for and there is no champion, or fewer labelled
        rows than ``retrain.min_rows`` are in the window (the message names the count,
        the window and the fix).
    """
    settings = spec.retrain
    choice = choice or settings.data
    if choice == "source":
        return TrainingData("source", None)
    champion_version = workspace.registry.alias_version("champion")
    if champion_version is None:
        raise DataError(
            "retrain.data",
            choice,
            "there is no champion to read production labels for; use retrain.data: source",
        )
    champion = load_bundle(workspace.registry, workspace.model_cache, champion_version)
    start = now - parse_duration(settings.window)
    rows = production_rows(
        spec, log_root(workspace), champion, start=start, end=now, max_rows=settings.max_rows
    )
    if rows.height < settings.min_rows:
        raise DataError(
            "retrain.min_rows",
            settings.min_rows,
            f"only {rows.height} labelled production predictions from {start:%Y-%m-%d %H:%M} "
            f"to {now:%Y-%m-%d %H:%M} (retrain.window {settings.window}); wait for labels, "
            "lengthen retrain.window, lower retrain.min_rows, or set retrain.data: source",
        )
    if choice == "production":
        return TrainingData("production", rows, rows.height, 0, start, now)
    source = _source_rows(spec, rows.columns)
    recent = rows.cast(source.schema, strict=False)
    frame = pl.concat([source, recent], how="vertical")
    return TrainingData("both", frame, rows.height, source.height, start, now)
