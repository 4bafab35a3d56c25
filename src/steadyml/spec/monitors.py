"""What the monitor measures and alerts on: windows, KPI, fast path, foreign logs, rules."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from steadyml.core.durations import parse_duration
from steadyml.spec.base import Duration, Frozen

__all__ = [
    "AlertRuleSpec",
    "FastPathSpec",
    "ForeignColumnsSpec",
    "ForeignLogSpec",
    "KpiSpec",
    "MonitorsSpec",
    "check_window",
]


def check_window(text: str) -> None:
    """Check a monitor window: ``"5m"`` (tumbling) or ``"1h/5m"`` (1 h sliding every 5 min).

    Raises
    ------
    ValueError
        When a part is not a duration, or the step does not divide the size.
    """
    size_text, _, step_text = text.partition("/")
    size = parse_duration(size_text)
    if step_text:
        step = parse_duration(step_text)
        if step >= size or size % step:
            raise ValueError(
                f"{text!r}: the step must be shorter than the size and divide it, e.g. '1h/5m'"
            )


class KpiSpec(Frozen):
    """A business KPI from outcome events (feedback of kind ``outcome``)."""

    name: str = Field(description="outcome event name, e.g. 'converted'")
    aggregate: Literal["mean", "rate"] = Field(
        "mean",
        description="mean: average value of the outcome events; "
        "rate: sum of their values per answered request",
    )
    window: str = "1h"
    baseline: float | None = Field(
        None, description="the expected KPI; default: mean of the previous baseline_windows"
    )
    baseline_windows: int = Field(24, ge=2, le=1000)
    max_drop: float = Field(0.1, gt=0, lt=1, description="relative drop that counts as a drop")

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        check_window(value)
        return value


class FastPathSpec(Frozen):
    """The server's fast path: loud signals from in-memory counters every few seconds."""

    enabled: bool = True
    interval: Duration = Field("5s", description="how often the server evaluates and polls modes")
    window: Duration = Field("30s", description="sliding window of the counters")
    min_rows: int = Field(50, ge=1, description="fewer records in the window decide nothing")
    clear_after: Duration = Field(
        "60s", description="a fast-path alert resolves once clear this long"
    )
    null_rate: float = Field(
        0.05, gt=0, le=1, description="share of records refused for one feature (schema break)"
    )


class ForeignColumnsSpec(Frozen):
    """Which column of another server's table holds each prediction-log field."""

    request_id: str | None = Field(None, description="request id (joins labels)")
    event_time: str = Field(description="when the request was answered (timestamp or ISO text)")
    received_at: str | None = Field(None, description="when the record was written")
    model_version: str | None = None
    prediction: str | None = Field(None, description="score, probability or regression output")
    label_class: str | None = Field(None, description="predicted class (multiclass)")
    latency_ms: str | None = None
    status: str | None = Field(None, description="values mapped through 'statuses'")
    error: str | None = Field(None, description="non-null means the request failed")
    fallback: str | None = Field(None, description="true means a fallback answered")
    features: str | tuple[str, ...] | None = Field(
        None, description="a struct or JSON-text column, or a list of flat columns"
    )


