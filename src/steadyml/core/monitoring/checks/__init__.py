"""The checks run on every window; one module per family.

Each check reads a :class:`~steadyml.core.monitoring.WindowData` (and the model
version's :class:`~steadyml.core.monitoring.Reference`) and returns
:class:`~steadyml.core.monitoring.Measurement` objects; alert rules decide what fires.
:func:`run_checks` runs the families that apply to a window: per model version
health, quality, drift and performance (and the KPI); for all versions together
(``"*"``) the traffic volume.
"""

from __future__ import annotations

from steadyml.core.monitoring.checks.drift import DriftMemo, check_drift, tolerance
from steadyml.core.monitoring.checks.health import (
    check_health,
    check_volume,
    freshness,
    quantile_interval,
)
from steadyml.core.monitoring.checks.kpi import check_kpi, kpi_baseline, kpi_correlations
from steadyml.core.monitoring.checks.labels import label_gap, label_gap_threshold
from steadyml.core.monitoring.checks.performance import (
    binned_metrics,
    cbpe_estimate,
    check_performance,
)
from steadyml.core.monitoring.checks.quality import check_quality
from steadyml.core.monitoring.context import ALL_VERSIONS, Reference, WindowData
from steadyml.core.monitoring.measurements import Measurement
from steadyml.spec import ServiceSpec

__all__ = [
    "DriftMemo",
    "binned_metrics",
    "cbpe_estimate",
    "check_drift",
    "check_health",
    "check_kpi",
    "check_performance",
    "check_quality",
    "check_volume",
    "freshness",
    "kpi_baseline",
    "kpi_correlations",
    "label_gap",
    "label_gap_threshold",
    "quantile_interval",
    "run_checks",
    "tolerance",
]


def run_checks(
    window: WindowData,
    reference: Reference | None,
    spec: ServiceSpec,
    *,
    kpi_baseline_value: float | None = None,
    drift_memo: DriftMemo | None = None,
) -> list[Measurement]:
    """Every check that applies to ``window``.

    Parameters
    ----------
    window
        The window's merged summaries; ``key.version == "*"`` for all versions.
    reference
        The model version's reference (None: quality and drift checks that need it
        are skipped, e.g. when the version's bundle cannot be loaded).
    spec
        Objectives, tolerances and the KPI.
    kpi_baseline_value
        The KPI's baseline for this window (see :func:`kpi_baseline`).
    drift_memo
        Drift measurements of unchanged windows, reused (see :class:`DriftMemo`).
    """
    if window.key.version == ALL_VERSIONS:
        return check_volume(window, spec)
    out = check_health(window, spec)
    out.extend(check_quality(window, reference, spec))
    if reference is not None:
        out.extend(check_drift(window, reference, spec, memo=drift_memo))
        out.extend(check_performance(window, reference, spec))
    kpi = spec.monitors.kpi
    if kpi is not None:
        out.extend(check_kpi(window, kpi, kpi_baseline_value))
    return out
