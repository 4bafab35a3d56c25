"""The business KPI per window, its change against the baseline, and what moves with it.

Outcome events (feedback of kind ``outcome``, e.g. ``converted``) are joined to their
predictions by request id and summed per prediction window. The KPI is either the mean
outcome value (``aggregate: mean``) or the summed value per answered request (``rate``,
for outcomes sent only when they happen). Its 95 % interval is the normal interval of
a mean. The baseline is the spec's ``kpi.baseline`` or, by default, the mean KPI of the
previous ``kpi.baseline_windows`` windows. ``kpi.change`` is the relative change; its
status is ``drift`` when the whole interval lies below ``baseline x (1 - max_drop)``.

``kpi.correlation:<signal>`` is the Pearson correlation, over recent windows, between
the KPI and a model signal (fallback rate, prediction drift, estimated accuracy, ...):
a KPI that falls when the NaN rate rises points at the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from steadyml.core.monitoring.context import WindowData
from steadyml.core.monitoring.measurements import Z95, Measurement
from steadyml.spec import KpiSpec

__all__ = ["MIN_CORRELATION_WINDOWS", "check_kpi", "kpi_baseline", "kpi_correlations"]

MIN_CORRELATION_WINDOWS = 6


def kpi_baseline(kpi: KpiSpec, history: Sequence[float]) -> float | None:
    """The spec's baseline, else the mean of the finite values of ``history``."""
    if kpi.baseline is not None:
        return kpi.baseline
    values = [v for v in history[-kpi.baseline_windows :] if math.isfinite(v)]
    return float(np.mean(values)) if len(values) >= 2 else None


def check_kpi(window: WindowData, kpi: KpiSpec, baseline: float | None) -> list[Measurement]:
    """``kpi.value`` and ``kpi.change`` (subject: the KPI name) of one window."""
    outcomes = window.outcomes
    if outcomes is None or outcomes.events == 0:
        return []
    if kpi.aggregate == "mean":
        n = outcomes.events
    else:
        n = window.summary.answered if window.summary is not None else 0
        n = max(n, outcomes.events)
    mean = outcomes.value_sum / n
    variance = max(outcomes.value_sq_sum / n - mean * mean, 0.0)
    spread = Z95 * math.sqrt(variance / n)
    low, high = mean - spread, mean + spread
    out = [Measurement("kpi.value", mean, kpi.name, low=low, high=high, n=n)]
    if baseline is not None and baseline != 0:
        floor = baseline * (1.0 - kpi.max_drop)
        status = "drift" if high < floor else "warn" if mean < floor else "ok"
        out.append(
            Measurement(
                "kpi.change",
                mean / baseline - 1.0,
                kpi.name,
                low=low / baseline - 1.0,
                high=high / baseline - 1.0,
                status=status,
                n=n,
                details={"baseline": baseline, "value": mean},
            )
        )
    return out


Values = Sequence[float] | NDArray[np.float64]


def kpi_correlations(kpi: Values, signals: Mapping[str, Values]) -> list[Measurement]:
    """Pearson correlation of the KPI with each signal over the same windows.

    Windows where either value is missing are left out; a signal needs at least
    :data:`MIN_CORRELATION_WINDOWS` shared windows and some variation.
    """
    target = np.asarray(kpi, dtype=np.float64)
    out = []
    for name, values in sorted(signals.items()):
        signal = np.asarray(values, dtype=np.float64)
        if signal.shape != target.shape:
            continue
        both = np.isfinite(target) & np.isfinite(signal)
        if both.sum() < MIN_CORRELATION_WINDOWS:
            continue
        x, y = target[both], signal[both]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        r = float(np.corrcoef(x, y)[0, 1])
        out.append(Measurement("kpi.correlation", r, name, n=int(both.sum())))
    return out
