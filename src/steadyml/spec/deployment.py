"""Production constraints written before training: deployment, fallback, SLOs, gate."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from steadyml.core.violations import ViolationPolicy
from steadyml.spec.base import Duration, Frozen

__all__ = ["DeploymentSpec", "FallbackSpec", "GateSpec", "Milliseconds", "SloSpec"]


class FallbackSpec(Frozen):
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


class DeploymentSpec(Frozen):
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


class SloSpec(Frozen):
    """Service-level objectives the monitor checks."""

    latency_p99_ms: float | None = Field(None, gt=0, description="default: the latency budget")
    error_rate: float = Field(0.001, ge=0, le=1)
    fallback_rate: float = Field(0.01, ge=0, le=1)
    rejection_rate: float = Field(0.05, ge=0, le=1)


class GateSpec(Frozen):
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
