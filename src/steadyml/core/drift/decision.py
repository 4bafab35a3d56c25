"""How a feature's statistic becomes ok / warn / drift.

A feature is flagged only when its change is both

* **meaningful** - the effect reaches the feature's tolerance (``warn`` or ``drift``), a
  minimum effect chosen by people, so that a 20-million-row window does not alarm on a
  trivial shift that any p-value would call significant; and
* **real** - the effect is beyond what noise produces at this window size, judged by
  the calibrated p-value (see :mod:`~steadyml.core.drift.calibration`) with
  Benjamini-Hochberg false-discovery-rate control across features, so that a 300-row
  window does not alarm on sampling noise.

Default tolerances use the total variation distance (TVD): ``warn`` at 0.04 and
``drift`` at 0.12, i.e. 4 and 12 points of frequency moved for a categorical column,
and a location shift of about 0.1 and 0.3 reference standard deviations for a numeric
one. ``docs/drift.md`` explains the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steadyml.core.drift.metrics import METRICS
from steadyml.core.drift.report import Status
from steadyml.errors import ConfigError

__all__ = ["DEFAULT_TOLERANCE", "Tolerance", "benjamini_hochberg", "decide"]


@dataclass(frozen=True)
class Tolerance:
    """Minimum meaningful effects of one feature.

    Parameters
    ----------
    warn
        Effect from which a significant change is reported as ``warn``.
    drift
        Effect from which a significant change is reported as ``drift``.
    metric
        The statistic: ``tvd`` (default), ``psi``, ``js`` or ``hellinger``.

    Examples
    --------
    >>> Tolerance(warn=0.02, drift=0.1, metric="psi").metric
    'psi'
    """

    warn: float = 0.04
    drift: float = 0.12
    metric: str = "tvd"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ConfigError("tolerance.metric", self.metric, f"use one of {sorted(METRICS)}")
        for name in ("warn", "drift"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"tolerance.{name}", value, "give a positive number")
        if self.warn >= self.drift:
            raise ConfigError(
                "tolerance.warn", self.warn, f"must be below the drift tolerance ({self.drift})"
            )


DEFAULT_TOLERANCE = Tolerance()


def benjamini_hochberg(p_values: Sequence[float], level: float) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg step-up procedure.

    Returns
    -------
    rejected
        Which hypotheses are rejected at false-discovery rate ``level``.
    adjusted
        BH-adjusted p-values (q-values), capped at 1.

    Examples
    --------
    >>> rejected, adjusted = benjamini_hochberg([0.001, 0.02, 0.5], 0.05)
    >>> rejected.tolist(), [round(q, 3) for q in adjusted.tolist()]
    ([True, True, False], [0.003, 0.03, 0.5])
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return adjusted <= level, adjusted


def decide(effect: float, significant: bool, tolerance: Tolerance) -> Status:
    """The status of a feature whose statistic could be computed."""
    if not significant:
        return Status.OK
    if effect >= tolerance.drift:
        return Status.DRIFT
    if effect >= tolerance.warn:
        return Status.WARN
    return Status.OK
