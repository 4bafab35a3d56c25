"""The whole service spec, with labels, registry and store settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import (
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from steadyml.core.durations import parse_duration
from steadyml.spec.base import NAME, Duration, Frozen, Task
from steadyml.spec.data import DataSpec, ModelSpec, TransformsSpec
from steadyml.spec.deployment import DeploymentSpec, GateSpec, SloSpec
from steadyml.spec.monitors import AlertRuleSpec, MonitorsSpec
from steadyml.spec.responses import ResponseSpec, RetrainSpec, SinkSpec

__all__ = ["LabelsSpec", "RegistrySpec", "ServiceSpec", "StoreSpec"]


class LabelsSpec(Frozen):
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


class RegistrySpec(Frozen):
    """MLflow tracking and registry; embedded SQLite under the state dir by default."""

    tracking_uri: str | None = None
    model_name: str | None = Field(None, description="registered model name; default: service")
    experiment: str | None = Field(None, description="MLflow experiment; default: service")


class StoreSpec(Frozen):
    """steadyml's metadata store (alias history, audit log, monitoring)."""

    url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the state dir")


class ServiceSpec(Frozen):
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
        if not NAME.match(value):
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
