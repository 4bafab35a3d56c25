"""The histogram statistics a decision can be made on, by name.

Each is vectorized over replicates (see :mod:`~steadyml.core.drift.distributions`), which
is what lets calibration replay the reference hundreds of times per feature for free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from steadyml.core.drift.hellinger import hellinger
from steadyml.core.drift.jensen_shannon import jensen_shannon
from steadyml.core.drift.psi import population_stability_index
from steadyml.core.drift.tvd import total_variation
from steadyml.errors import ConfigError

__all__ = ["METRICS", "HistogramMetric", "histogram_metric"]

HistogramMetric = Callable[[ArrayLike, ArrayLike], np.ndarray]

METRICS: Mapping[str, HistogramMetric] = MappingProxyType(
    {
        "tvd": total_variation,
        "psi": population_stability_index,
        "js": jensen_shannon,
        "hellinger": hellinger,
    }
)


def histogram_metric(name: str) -> HistogramMetric:
    """The statistic called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name.
    """
    try:
        return METRICS[name]
    except KeyError:
        raise ConfigError("metric", name, f"use one of {sorted(METRICS)}") from None
