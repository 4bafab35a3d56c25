"""Compare a window's profile with the reference profile: one calibrated decision per feature.

>>> import numpy as np
>>> from steadyml.core.profiles import Profile
>>> rng = np.random.default_rng(0)
>>> reference = Profile.for_reference({"x": rng.normal(size=20_000)}, seed=1).view()
>>> window = reference.new_profile(seed=2).update({"x": rng.normal(0.5, 1, 20_000)}).view()
>>> compare(reference, window)["x"].status.value
'drift'
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from steadyml.core.drift.aligned import DEFAULT_MAX_CATEGORY_BINS, align_categorical, align_numeric
from steadyml.core.drift.calibration import DEFAULT_REPLICATES, bootstrap_interval, replay
from steadyml.core.drift.decision import DEFAULT_TOLERANCE, Tolerance, benjamini_hochberg, decide
from steadyml.core.drift.detectable import numeric_shift_for_effect, points_for_effect
from steadyml.core.drift.metrics import histogram_metric
from steadyml.core.drift.report import DatasetDriftResult, DriftResult, Histogram, Status
from steadyml.core.drift.statistics import categorical_statistics, numeric_statistics
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.core.profiles.view import ProfileView
from steadyml.errors import ConfigError, DataError

__all__ = ["CompareSettings", "compare"]


@dataclass(frozen=True)
class CompareSettings:
    """How decisions are made; the defaults are the documented ones.

    Parameters
    ----------
    false_alarm_rate
        Target probability that a check flags a feature when nothing changed; also the
        false-discovery rate across features (Benjamini-Hochberg).
    replicates
        Replays of the reference per feature for calibration.
    min_reference_rows, min_current_rows
        Below these sizes a feature is ``insufficient_data``.
    max_category_bins
        Reference categories kept as their own bin (the rest share one bin).
    seed
        Seed of calibration and bootstrap (decisions are reproducible).
    """

    false_alarm_rate: float = 0.001
    replicates: int = DEFAULT_REPLICATES
    min_reference_rows: int = 100
    min_current_rows: int = 30
    max_category_bins: int = DEFAULT_MAX_CATEGORY_BINS
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.false_alarm_rate < 0.5:
            raise ConfigError(
                "false_alarm_rate", self.false_alarm_rate, "give a probability in (0, 0.5)"
            )
        if self.max_category_bins < 1:
            raise ConfigError("max_category_bins", self.max_category_bins, "keep at least 1")
        if self.replicates < 50:
            raise ConfigError("replicates", self.replicates, "use at least 50 replicates")
        if self.min_reference_rows < 2 or self.min_current_rows < 1:
            raise ConfigError(
                "min_reference_rows",
                (self.min_reference_rows, self.min_current_rows),
                "need at least 2 reference rows and 1 current row",
            )


@dataclass(frozen=True)
class _Pending:
    result: DriftResult
    tolerance: Tolerance
    p_value: float


def compare(
    reference: ProfileView,
    current: ProfileView,
    *,
    tolerances: Mapping[str, Tolerance] | None = None,
    default_tolerance: Tolerance = DEFAULT_TOLERANCE,
    columns: Sequence[str] | None = None,
    settings: CompareSettings | None = None,
    multivariate: bool = False,
) -> DatasetDriftResult:
    """Drift decisions for every feature of ``current`` against ``reference``.

    Parameters
    ----------
    reference
        The reference view (its bins define the comparison).
    current
        A window profiled with ``reference.new_profile()``.
    tolerances
        Per-feature tolerances; others use ``default_tolerance``.
    columns
        Features to compare (default: every reference column).
    settings
        False-alarm rate, calibration size, minimum sizes, seed.
    multivariate
        Also run the domain classifier and MMD on the row samples.

    Returns
    -------
    DatasetDriftResult
        Never raises on bad *data*: empty windows, missing columns, wrong types,
        all-null or constant columns, unseen categories and infinities all end in a
        defined status with a message.

    Raises
    ------
    DataError
        When ``reference`` or ``current`` is not a :class:`ProfileView`.
    ConfigError
        When ``tolerances`` names a feature that is not compared.
    """
    for name, view in (("reference", reference), ("current", current)):
        if not isinstance(view, ProfileView):
            raise DataError(name, type(view).__name__, "pass a ProfileView (profile.view())")
    config = settings or CompareSettings()
    tolerances = dict(tolerances or {})
    wanted = list(reference.schema.names) if columns is None else list(columns)
    unknown = sorted(set(tolerances) - set(wanted))
    if unknown:
        raise ConfigError(
            "tolerances", unknown, f"give tolerances only for compared features {wanted}"
        )
    done: dict[str, DriftResult] = {}
    pending: dict[str, _Pending] = {}
    for name in wanted:
        outcome = _assess(name, reference, current, tolerances.get(name, default_tolerance), config)
        if isinstance(outcome, _Pending):
            pending[name] = outcome
        else:
            done[name] = outcome
    if pending:
        rejected, adjusted = benjamini_hochberg(
            [p.p_value for p in pending.values()], config.false_alarm_rate
        )
        for (name, item), significant, q_value in zip(
            pending.items(), rejected, adjusted, strict=True
        ):
            done[name] = _finish(item, bool(significant), float(q_value))
    mv = None
    if multivariate:
        from steadyml.core.drift.multivariate import multivariate_check

        mv = multivariate_check(reference, current, seed=config.seed)
    return DatasetDriftResult(
        features=tuple(done[name] for name in wanted),
        false_alarm_rate=config.false_alarm_rate,
        n_reference=reference.rows,
        n_current=current.rows,
        multivariate=mv,
    )


def _finish(item: _Pending, significant: bool, q_value: float) -> DriftResult:
    result, tolerance = item.result, item.tolerance
    effect = result.effect if result.effect is not None else 0.0
    status = decide(effect, significant, tolerance)
    metric = result.metric
    if status is Status.DRIFT:
        message = f"{metric} {effect:.3g} reaches the drift tolerance {tolerance.drift:g}"
    elif status is Status.WARN:
        message = f"{metric} {effect:.3g} reaches the warn tolerance {tolerance.warn:g}"
    elif significant:
        message = f"{metric} {effect:.3g} is real but below the warn tolerance {tolerance.warn:g}"
    else:
        message = (
            f"no change beyond noise: {metric} {effect:.3g}, noise reaches "
            f"{(result.critical_value or 0.0):.3g} at {result.n_current} rows"
        )
    return replace(result, status=status, message=message, q_value=q_value)


@dataclass(frozen=True)
class _Feature:
    """What every result of one feature shares."""

    name: str
    kind: str
    tolerance: Tolerance
    n_reference: int = 0
    n_current: int = 0

    def result(self, status: Status, message: str) -> DriftResult:
        return DriftResult(
            feature=self.name,
            kind=self.kind,
            status=status,
            message=message,
            metric=self.tolerance.metric,
            warn_threshold=self.tolerance.warn,
            drift_threshold=self.tolerance.drift,
            n_reference=self.n_reference,
            n_current=self.n_current,
        )


def _assess(
    name: str,
    reference: ProfileView,
    current: ProfileView,
    tolerance: Tolerance,
    config: CompareSettings,
) -> DriftResult | _Pending:
    if name not in reference.schema:
        feature = _Feature(name, "unknown", tolerance, 0, current.rows)
        return feature.result(
            Status.SCHEMA_MISMATCH,
            "not in the reference profile; profile it in the reference or leave it out",
        )
    spec = reference.schema[name]
    ref = reference.columns[name]
    feature = _Feature(name, spec.kind.value, tolerance, ref.count, current.rows)
    if name not in current.schema or (current.rows > 0 and current.columns[name].count == 0):
        return replace(feature, n_current=0).result(
            Status.SCHEMA_MISMATCH, "missing from the current data; check the upstream schema"
        )
    theirs = current.schema[name]
    if theirs != spec:
        what = theirs.kind.value if theirs.kind != spec.kind else "other bin edges"
        return feature.result(
            Status.SCHEMA_MISMATCH,
            f"current profile has {what} than the reference; "
            "profile windows with reference_view.new_profile()",
        )
    cur = current.columns[name]
    bad = cur.type_errors + current.absent(name)
    if bad:
        return feature.result(
            Status.SCHEMA_MISMATCH,
            f"{bad} of {current.rows} current values were absent or of a wrong type "
            f"for a {feature.kind} column; fix the upstream type",
        )
    feature = replace(feature, n_reference=ref.count - ref.type_errors, n_current=cur.count)
    if feature.n_reference < config.min_reference_rows:
        return feature.result(
            Status.INSUFFICIENT_DATA,
            f"reference has {feature.n_reference} rows, too few to calibrate (need "
            f"{config.min_reference_rows}); profile a larger reference",
        )
    if ref.missing >= feature.n_reference:
        return feature.result(
            Status.INSUFFICIENT_DATA, "every reference value is missing; nothing to compare with"
        )
    if feature.n_current < config.min_current_rows:
        return feature.result(
            Status.INSUFFICIENT_DATA,
            f"current window has {feature.n_current} rows (need {config.min_current_rows})",
        )
    return _measure(feature, spec.edges, (reference, current), config)


def _measure(
    feature: _Feature,
    edges: tuple[float, ...],
    views: tuple[ProfileView, ProfileView],
    config: CompareSettings,
) -> DriftResult | _Pending:
    name, tolerance = feature.name, feature.tolerance
    ref, cur = views[0].columns[name], views[1].columns[name]
    if isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary):
        aligned = align_numeric(edges, ref, cur)
        statistics, notes = numeric_statistics(name, aligned, views)
    elif isinstance(ref, CategoricalSummary) and isinstance(cur, CategoricalSummary):
        aligned = align_categorical(ref, cur, config.max_category_bins)
        statistics, notes = categorical_statistics(aligned, ref, cur)
    else:  # pragma: no cover - schemas were checked equal
        raise DataError(name, None, "reference and current summaries differ in kind")
    metric = histogram_metric(tolerance.metric)
    effect = float(metric(aligned.reference, aligned.current))
    n_ref, n_cur = int(aligned.reference.sum()), int(aligned.current.sum())
    histogram = Histogram(
        aligned.labels, tuple(aligned.reference.tolist()), tuple(aligned.current.tolist())
    )
    if not np.isfinite(effect):
        return feature.result(
            Status.INSUFFICIENT_DATA, f"{tolerance.metric} is undefined on these windows"
        )
    rng = np.random.default_rng([config.seed, zlib.crc32(name.encode())])
    null = replay(aligned.reference, n_cur, metric, rng, config.replicates)
    low, high = bootstrap_interval(aligned.reference, aligned.current, metric, rng, null=null)
    kind = feature.kind
    critical = null.critical_value(config.false_alarm_rate)
    detectable = max(tolerance.warn, null.detection_limit(config.false_alarm_rate))
    if isinstance(ref, NumericSummary):
        shift = numeric_shift_for_effect(ref, edges, metric, detectable)
        unit = "std"
    else:
        shift = points_for_effect(detectable) if tolerance.metric == "tvd" else None
        unit = "points"
    if null.degenerate:
        notes.append("the reference histogram has a single occupied bin: any change is significant")
    result = DriftResult(
        feature=name,
        kind=kind,
        status=Status.OK,
        message="",
        metric=tolerance.metric,
        effect=effect,
        effect_low=low,
        effect_high=high,
        warn_threshold=tolerance.warn,
        drift_threshold=tolerance.drift,
        critical_value=critical,
        p_value=null.p_value(effect),
        min_detectable_effect=detectable,
        min_detectable_shift=shift,
        shift_unit=unit if shift is not None else None,
        n_reference=n_ref,
        n_current=n_cur,
        statistics=statistics,
        histogram=histogram,
        notes=tuple(notes),
    )
    return _Pending(result, tolerance, null.p_value(effect))
