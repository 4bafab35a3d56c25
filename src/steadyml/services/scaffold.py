"""``steadyml init``: write a commented spec and a contract inferred from the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from steadyml.adapters.sources import read_table
from steadyml.core.contract import Contract
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task, load_spec

__all__ = ["Scaffold", "guess_task", "render_spec", "write_scaffold"]

_ID_NAMES = ("id", "request_id", "row_id", "uuid")
_TIME_NAMES = ("event_time", "timestamp", "ts", "time", "date", "created_at")


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` wrote."""

    spec_path: Path
    contract_path: Path
    task: Task
    features: tuple[str, ...]


def guess_task(target: pl.Series) -> Task:
    """Binary for two values, regression for many numeric values, multiclass otherwise."""
    distinct = target.drop_nulls().n_unique()
    if distinct == 2:
        return Task.BINARY
    if target.dtype.is_float() or (target.dtype.is_integer() and distinct > 20):
        return Task.REGRESSION
    return Task.MULTICLASS


def _guess(frame: pl.DataFrame, names: tuple[str, ...], temporal: bool) -> str | None:
    for column in frame.columns:
        dtype = frame.schema[column]
        if temporal and dtype.is_temporal():
            return column
        if column.lower() in names and (not temporal or dtype.is_temporal()):
            return column
    return None


def render_spec(
    *,
    service: str,
    task: Task,
    data_path: str,
    target: str,
    id_column: str | None,
    time_column: str | None,
    features: tuple[str, ...],
) -> str:
    """The commented ``steadyml.yaml`` that ``init`` writes."""
    fallback = "0.0" if task is Task.REGRESSION else "0.5"
    feature_lines = "\n".join(f"    - {name}" for name in features)
    return f"""\
# steadyml service spec: one file per ML service. Paths are relative to this file.
# Reference: docs/spec.md. Environment overrides: STEADYML_STATE_DIR, STEADYML_TRACKING_URI,
# STEADYML_STORE_URL, STEADYML_TOKEN.
service: {service}
task: {task.value}          # binary_classification | multiclass_classification | regression
description: ""
owner: ""

data:
  source:
    path: {data_path}       # Parquet or CSV; or `sql:` with `url:` for a database query
  target: {target}
  id_column: {id_column or "null"}
  time_column: {time_column or "null"}   # orders the time-based train/test split
  contract: contract.json   # inferred by `steadyml init`; edit ranges and categories freely
  features:
{feature_lines}
  split:
    test_fraction: 0.2      # the latest 20% of rows are held out
  slices: []                # columns whose values get their own metrics and gate floors

# transforms:               # derived features as code, the same function in training and serving
#   module: features.py
#   function: transform     # def transform(frame: pl.DataFrame) -> pl.DataFrame

model:
  estimator: lightgbm       # or a dotted scikit-learn class, e.g. sklearn.linear_model.Ridge
  params: {{}}
  seed: 42

# Production constraints, written before the first model is trained; the gate checks them.
deployment:
  latency_budget_ms: 50     # p99 per request
  expected_throughput_rps: 30
  fallback:
    strategy: constant      # constant | rule | previous_model
    value: {fallback}
  durability: relaxed       # relaxed | strict (a response waits until its log record is durable)

slos:
  error_rate: 0.001
  fallback_rate: 0.01

gate:
  max_regression: 0.005     # largest tolerated loss of the primary metric
  min_effect: 0.0           # required improvement (0: non-inferiority is enough)
  max_calibration_error: 0.05

monitors:
  windows: [5m, 1h, 1d]
alerts: []
responses: []
"""


def write_scaffold(
    data: Path,
    target: str,
    directory: Path,
    *,
    service: str | None = None,
    force: bool = False,
) -> Scaffold:
    """Infer a spec and a contract from ``data`` and write them into ``directory``."""
    frame = read_table(data, field="--data")
    if target not in frame.columns:
        raise DataError(
            "--target", target, f"no such column; columns are {', '.join(frame.columns)}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    spec_path = directory / "steadyml.yaml"
    contract_path = directory / "contract.json"
    for path in (spec_path, contract_path):
        if path.exists() and not force:
            raise ConfigError(str(path), fix="it already exists; pass --force to overwrite it")
    task = guess_task(frame.get_column(target))
    id_column = _guess(frame, _ID_NAMES, temporal=False)
    time_column = _guess(frame, _TIME_NAMES, temporal=True)
    reserved = {target, id_column, time_column}
    features = tuple(c for c in frame.columns if c not in reserved)
    try:
        data_ref = str(data.resolve().relative_to(directory.resolve()))
    except ValueError:
        data_ref = str(data.resolve())
    name = service or "".join(ch if ch.isalnum() else "-" for ch in data.stem).strip("-") or "model"
    if not name[0].isalpha():
        name = f"model-{name}"
    spec_path.write_text(
        render_spec(
            service=name,
            task=task,
            data_path=data_ref,
            target=target,
            id_column=id_column,
            time_column=time_column,
            features=features,
        ),
        encoding="utf-8",
    )
    contract_path.write_text(Contract.infer(frame, features).to_json(), encoding="utf-8")
    load_spec(spec_path)  # the written spec must parse
    return Scaffold(spec_path, contract_path, task, features)
