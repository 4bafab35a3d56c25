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

from steadyml.core.violations import ViolationPolicy
from steadyml.spec.base import Task
from steadyml.spec.data import DataSpec, ModelSpec, SliceSpec, SourceSpec, SplitSpec, TransformsSpec
from steadyml.spec.deployment import DeploymentSpec, FallbackSpec, GateSpec, SloSpec
from steadyml.spec.loading import load_spec, parse_spec
from steadyml.spec.monitors import (
    AlertRuleSpec,
    FastPathSpec,
    ForeignColumnsSpec,
    ForeignLogSpec,
    KpiSpec,
    MonitorsSpec,
    check_window,
)
from steadyml.spec.responses import ResponseSpec, RetrainSpec, SinkSpec
from steadyml.spec.service import LabelsSpec, RegistrySpec, ServiceSpec, StoreSpec

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
    "SplitSpec",
    "StoreSpec",
    "Task",
    "TransformsSpec",
    "ViolationPolicy",
    "check_window",
    "load_spec",
    "parse_spec",
]
