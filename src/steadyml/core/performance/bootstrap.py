"""Bootstrap confidence intervals of metrics, and the paired bootstrap test of two models.

Resampling is vectorized: each round draws ``n`` row indices with replacement
(``rng.integers(0, n, size=n)``, rounds drawn in chunks from one
``numpy.random.default_rng(seed)``, which gives the same numbers as drawing round by
round), the draws become a matrix of counts of shape ``(chunk, n)``, and every metric
kernel evaluates all rounds of the chunk at once with the counts as weights. Memory is
bounded by the chunk size, not by ``rounds``.

Intervals are percentile intervals around the point estimate computed on all rows.
Rounds in which a metric is undefined (for example a resample with one class for ROC
AUC) are left out; if no round is defined the bounds are NaN.

Examples
--------
>>> import numpy as np
>>> from steadyml.spec import Task
>>> rng = np.random.default_rng(1)
>>> y = rng.integers(0, 2, 400)
>>> p = np.clip(0.3 * y + 0.7 * rng.random(400), 0, 1)
>>> ci = bootstrap_interval(Task.BINARY, "roc_auc", y, p, rounds=200)
>>> ci.low < ci.estimate < ci.high
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from steadyml.core.performance.inputs import Matrix, Prepared, Vector, prepare
from steadyml.core.performance.metrics import Metric, get_metric, metric_names
from steadyml.errors import ConfigError, DataError
from steadyml.spec import Task

__all__ = [
    "Interval",
    "PairedComparison",
    "bootstrap_interval",
    "bootstrap_intervals",
    "check_bootstrap_settings",
    "interval_from_replicates",
    "paired_bootstrap",
    "prepared_intervals",
    "replicates",
    "resample_counts",
]

CHUNK_ELEMENTS = 1 << 18
"""Upper bound on ``rounds x rows`` per chunk (2 MiB per float64 matrix: cache-friendly)."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate
        The metric on all rows.
    low, high
        Percentile bootstrap bounds; NaN when no resample defines the metric.
    level
        Confidence level, e.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    level: float

    def to_dict(self) -> dict[str, float]:
        """The interval as a flat dict (``estimate``, ``low``, ``high``, ``level``)."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}


@dataclass(frozen=True)
class PairedComparison:
    """Result of a paired bootstrap comparison of a candidate with a champion.

    Attributes
    ----------
    metric
        The metric compared.
    candidate, champion
        The metric of each model on all rows.
    delta
        Improvement of the candidate, oriented so that positive means better whatever
        the metric's direction (``candidate - champion``, or ``champion - candidate``
        for a loss such as rmse).
    low, high
        Percentile bootstrap interval of ``delta``.
    p_value
        One-sided bootstrap p-value of H0: ``delta <= min_effect``.
    prob_better
        Share of bootstrap rounds in which the candidate is strictly better.
    """

    metric: str
    candidate: float
    champion: float
    delta: float
    low: float
    high: float
    p_value: float
    prob_better: float

    def to_dict(self) -> dict[str, float | str]:
        """The comparison as a flat dict of its fields."""
        return {
            "metric": self.metric,
            "candidate": self.candidate,
            "champion": self.champion,
            "delta": self.delta,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "prob_better": self.prob_better,
        }


def check_bootstrap_settings(rounds: int, level: float, seed: int) -> None:
    """Raise a ConfigError naming ``rounds``, ``level`` or ``seed`` if one is invalid."""
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer) or rounds < 1:
        raise ConfigError("rounds", rounds, "use a whole number of bootstrap rounds >= 1")
    if not (isinstance(level, float | int) and 0.0 < float(level) < 1.0):
        raise ConfigError("level", level, "use a confidence level strictly between 0 and 1")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError("seed", seed, "use a non-negative integer seed")


def resample_counts(n: int, rounds: int, rng: np.random.Generator) -> Iterator[Matrix]:
    """Yield bootstrap count matrices, chunk by chunk.

    Parameters
    ----------
    n
        Number of rows.
    rounds
        Total number of bootstrap rounds.
    rng
        Source of randomness; round ``r`` uses the ``r``-th draw of
        ``rng.integers(0, n, size=n)``.

    Yields
    ------
    numpy.ndarray
        Float64 matrix of shape ``(chunk, n)``: how often each row is drawn in each
        round of the chunk (every row sums to ``n``).
    """
    per_chunk = max(1, CHUNK_ELEMENTS // max(n, 1))
    done = 0
    while done < rounds:
        size = min(per_chunk, rounds - done)
        draws = rng.integers(0, n, size=(size, n))
        draws += (np.arange(size) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n)
        yield counts.reshape(size, n).astype(np.float64)
        done += size


def replicates(
    prepared: Sequence[Prepared], metrics: Sequence[Metric], rounds: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Bootstrap replicates of several metrics for several models on shared resamples.

    Every model in ``prepared`` (same rows, e.g. candidate and champion scores) is
    evaluated on the *same* resampled rows in each round.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(prepared), len(metrics), rounds)``.
    """
    out = np.empty((len(prepared), len(metrics), rounds))
    start = 0
    for counts in resample_counts(prepared[0].n, rounds, rng):
        stop = start + counts.shape[0]
        for i, data in enumerate(prepared):
            for j, metric in enumerate(metrics):
                out[i, j, start:stop] = metric(data, counts)
        start = stop
    return out


