"""Drift: compare a window's profile with the reference profile, feature by feature.

Statistics (one module each): total variation (:func:`total_variation`, the default
decision metric), PSI, Jensen-Shannon, Hellinger, Wasserstein (normalised by the
reference spread), Kolmogorov-Smirnov (exact on samples, error-aware from sketches)
and chi-squared. :func:`compare` turns them into calibrated decisions - ok, warn,
drift, insufficient data or schema mismatch - with an effect size, its interval and
the minimum detectable shift at the window's size; :mod:`.multivariate` adds a domain
classifier and MMD on row samples (imported on first use: they need scikit-learn). The
method is documented in ``docs/drift.md``.
"""

from typing import TYPE_CHECKING

from steadyml.core.drift.aligned import AlignedCounts, align_categorical, align_numeric
from steadyml.core.drift.calibration import NullModel, bootstrap_interval, replay
from steadyml.core.drift.chi2 import ChiSquaredResult, chi_squared
from steadyml.core.drift.compare import CompareSettings, compare
from steadyml.core.drift.decision import DEFAULT_TOLERANCE, Tolerance, benjamini_hochberg, decide
from steadyml.core.drift.hellinger import hellinger
from steadyml.core.drift.jensen_shannon import jensen_shannon
from steadyml.core.drift.ks import KSResult, ks_from_samples, ks_from_sketches
from steadyml.core.drift.metrics import METRICS, histogram_metric
from steadyml.core.drift.psi import population_stability_index
from steadyml.core.drift.report import (
    DatasetDriftResult,
    DomainClassifierResult,
    DriftResult,
    Histogram,
    MMDResult,
    MultivariateResult,
    Status,
)
from steadyml.core.drift.tvd import total_variation
from steadyml.core.drift.wasserstein import wasserstein_from_samples, wasserstein_from_sketches

if TYPE_CHECKING:
    from steadyml.core.drift.multivariate import (
        auc_with_interval,
        domain_classifier,
        mmd_test,
        multivariate_check,
    )

_LAZY = ("auc_with_interval", "domain_classifier", "mmd_test", "multivariate_check")


def __getattr__(name: str) -> object:
    # the multivariate checks pull in scikit-learn: import them on first use only
    if name in _LAZY:
        from steadyml.core.drift import multivariate

        return getattr(multivariate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TOLERANCE",
    "METRICS",
    "AlignedCounts",
    "ChiSquaredResult",
    "CompareSettings",
    "DatasetDriftResult",
    "DomainClassifierResult",
    "DriftResult",
    "Histogram",
    "KSResult",
    "MMDResult",
    "MultivariateResult",
    "NullModel",
    "Status",
    "Tolerance",
    "align_categorical",
    "align_numeric",
    "auc_with_interval",
    "benjamini_hochberg",
    "bootstrap_interval",
    "chi_squared",
    "compare",
    "decide",
    "domain_classifier",
    "hellinger",
    "histogram_metric",
    "jensen_shannon",
    "ks_from_samples",
    "ks_from_sketches",
    "mmd_test",
    "multivariate_check",
    "population_stability_index",
    "replay",
    "total_variation",
    "wasserstein_from_samples",
    "wasserstein_from_sketches",
]
