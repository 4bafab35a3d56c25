"""Results of a drift check: per feature, for the dataset, and for the multivariate checks.

Every result carries its status, a message a person can act on, and ``to_dict()`` for
JSON (non-finite numbers become ``None``: a NaN is never passed on to be read as "no
drift").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DatasetDriftResult",
    "DomainClassifierResult",
    "DriftResult",
    "Histogram",
    "MMDResult",
    "MultivariateResult",
    "Status",
]


class Status(StrEnum):
    """Outcome of a drift check, from least to most severe (see :attr:`severity`)."""

    OK = "ok"
    INSUFFICIENT_DATA = "insufficient_data"
    WARN = "warn"
    SCHEMA_MISMATCH = "schema_mismatch"
    DRIFT = "drift"

    @property
    def severity(self) -> int:
        """0 (ok) to 4 (drift); the dataset status is the most severe feature status."""
        return list(Status).index(self)


def _clean(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        return _clean_dict(value)
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _clean_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _clean(v) for k, v in mapping.items()}


@dataclass(frozen=True)
class Histogram:
    """The binned distributions a decision was made on (for reports)."""

    labels: tuple[str, ...]
    reference: tuple[int, ...]
    current: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "labels": list(self.labels),
            "reference": list(self.reference),
            "current": list(self.current),
        }


@dataclass(frozen=True)
class DriftResult:
    """The drift decision for one feature (or model output).

    Attributes
    ----------
    feature, kind
        The column and whether it is numeric or categorical.
    status, message
        The decision and why, in one sentence.
    metric
        The effect-size statistic the decision uses (``tvd`` by default).
    effect, effect_low, effect_high
        Its value and a 95 % bootstrap interval.
    warn_threshold, drift_threshold
        The tolerances: minimum meaningful effects for ``warn`` and ``drift``.
    critical_value
        The effect that noise alone exceeds with probability ``false_alarm_rate`` at
        this window size (calibrated by replaying the reference against itself).
    p_value, q_value
        Calibrated p-value, and its Benjamini-Hochberg adjustment across features.
    min_detectable_effect
        The smallest effect this check flags (``warn``) with about 80 % probability at
        this window size: ``max(warn_threshold, statistical detection limit)``.
    min_detectable_shift, shift_unit
        The same as a location shift in reference standard deviations (numeric,
        ``"std"``) or as points of category frequency moved (categorical, ``"points"``).
    statistics
        Every statistic computed (``psi``, ``js``, ``hellinger``, ``tvd``, ``ks``,
        ``wasserstein``, ``chi2``, ...), for display; decisions use only ``metric``.
    """

    feature: str
    kind: str
    status: Status
    message: str
    metric: str
    effect: float | None = None
    effect_low: float | None = None
    effect_high: float | None = None
    warn_threshold: float | None = None
    drift_threshold: float | None = None
    critical_value: float | None = None
    p_value: float | None = None
    q_value: float | None = None
    min_detectable_effect: float | None = None
    min_detectable_shift: float | None = None
    shift_unit: str | None = None
    n_reference: int = 0
    n_current: int = 0
    statistics: Mapping[str, float | None] = field(default_factory=dict)
    histogram: Histogram | None = None
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> float:
        """Effect over the warn threshold (0 when undefined): the ranking key."""
        if self.effect is None or not self.warn_threshold:
            return 0.0
        return self.effect / self.warn_threshold

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        out: dict[str, Any] = {
            "feature": self.feature,
            "kind": self.kind,
            "status": self.status.value,
            "message": self.message,
            "metric": self.metric,
            "effect": self.effect,
            "effect_interval": [self.effect_low, self.effect_high],
            "warn_threshold": self.warn_threshold,
            "drift_threshold": self.drift_threshold,
            "critical_value": self.critical_value,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "min_detectable_effect": self.min_detectable_effect,
            "min_detectable_shift": self.min_detectable_shift,
            "shift_unit": self.shift_unit,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "statistics": dict(self.statistics),
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
            "notes": list(self.notes),
        }
        return _clean_dict(out)


@dataclass(frozen=True)
class DomainClassifierResult:
    """Can a classifier tell the reference rows from the current rows?

    ``auc`` is out-of-fold; ``auc_low``/``auc_high`` a 95 % DeLong interval; 0.5 means
    the windows are indistinguishable. ``top_features`` ranks the columns by how much
    the AUC drops when each is permuted.
    """

    auc: float
    auc_low: float
    auc_high: float
    status: Status
    message: str
    top_features: tuple[tuple[str, float], ...]
    n_reference: int
    n_current: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return _clean_dict(
            {
                "auc": self.auc,
                "auc_interval": [self.auc_low, self.auc_high],
                "status": self.status,
                "message": self.message,
                "top_features": [list(t) for t in self.top_features],
                "n_reference": self.n_reference,
                "n_current": self.n_current,
            }
        )


@dataclass(frozen=True)
class MMDResult:
    """Maximum mean discrepancy (Gaussian kernel) with a permutation p-value."""

    mmd2: float
    p_value: float
    bandwidth: float
    permutations: int
    n_reference: int
    n_current: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return _clean_dict(self.__dict__)


@dataclass(frozen=True)
class MultivariateResult:
    """Both multivariate checks on the row samples."""

    domain_classifier: DomainClassifierResult | None
    mmd: MMDResult | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "domain_classifier": None
            if self.domain_classifier is None
            else self.domain_classifier.to_dict(),
            "mmd": None if self.mmd is None else self.mmd.to_dict(),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DatasetDriftResult:
    """Drift decisions for every compared feature of a window.

    Attributes
    ----------
    features
        One result per feature, in the reference's column order.
    false_alarm_rate
        The target probability of a false alarm per check (FDR level across features).
    n_reference, n_current
        Rows in each window.
    multivariate
        Domain classifier and MMD results, when asked for.
    """

    features: tuple[DriftResult, ...]
    false_alarm_rate: float
    n_reference: int
    n_current: int
    multivariate: MultivariateResult | None = None

    @property
    def status(self) -> Status:
        """The most severe status over features (and the domain classifier)."""
        statuses = [r.status for r in self.features]
        if self.multivariate is not None and self.multivariate.domain_classifier is not None:
            statuses.append(self.multivariate.domain_classifier.status)
        return max(statuses, key=lambda s: s.severity, default=Status.INSUFFICIENT_DATA)

    def __getitem__(self, feature: str) -> DriftResult:
        for result in self.features:
            if result.feature == feature:
                return result
        raise KeyError(feature)

    def with_status(self, *statuses: Status) -> list[str]:
        """Names of the features with any of ``statuses``."""
        return [r.feature for r in self.features if r.status in statuses]

    def ranked(self) -> list[DriftResult]:
        """Features by severity, then by effect relative to the warn threshold."""
        return sorted(self.features, key=lambda r: (-r.status.severity, -r.ratio, r.feature))

    def counts(self) -> dict[str, int]:
        """How many features have each status."""
        return {s.value: sum(r.status is s for r in self.features) for s in Status}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "status": self.status.value,
            "counts": self.counts(),
            "false_alarm_rate": self.false_alarm_rate,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "features": [r.to_dict() for r in self.features],
            "multivariate": None if self.multivariate is None else self.multivariate.to_dict(),
        }