def _bounds(values: Vector, level: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def interval_from_replicates(estimate: float, values: Vector, level: float) -> Interval:
    """The percentile interval of bootstrap ``values`` around ``estimate``."""
    low, high = _bounds(values, level)
    return Interval(estimate=float(estimate), low=low, high=high, level=float(level))


def prepared_intervals(
    data: Prepared, metrics: Sequence[Metric], rounds: int, level: float, rng: np.random.Generator
) -> dict[str, Interval]:
    """Intervals of ``metrics`` on already prepared data (used per slice)."""
    estimates = [float(m(data, np.ones((1, data.n)))[0]) for m in metrics]
    reps = replicates([data], metrics, rounds, rng)[0]
    return {
        m.name: interval_from_replicates(est, reps[j], level)
        for j, (m, est) in enumerate(zip(metrics, estimates, strict=True))
    }


def bootstrap_intervals(
    task: Task | str,
    y_true: object,
    y_score: object,
    *,
    metrics: Sequence[str] | None = None,
    rounds: int = 500,
    level: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, Interval]:
    """Bootstrap confidence intervals of several metrics, on shared resamples.

    Parameters
    ----------
    task, y_true, y_score, threshold
        As for :func:`~steadyml.core.performance.metrics.compute_metrics`.
    metrics
        Metric names; default every metric of the task.
    rounds
        Number of bootstrap resamples.
    level
        Confidence level of the two-sided percentile interval.
    seed
        Seed of ``numpy.random.default_rng``; same seed, same intervals.

    Returns
    -------
    dict of str to Interval
        One interval per metric; each estimate equals ``compute_metrics``.
    """
    check_bootstrap_settings(rounds, level, seed)
    chosen = [get_metric(task, m) for m in (metrics or metric_names(task))]
    data = prepare(task, y_true, y_score, threshold=threshold)
    return prepared_intervals(data, chosen, int(rounds), float(level), np.random.default_rng(seed))


def bootstrap_interval(
    task: Task | str,
    metric: str,
    y_true: object,
    y_score: object,
    *,
    rounds: int = 500,
    level: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> Interval:
    """Bootstrap confidence interval of one metric; see :func:`bootstrap_intervals`."""
    found = bootstrap_intervals(
        task,
        y_true,
        y_score,
        metrics=[metric],
        rounds=rounds,
        level=level,
        seed=seed,
        threshold=threshold,
    )
    return found[metric]


def paired_bootstrap(
    task: Task | str,
    metric: str,
    y_true: object,
    score_candidate: object,
    score_champion: object,
    *,
    rounds: int = 500,
    level: float = 0.95,
    seed: int = 0,
    min_effect: float = 0.0,
    threshold: float = 0.5,
) -> PairedComparison:
    """Paired bootstrap test: is the candidate better than the champion on the same rows?

    Each round resamples the rows once and evaluates *both* models on that resample,
    so the test sees the models' difference, not the noise shared by both.

    Parameters
    ----------
    task, metric
        The task and the metric to compare.
    y_true
        Labels of the shared held-out rows.
    score_candidate, score_champion
        Each model's scores on those rows.
    rounds, level, seed
        Bootstrap settings, as for :func:`bootstrap_intervals`.
    min_effect
        Smallest improvement that counts, in the metric's units, oriented like
        ``delta``. A negative value gives a non-inferiority test (H0: the candidate
        is worse by more than ``-min_effect``).
    threshold
        Binary decision threshold.

    Returns
    -------
    PairedComparison
        ``p_value = (1 + #{rounds with delta* <= min_effect}) / (1 + #defined rounds)``.
        Identical models give ``delta = 0`` and ``p_value = 1``.
    """
    check_bootstrap_settings(rounds, level, seed)
    if not math.isfinite(float(min_effect)):
        raise ConfigError("min_effect", min_effect, "use a finite minimum effect")
    entry = get_metric(task, metric)
    candidate = prepare(task, y_true, score_candidate, threshold=threshold)
    champion = prepare(task, y_true, score_champion, threshold=threshold)
    if candidate.score.shape != champion.score.shape:
        raise DataError(
            "score_champion",
            f"shape {champion.score.shape}",
            f"score both models on the same rows (candidate shape {candidate.score.shape})",
        )
    sign = 1.0 if entry.higher_is_better else -1.0
    ones = np.ones((1, candidate.n))
    cand_value = float(entry(candidate, ones)[0])
    champ_value = float(entry(champion, ones)[0])
    reps = replicates([candidate, champion], [entry], int(rounds), np.random.default_rng(seed))
    deltas = sign * (reps[0, 0] - reps[1, 0])
    finite = deltas[np.isfinite(deltas)]
    low, high = _bounds(finite, float(level))
    if finite.size:
        p_value = float((1 + np.count_nonzero(finite <= min_effect)) / (1 + finite.size))
        prob_better = float(np.mean(finite > 0.0))
    else:
        p_value = prob_better = math.nan
    return PairedComparison(
        metric=metric,
        candidate=cand_value,
        champion=champ_value,
        delta=sign * (cand_value - champ_value),
        low=low,
        high=high,
        p_value=p_value,
        prob_better=prob_better,
    )