class ForeignLogSpec(Frozen):
    """A prediction table written by another serving stack (Parquet or PostgreSQL)."""

    format: Literal["parquet", "postgres"]
    path: str | None = Field(
        None, description="parquet: a file, directory or glob (Hive partitions are read)"
    )
    url: str | None = Field(None, description="postgres: SQLAlchemy URL")
    table: str | None = Field(None, description="postgres: table, optionally 'schema.table'")
    columns: ForeignColumnsSpec
    constants: dict[str, str | float | bool] = Field(
        default_factory=dict, description="fixed values of absent fields, e.g. model_version"
    )
    statuses: dict[str, Literal["ok", "fallback", "rejected", "error"]] = Field(
        default_factory=dict, description="the table's status values -> steadyml statuses"
    )
    feature_types: dict[str, Literal["numeric", "integer", "categorical", "boolean"]] = Field(
        default_factory=dict, description="types of JSON features; default: the reference's"
    )
    watermark: str | None = Field(
        None, description="a column that only grows (event time or an id); default event_time"
    )
    settle: Duration | None = Field(
        None, description="time watermark: rows younger than this wait for a later pass"
    )
    max_rows: int = Field(1_000_000, ge=1, description="rows read per pass at most")

    @model_validator(mode="after")
    def _where(self) -> ForeignLogSpec:
        if self.format == "parquet" and not self.path:
            raise ValueError("a parquet source needs 'path' (a file, directory or glob)")
        if self.format == "postgres" and not (self.url and self.table):
            raise ValueError("a postgres source needs 'url' and 'table'")
        fields = set(ForeignColumnsSpec.model_fields) - {"event_time", "features"}
        unknown = sorted(set(self.constants) - fields)
        if unknown:
            raise ValueError(f"constants {unknown} are not log fields; use {sorted(fields)}")
        return self


class MonitorsSpec(Frozen):
    """Windows, drift tolerances, KPI and incident settings of the monitor."""

    windows: tuple[str, ...] = ("5m", "1h", "1d")
    drift_metric: Literal["tvd", "psi", "js", "hellinger"] = Field(
        "tvd", description="effect size the drift decision uses (see docs/drift.md)"
    )
    drift_warn: float = Field(0.04, gt=0, description="effect at which a feature warns")
    drift_alarm: float = Field(0.12, gt=0, description="effect at which a feature drifts")
    mean_shift_warn: float = Field(
        0.03,
        gt=0,
        description="a numeric feature warns once its mean moved at least this many "
        "reference std beyond doubt",
    )
    false_alarm_rate: float = Field(0.001, gt=0, lt=0.5)
    lateness: Duration = Field(
        "2m", description="how long after its end a window still takes records (then complete)"
    )
    resolve_after: int = Field(
        3, ge=1, description="complete clear windows in a row after which an alert resolves"
    )
    default_rules: bool = Field(True, description="add the default alert rules")
    max_segments: int = Field(256, ge=1, description="log segments read per pass at most")
    kpi: KpiSpec | None = None
    fast_path: FastPathSpec = FastPathSpec()
    source: ForeignLogSpec | None = Field(
        None, description="read another server's prediction table instead of the log"
    )

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one window, e.g. ['5m', '1h']")
        for window in value:
            check_window(window)
        return value

    @model_validator(mode="after")
    def _bands(self) -> MonitorsSpec:
        if self.drift_warn >= self.drift_alarm:
            raise ValueError("drift_warn must be below drift_alarm")
        return self


class AlertRuleSpec(Frozen):
    """One alert rule: ``metric comparator threshold`` in k of the last n windows.

    ``metric`` names a monitored metric (``health.error_rate``) or, per feature,
    ``drift.psi:AGEP``; ``drift.psi:*`` applies the rule to every feature. A rule fires
    on ``threshold`` (compared with the value or a bound of its 95 % interval), on the
    check's calibrated ``decision``, or on both.
    """

    name: str
    metric: str
    comparator: Literal[">", ">=", "<", "<="] = ">="
    threshold: float | None = None
    decision: Literal["warn", "drift"] | None = Field(
        None, description="fire when the check's calibrated status is at least this"
    )
    bound: Literal["value", "low", "high"] = Field(
        "value", description="compare the threshold with the value or its interval bound"
    )
    window: str = "5m"
    k: int = Field(1, ge=1)
    n: int = Field(1, ge=1)
    severity: Literal["P0", "P1", "P2", "P3"] = "P2"
    runbook: str = ""
    incident: str | None = Field(None, description="incident type; default: from the metric")
    min_rows: int = Field(0, ge=0, description="windows with fewer rows do not count")

    @model_validator(mode="after")
    def _k_of_n(self) -> AlertRuleSpec:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) cannot exceed n ({self.n})")
        if self.threshold is None and self.decision is None:
            raise ValueError("give a threshold, a decision ('warn' or 'drift'), or both")
        check_window(self.window)
        return self
