"""The service spec: one declarative ``steadyml.yaml`` per ML service.

The spec is parsed once into frozen pydantic models. Production constraints (latency
budget, throughput, fallback) are written *before* the first model is trained, and the
gate checks them. Every parse error becomes a :class:`~steadyml.errors.SpecError`
that names the key, the value and the fix.

Examples
--------
>>> spec = parse_spec({"service": "churn", "task": "binary_classification",
...                    "data": {"source": {"path": "train.parquet"}, "target": "churned"}})
>>> spec.model.estimator, spec.deployment.latency_budget_ms
('lightgbm', 50.0)
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from steadyml.core.durations import parse_duration
from steadyml.core.violations import ViolationPolicy
from steadyml.errors import SpecError

__all__ = [
    "AlertRuleSpec",
    "DataSpec",
    "DeploymentSpec",
    "FallbackSpec",
    "FastPathSpec",
    "ForeignColumnsSpec",
    "ForeignLogSpec",
    "GateSpec",
    "KpiSpec",
    "LabelsSpec",
    "ModelSpec",
    "MonitorsSpec",
    "RegistrySpec",
    "ResponseSpec",
    "RetrainSpec",
    "ServiceSpec",
    "SinkSpec",
    "SliceSpec",
    "SloSpec",
    "SourceSpec",
    "Task",
    "TransformsSpec",
    "ViolationPolicy",
    "check_window",
    "load_spec",
    "parse_spec",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


def _duration_text(value: object) -> object:
    """Refuse a bare number with the fix (a duration needs its unit)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} has no unit; write a duration like '500ms', '30s', '5m', '1h'")
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


