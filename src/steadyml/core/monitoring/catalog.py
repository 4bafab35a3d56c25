"""Every metric the monitor writes: its range, whether it is per feature, its incident type.

Alert rules are checked against this catalog when the monitor starts: an unknown
metric, a subject on a window-level metric, a decision on a metric without one, or a
threshold the metric can never cross is refused with the rule's key named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from steadyml.core.performance import metric_names
from steadyml.spec import Task

__all__ = ["METRICS", "NOT_CAUSES", "SYMPTOMS", "TRIAGE", "MetricInfo", "triage_of"]

Subjects = Literal["none", "required", "optional"]


@dataclass(frozen=True)
class MetricInfo:
    """What one metric is.

    Attributes
    ----------
    low, high
        The range its values can take (None: unbounded).
    subjects
        ``none``: window-level; ``required``: per feature (or name); ``optional``:
        overall (no subject) and per slice.
    incident
        The incident type its alerts open by default.
    decided
        True when the check gives it a calibrated status (usable as a rule decision).
    """

    low: float | None
    high: float | None
    subjects: Subjects
    incident: str
    decided: bool = False


_RATE = (0.0, 1.0)
_POSITIVE = (0.0, None)

METRICS: dict[str, MetricInfo] = {
    "health.error_rate": MetricInfo(*_RATE, "none", "error_rate", True),
    "health.fallback_rate": MetricInfo(*_RATE, "none", "fallback", True),
    "health.nan_rate": MetricInfo(*_RATE, "none", "nan_output", True),
    "health.fallback_reason": MetricInfo(*_RATE, "required", "fallback"),
    "health.latency_p50_ms": MetricInfo(*_POSITIVE, "none", "latency"),
    "health.latency_p95_ms": MetricInfo(*_POSITIVE, "none", "latency"),
    "health.latency_p99_ms": MetricInfo(*_POSITIVE, "none", "latency", True),
    "volume.rows": MetricInfo(*_POSITIVE, "none", "traffic"),
    "volume.ratio": MetricInfo(*_POSITIVE, "none", "traffic"),
    "log.freshness_seconds": MetricInfo(*_POSITIVE, "none", "stale_log"),
    "log.arrival_age_seconds": MetricInfo(*_POSITIVE, "none", "stale_log"),
    "log.skipped_segments": MetricInfo(*_POSITIVE, "none", "log_health"),
    "log.unmatched_feedback": MetricInfo(*_POSITIVE, "none", "label_feed"),
    "log.label_gap_seconds": MetricInfo(*_POSITIVE, "none", "label_feed"),
    "quality.rejection_rate": MetricInfo(*_RATE, "none", "schema_break", True),
    "quality.null_rate": MetricInfo(-1.0, 1.0, "required", "schema_break", True),
    "quality.type_error_rate": MetricInfo(*_RATE, "required", "schema_break", True),
    "quality.unseen_rate": MetricInfo(*_RATE, "required", "data_quality", True),
    "quality.out_of_range_rate": MetricInfo(*_RATE, "required", "data_quality", True),
    "drift.effect": MetricInfo(*_POSITIVE, "required", "feature_drift", True),
    "drift.psi": MetricInfo(*_POSITIVE, "required", "feature_drift", True),
    "drift.mean_shift": MetricInfo(*_POSITIVE, "required", "feature_drift"),
    "drift.features_drifting": MetricInfo(*_POSITIVE, "none", "feature_drift"),
    "prediction_drift.effect": MetricInfo(*_POSITIVE, "none", "prediction_drift", True),
    "prediction_drift.psi": MetricInfo(*_POSITIVE, "none", "prediction_drift", True),
    "performance.label_coverage": MetricInfo(*_RATE, "none", "label_feed"),
    "performance.label_delay_p50_s": MetricInfo(*_POSITIVE, "none", "label_feed"),
    "performance.label_delay_p90_s": MetricInfo(*_POSITIVE, "none", "label_feed"),
    "performance.invalid_labels": MetricInfo(*_POSITIVE, "none", "label_feed"),
    "performance.cbpe_error": MetricInfo(-1.0, 1.0, "required", "estimator_error"),
    "kpi.value": MetricInfo(None, None, "required", "kpi_drop"),
    "kpi.change": MetricInfo(-1.0, None, "required", "kpi_drop", True),
    "kpi.correlation": MetricInfo(-1.0, 1.0, "required", "kpi_drop"),
}
for _task in Task:
    for _name in metric_names(_task):
        _bounded = _name not in ("log_loss", "mae", "rmse", "r2")
        METRICS[f"performance.{_name}"] = MetricInfo(
            0.0 if _name != "r2" else None,
            1.0 if _bounded else None,
            "optional",
            "performance_drop",
            True,
        )
for _name in ("roc_auc", "accuracy", "f1"):
    METRICS[f"performance.estimated_{_name}"] = MetricInfo(
        0.0, 1.0, "none", "estimated_performance_drop", True
    )

#: Incident type -> triage class.
TRIAGE: dict[str, str] = {
    "error_rate": "infrastructure",
    "latency": "infrastructure",
    "traffic": "infrastructure",
    "stale_log": "infrastructure",
    "log_health": "infrastructure",
    "fallback": "infrastructure",
    "nan_output": "model",
    "prediction_drift": "model",
    "performance_drop": "model",
    "estimated_performance_drop": "model",
    "estimator_error": "model",
    "kpi_drop": "model",
    "schema_break": "data",
    "data_quality": "data",
    "feature_drift": "data",
    "label_feed": "data",
}

#: Incident types that are not causes a symptom could join (log and label-feed trouble).
NOT_CAUSES = frozenset({"stale_log", "log_health", "traffic", "label_feed"})

#: Incident types that are usually consequences: their alerts join an open incident of
#: another type (the cause) instead of opening their own.
SYMPTOMS = frozenset(
    {
        "fallback",
        "prediction_drift",
        "performance_drop",
        "estimated_performance_drop",
        "estimator_error",
        "kpi_drop",
    }
)


def triage_of(incident_type: str) -> str:
    """The triage class of an incident type (``model`` for types the catalog does not know)."""
    return TRIAGE.get(incident_type, "model")
