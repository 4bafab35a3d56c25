"""Model performance per window: realised once labels arrive, estimated (CBPE) before.

Realised metrics come from the window's :class:`~steadyml.core.monitoring.LabelSummary`
(labels joined by request id): for binary classifiers ROC AUC, accuracy, F1 and
log-loss with percentile bootstrap intervals (the labelled score cells resampled
multinomially, run by the core's weighted metric kernels), per slice for the primary
metric; MAE and RMSE with normal intervals for regression; accuracy with a Wilson
interval for multiclass. Label coverage (labelled ÷ answered) and label delay are
tracked. A metric's status is ``drift`` when its whole interval lies beyond the
version's held-out baseline by more than ``gate.max_regression``.

Before labels, ``performance.estimated_*`` is the CBPE estimate from the window's
histogram of answered scores (binary); once labels land, ``performance.cbpe_error:*``
is estimated minus realised on the same rows - the estimator's own error, tracked as a
signal of concept shift.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from steadyml.core.monitoring.context import Reference, WindowData
from steadyml.core.monitoring.labelled import LabelSummary
from steadyml.core.monitoring.measurements import Measurement, rate_measurement, wilson_interval
from steadyml.core.monitoring.scores import ScoreHistogram, cells
from steadyml.core.performance import CBPE, get_metric, higher_is_better
from steadyml.core.performance.bootstrap import interval_from_replicates
from steadyml.core.performance.inputs import Prepared
from steadyml.core.performance.ranking import TieGroups, weighted_auc
from steadyml.spec import ServiceSpec, Task

__all__ = ["BINARY_METRICS", "ESTIMATED", "binned_metrics", "cbpe_estimate", "check_performance"]

BINARY_METRICS = ("roc_auc", "accuracy", "f1", "log_loss")
ESTIMATED = ("roc_auc", "accuracy", "f1")
ROUNDS = 200


def binned_metrics(
    negatives: ScoreHistogram,
    positives: ScoreHistogram,
    metrics: tuple[str, ...] = BINARY_METRICS,
    *,
    threshold: float = 0.5,
    rounds: int = ROUNDS,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """``metric -> (estimate, low, high)`` from labelled score histograms.

    Each non-empty (bin, label) cell is one weighted row; the bootstrap draws the cell
    counts from a multinomial with the observed shares, which is the row bootstrap.
    """
    score, label, count = cells(negatives, positives)
    total = int(count.sum())
    if total == 0:
        return {}
    data = Prepared(Task.BINARY, label, score, threshold)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, count / total, size=rounds).astype(np.float64)
    out = {}
    for name in metrics:
        metric = get_metric(Task.BINARY, name)
        estimate = float(metric(data, count[None, :])[0])
        interval = interval_from_replicates(estimate, metric(data, draws), 0.95)
        out[name] = (estimate, interval.low, interval.high)
    return out


def cbpe_estimate(cbpe: CBPE, histogram: ScoreHistogram) -> dict[str, float]:
    """CBPE's expected accuracy, F1 and ROC AUC for the rows of a score histogram.

    The same formulas as :meth:`CBPE.estimate`, with each bin's mean score standing for
    its rows (weights = counts).
    """
    rows = np.flatnonzero(histogram.counts)
    if rows.size == 0:
        return {}
    raw = histogram.means()[rows]
    weight = histogram.counts[rows].astype(np.float64)
    calibrated = cbpe.calibrate(raw)
    decided = raw >= cbpe.threshold
    tp = float((weight * calibrated)[decided].sum())
    fp = float(weight[decided].sum()) - tp
    fn = float((weight * calibrated)[~decided].sum())
    tn = float(weight[~decided].sum()) - fn
    auc = float(weighted_auc(TieGroups.of(raw), weight[None, :], calibrated)[0])
    denominator = 2.0 * tp + fp + fn
    return {
        "accuracy": (tp + tn) / float(weight.sum()),
        "f1": 2.0 * tp / denominator if denominator > 0 else math.nan,
        "roc_auc": auc,
    }


def _status(
    name: str, value: float, low: float, high: float, *, baseline: float | None, tol: float
) -> str | None:
    if baseline is None or not math.isfinite(value):
        return None
    if higher_is_better(name):
        return "drift" if high < baseline - tol else "warn" if value < baseline - tol else "ok"
    return "drift" if low > baseline + tol else "warn" if value > baseline + tol else "ok"


def _realised_binary(
    labels: LabelSummary, reference: Reference, spec: ServiceSpec
) -> list[Measurement]:
    out: list[Measurement] = []
    tol = spec.gate.max_regression
    primary = spec.primary_metric if spec.primary_metric in BINARY_METRICS else "roc_auc"
    for key, group in sorted(labels.groups.items()):
        names = BINARY_METRICS if key == "" else (primary,)
        seed = zlib.crc32(key.encode())
        found = binned_metrics(
            group["neg"], group["pos"], names, threshold=reference.threshold, seed=seed
        )
        n = group["neg"].total + group["pos"].total
        for name, (value, low, high) in found.items():
            baseline = reference.baseline.get(name) if key == "" else None
            out.append(
                Measurement(
                    f"performance.{name}",
                    value,
                    key,
                    low=low,
                    high=high,
                    status=_status(name, value, low, high, baseline=baseline, tol=tol),
                    n=n,
                    details={"baseline": baseline} if baseline is not None else {},
                )
            )
        if key == "" and reference.cbpe is not None:
            estimated = cbpe_estimate(reference.cbpe, group["neg"].merge(group["pos"]))
            for name, value in estimated.items():
                if name in found:
                    out.append(
                        Measurement("performance.cbpe_error", value - found[name][0], name, n=n)
                    )
    return out


def _realised_sums(
    labels: LabelSummary, reference: Reference, spec: ServiceSpec
) -> list[Measurement]:
    out: list[Measurement] = []
    tol = spec.gate.max_regression
    for key, group in sorted(labels.groups.items()):
        sums = group["errors"]
        if reference.task is Task.MULTICLASS:
            value = 1.0 - sums.abs_sum / sums.n if sums.n else math.nan
            miss_low, miss_high = wilson_interval(sums.abs_sum, sums.n)
            found = {"accuracy": (value, 1.0 - miss_high, 1.0 - miss_low)}
        else:
            found = {"mae": sums.mae(), "rmse": sums.rmse()}
        for name, (value, low, high) in found.items():
            baseline = reference.baseline.get(name) if key == "" else None
            out.append(
                Measurement(
                    f"performance.{name}",
                    value,
                    key,
                    low=low,
                    high=high,
                    status=_status(name, value, low, high, baseline=baseline, tol=tol),
                    n=sums.n,
                )
            )
    return out


def check_performance(
    window: WindowData, reference: Reference, spec: ServiceSpec
) -> list[Measurement]:
    """Realised and estimated performance, label coverage and delay of one window."""
    out: list[Measurement] = []
    summary = window.summary
    tol = spec.gate.max_regression
    if reference.cbpe is not None and summary is not None and summary.scores is not None:
        estimated = cbpe_estimate(reference.cbpe, summary.scores)
        for name in ESTIMATED:
            value = estimated.get(name, math.nan)
            baseline = reference.baseline.get(name)
            out.append(
                Measurement(
                    f"performance.estimated_{name}",
                    value,
                    status=_status(
                        name, value, value, value, baseline=baseline, tol=max(tol, 0.02)
                    ),
                    n=summary.scores.total,
                    details={"baseline": baseline} if baseline is not None else {},
                )
            )
    labels = window.labels
    if labels is None:
        return out
    answered = summary.answered if summary is not None else labels.labelled
    out.append(
        rate_measurement(
            "performance.label_coverage", labels.labelled, max(answered, labels.labelled), None
        )
    )
    if labels.invalid:
        out.append(
            Measurement("performance.invalid_labels", float(labels.invalid), n=labels.invalid)
        )
    if labels.delay.finite:
        p50, p90 = labels.delay.quantiles(np.array([0.5, 0.9]))
        out.append(Measurement("performance.label_delay_p50_s", float(p50), n=labels.delay.finite))
        out.append(Measurement("performance.label_delay_p90_s", float(p90), n=labels.delay.finite))
    if labels.labelled == 0:
        return out
    if reference.task is Task.BINARY:
        out.extend(_realised_binary(labels, reference, spec))
    else:
        out.extend(_realised_sums(labels, reference, spec))
    return out