#: A positive duration written with its unit: ``500ms``, ``30s``, ``5m``, ``1h``, ``7d``.
Duration = Annotated[str, BeforeValidator(_duration_text), AfterValidator(_duration)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Task(StrEnum):
    """What the model predicts."""

    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass classification."""
        return self is not Task.REGRESSION


class SourceSpec(_Frozen):
    """Where training data comes from: a Parquet/CSV path, or a SQL query."""

    path: str | None = Field(None, description="Parquet or CSV file, relative to the spec file")
    sql: str | None = Field(None, description="SQL query whose result is the training table")
    url: str | None = Field(
        None, description="SQLAlchemy URL of the database the query runs on (with sql)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> SourceSpec:
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of 'path' (a Parquet or CSV file) or 'sql'")
        if self.sql is not None and self.url is None:
            raise ValueError("a 'sql' source needs 'url', the database to run it on")
        return self


class SplitSpec(_Frozen):
    """Time-based hold-out: the latest ``test_fraction`` of rows is the test set."""

    test_fraction: float = Field(0.2, gt=0.0, lt=0.9)
    order_by: str | None = Field(
        None,
        description="column that orders rows in time; default: the time column, else the id",
    )


class SliceSpec(_Frozen):
    """A column whose values define evaluation slices, with a floor for the gate."""

    column: str
    min_rows: int = Field(200, ge=1, description="slices with fewer test rows are not gated")


class DataSpec(_Frozen):
    """The training table and its columns."""

    source: SourceSpec
    target: str
    id_column: str | None = None
    time_column: str | None = None
    features: tuple[str, ...] | None = Field(
        None, description="model inputs; default: every column but target, id and time"
    )
    contract: str = Field("contract.json", description="contract file, relative to the spec")
    split: SplitSpec = SplitSpec()
    slices: tuple[SliceSpec, ...] = ()

    @field_validator("slices", mode="before")
    @classmethod
    def _slices_from_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value


class TransformsSpec(_Frozen):
    """Derived features as code: ``function(frame: pl.DataFrame) -> pl.DataFrame``."""

    module: str = Field(description="a .py file relative to the spec, or a dotted module name")
    function: str = "transform"


class ModelSpec(_Frozen):
    """The estimator and its parameters."""

    estimator: str = Field(
        "lightgbm",
        description="'lightgbm', or a dotted path to any scikit-learn-compatible class",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = 42
    primary_metric: str | None = Field(
        None, description="default: roc_auc (binary), log_loss (multiclass), rmse (regression)"
    )


class FallbackSpec(_Frozen):
    """The answer given when the model cannot give a trustworthy one."""

    strategy: Literal["constant", "rule", "previous_model"] = "constant"
    value: float | None = Field(None, description="the constant answer (strategy: constant)")
    module: str | None = Field(None, description="module of the rule (strategy: rule)")
    function: str | None = Field(None, description="rule function (strategy: rule)")

    @model_validator(mode="after")
    def _complete(self) -> FallbackSpec:
        if self.strategy == "rule" and (self.module is None or self.function is None):
            raise ValueError("a 'rule' fallback needs 'module' and 'function'")
        return self


Milliseconds = Annotated[float, Field(gt=0)]


class DeploymentSpec(_Frozen):
    """Constraints written before training; the gate and the server enforce them."""

    latency_budget_ms: Milliseconds = Field(50.0, description="p99 latency budget per request")
    expected_throughput_rps: float = Field(30.0, gt=0)
    fallback: FallbackSpec = FallbackSpec(value=0.0)
    output_range: tuple[float, float] | None = Field(
        None, description="valid prediction range; default [0, 1] for classifiers"
    )
    max_batch_size: int = Field(64, ge=1, le=100_000)
    max_wait_ms: float = Field(2.0, ge=0)
    reload_interval: Duration = "10s"
    durability: Literal["relaxed", "strict"] = "relaxed"
    flush_interval: Duration = "1s"
    seal_interval: Duration = Field(
        "30s",
        description="a log segment is sealed, and visible to the monitor, once this old: "
        "shorter detects sooner, longer writes fewer files",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024)
    violations: ViolationPolicy = ViolationPolicy()
    workers: int = Field(1, ge=1, le=64)
    prediction_log: bool = Field(
        True, description="false: record nothing (for measuring the log's cost only)"
    )
    metrics: bool = Field(True, description="false: count nothing (for measuring only)")


class SloSpec(_Frozen):
    """Service-level objectives the monitor checks."""

    latency_p99_ms: float | None = Field(None, gt=0, description="default: the latency budget")
    error_rate: float = Field(0.001, ge=0, le=1)
    fallback_rate: float = Field(0.01, ge=0, le=1)
    rejection_rate: float = Field(0.05, ge=0, le=1)


class GateSpec(_Frozen):
    """What a candidate must show before it may become champion."""

    min_effect: float = Field(
        0.0, description="minimum improvement of the primary metric (in its own units)"
    )
    max_regression: float = Field(
        0.005, ge=0, description="largest tolerated loss of the primary metric"
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="level of the paired bootstrap test")
    bootstrap_rounds: int = Field(500, ge=50, le=100_000)
    slice_max_regression: float = Field(
        0.02, ge=0, description="largest tolerated loss of the primary metric in any slice"
    )
    max_calibration_error: float = Field(0.05, ge=0, le=1)
    latency_samples: int = Field(300, ge=20, le=100_000)


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


class KpiSpec(_Frozen):
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


class FastPathSpec(_Frozen):
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


class ForeignColumnsSpec(_Frozen):
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


class ForeignLogSpec(_Frozen):
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


class MonitorsSpec(_Frozen):
    """Windows, drift tolerances, KPI and incident settings of the monitor."""

    windows: tuple[str, ...] = ("5m", "1h", "1d")
    drift_metric: Literal["tvd", "psi", "js", "hellinger"] = Field(
        "tvd", description="effect size the drift decision uses (see docs/drift.md)"
    )
    drift_warn: float = Field(0.04, gt=0, description="effect at which a feature warns")
    drift_alarm: float = Field(0.12, gt=0, description="effect at which a feature drifts")
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


class AlertRuleSpec(_Frozen):
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


class ResponseSpec(_Frozen):
    """A responder policy: on an incident type, take an action."""

    on: str = Field(description="incident type, e.g. 'nan_output', 'feature_drift'")
    action: Literal["fallback_mode", "rollback", "retrain", "page"]
    cooldown: str = "30m"
    auto_promote: bool = False


class RetrainSpec(_Frozen):
    """What a retrain (the responder's ``retrain`` action) trains on.

    ``production`` (the default) takes the labelled predictions of the last ``window``:
    records of the prediction log answered by the model (status ``ok``, no contract
    flag), joined with their latest label by request id; the latest rows are the
    hold-out, so the gate compares candidate and champion on recent traffic. ``source``
    reads the spec's data source again; ``both`` appends the production rows to it.
    """

    data: Literal["production", "source", "both"] = "production"
    window: Duration = Field("30d", description="how far back labelled predictions are taken")
    min_rows: int = Field(
        1000, ge=10, description="fewer labelled production rows than this: the retrain fails"
    )
    max_rows: int = Field(
        1_000_000, ge=10, description="at most this many labelled rows, the most recent"
    )

    @model_validator(mode="after")
    def _bounds(self) -> RetrainSpec:
        if self.max_rows < self.min_rows:
            raise ValueError(
                f"max_rows ({self.max_rows}) is below min_rows ({self.min_rows}); raise max_rows"
            )
        return self


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SINK_EVENTS = ("opened", "escalated", "updated", "resolved", "action")


class SinkSpec(_Frozen):
    """Where incident notifications go: a JSON log, a webhook, Slack or PagerDuty.

    Secrets (webhook URLs with tokens, PagerDuty routing keys) belong in environment
    variables named by ``url_env`` / ``routing_key_env``, never in the spec file.
    """

    kind: Literal["log", "webhook", "slack", "pagerduty"]
    name: str | None = Field(None, description="name in counters and logs; default: the kind")
    url: str | None = Field(None, description="endpoint (http or https); prefer url_env")
    url_env: str | None = Field(None, description="environment variable holding the URL")
    path: str | None = Field(
        None, description="log sink: JSON-lines file, relative to the spec; default: the logger"
    )
    routing_key: str | None = Field(None, description="pagerduty: integration key")
    routing_key_env: str | None = Field(
        None, description="pagerduty: environment variable holding the integration key"
    )
    min_severity: Literal["P0", "P1", "P2", "P3"] = Field(
        "P3", description="send incidents at least this urgent (P0 is the most urgent)"
    )
    events: tuple[Literal["opened", "escalated", "updated", "resolved", "action"], ...] = (
        "opened",
        "escalated",
        "resolved",
        "action",
    )
    timeout: Duration = Field("5s", description="per HTTP attempt")
    max_retries: int = Field(3, ge=0, le=10, description="retries after the first attempt")
    queue_size: int = Field(1000, ge=1, le=1_000_000, description="pending notifications kept")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        if parse_duration(value).total_seconds() > 300:
            raise ValueError(f"{value!r} is too long; use at most '300s'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("use an http:// or https:// URL (or url_env)")
        return value

    @field_validator("url_env", "routing_key_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("name an environment variable: letters, digits and '_'")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("use 1-64 letters, digits, '_', '-' or '.', starting with a letter")
        return value

    @model_validator(mode="after")
    def _complete(self) -> SinkSpec:
        has_url = self.url is not None or self.url_env is not None
        if self.url is not None and self.url_env is not None:
            raise ValueError("give 'url' or 'url_env', not both")
        if self.kind in ("webhook", "slack") and not has_url:
            raise ValueError(f"a {self.kind} sink needs 'url_env' (or 'url')")
        if self.kind == "log" and has_url:
            raise ValueError("a log sink writes to 'path' or the logger; drop 'url'")
        if self.kind != "log" and self.path is not None:
            raise ValueError("'path' is for log sinks only")
        keyed = self.routing_key is not None or self.routing_key_env is not None
        if self.kind == "pagerduty" and not keyed:
            raise ValueError("a pagerduty sink needs 'routing_key_env' (or 'routing_key')")
        if self.kind != "pagerduty" and keyed:
            raise ValueError("'routing_key' is for pagerduty sinks only")
        if not self.events:
            raise ValueError(f"give at least one event of {list(SINK_EVENTS)}")
        return self


class LabelsSpec(_Frozen):
    """Where ground truth comes from and how late it arrives."""

    expected_delay: Duration = "1d"
    expected_coverage: float = Field(1.0, gt=0, le=1)
    name: str | None = Field(
        None, description="label name in the feedback events; default: the target column"
    )
    max_delay: Duration = Field(
        "7d", description="labels arriving later than this after their prediction are not joined"
    )
    join_interval: Duration = Field(
        "5m", description="how often the monitor joins new feedback to its predictions"
    )


class RegistrySpec(_Frozen):
    """MLflow tracking and registry; embedded SQLite under the state dir by default."""

    tracking_uri: str | None = None
    model_name: str | None = Field(None, description="registered model name; default: service")
    experiment: str | None = Field(None, description="MLflow experiment; default: service")


class StoreSpec(_Frozen):
    """steadyml's metadata store (alias history, audit log, monitoring)."""

    url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the state dir")


class ServiceSpec(_Frozen):
    """A whole ML service, parsed from ``steadyml.yaml``."""

    service: str
    description: str = ""
    owner: str = ""
    task: Task
    state_dir: str = Field(".steadyml", description="relative to the spec file")
    data: DataSpec
    transforms: TransformsSpec | None = None
    model: ModelSpec = ModelSpec()
    registry: RegistrySpec = RegistrySpec()
    store: StoreSpec = StoreSpec()
    deployment: DeploymentSpec = DeploymentSpec()
    slos: SloSpec = SloSpec()
    gate: GateSpec = GateSpec()
    monitors: MonitorsSpec = MonitorsSpec()
    alerts: tuple[AlertRuleSpec, ...] = ()
    responses: tuple[ResponseSpec, ...] = ()
    retrain: RetrainSpec = RetrainSpec()
    sinks: tuple[SinkSpec, ...] = ()
    labels: LabelsSpec = LabelsSpec()

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("service")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use 1-64 letters, digits, '_', '-' or '.', starting with a letter")
        return value

    @model_validator(mode="after")
    def _columns_distinct(self) -> ServiceSpec:
        data = self.data
        named = [c for c in (data.target, data.id_column, data.time_column) if c]
        if len(set(named)) != len(named):
            raise ValueError("target, id_column and time_column must be different columns")
        if data.features is not None:
            clash = sorted(set(data.features) & set(named))
            if clash:
                raise ValueError(f"features {clash} are also target/id/time columns")
        return self

    # -- resolved values -------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """Directory of the spec file; relative paths in the spec resolve against it."""
        return self._base_dir

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path written in the spec against :attr:`base_dir`."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self._base_dir / candidate

    @property
    def model_name(self) -> str:
        """Registered model name in MLflow."""
        return self.registry.model_name or self.service

    @property
    def primary_metric(self) -> str:
        """The metric the gate compares."""
        if self.model.primary_metric:
            return self.model.primary_metric
        return {
            Task.BINARY: "roc_auc",
            Task.MULTICLASS: "log_loss",
            Task.REGRESSION: "rmse",
        }[self.task]

    @property
    def latency_slo_ms(self) -> float:
        """The p99 latency objective (defaults to the deployment budget)."""
        return self.slos.latency_p99_ms or self.deployment.latency_budget_ms

    @property
    def reload_interval(self) -> timedelta:
        """How often the server polls the registry for a new champion."""
        return parse_duration(self.deployment.reload_interval)

    def with_base_dir(self, base_dir: Path) -> ServiceSpec:
        """A copy whose relative paths resolve against ``base_dir``."""
        copy = self.model_copy()
        copy._base_dir = base_dir.resolve()
        return copy


# -- parsing --------------------------------------------------------------------------


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _spec_error(exc: ValidationError) -> SpecError:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        known = _known_keys(ServiceSpec, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        fix = f"unknown key; {hint}"
    elif first["type"] == "missing":
        fix = "this key is required; add it"
    else:
        fix = str(first["msg"]).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    if more:
        fix += f" (and {more} more problem{'s' if more > 1 else ''})"
    value = first.get("input") if first["type"] != "missing" else None
    return SpecError(key, value, fix) if first["type"] != "missing" else SpecError(key, fix=fix)


def parse_spec(raw: object, base_dir: Path | None = None) -> ServiceSpec:
    """Validate a mapping (parsed YAML) into a :class:`ServiceSpec`.

    Raises
    ------
    SpecError
        Naming the first offending key, its value and the fix.
    """
    if not isinstance(raw, dict):
        raise SpecError("(top level)", raw, "a spec is a YAML mapping of keys to values")
    try:
        spec = ServiceSpec.model_validate(raw)
    except ValidationError as exc:
        raise _spec_error(exc) from None
    return spec.with_base_dir(base_dir or Path.cwd())


def load_spec(path: str | Path) -> ServiceSpec:
    """Read and validate ``steadyml.yaml``; relative paths resolve against its folder."""
    spec_path = Path(path)
    if spec_path.is_dir():
        spec_path = spec_path / "steadyml.yaml"
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            "spec", str(spec_path), "no such file; create one with 'steadyml init'"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError("spec", str(spec_path), f"cannot read it ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError("spec", str(spec_path), f"not valid YAML{where}") from None
    return parse_spec(raw, spec_path.parent.resolve())
