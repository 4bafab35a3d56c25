"""Multivariate checks on row samples: a domain classifier and MMD with a permutation test.

Univariate checks miss changes in how features move *together*. Both checks here work on
the profiles' uniform row samples (or any two frames):

* **Domain classifier** - a gradient-boosted classifier learns to tell reference rows
  from current rows; its out-of-fold AUC (0.5: indistinguishable) comes with a DeLong
  95 % interval, and permutation importance names the features that separate the
  windows most.
* **MMD** - the maximum mean discrepancy with a Gaussian kernel (median-distance
  bandwidth) on standardised numeric and one-hot categorical features, with a p-value
  from label permutations (exact level, any sample size).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from steadyml.core.drift.report import DomainClassifierResult, MMDResult, MultivariateResult, Status
from steadyml.core.profiles.view import ProfileView

__all__ = ["auc_with_interval", "domain_classifier", "mmd_test", "multivariate_check"]

MIN_ROWS = 50
_MAX_CODES = 250
_ONE_HOT = 20


def auc_with_interval(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """ROC AUC of ``scores`` for ``labels`` (1 positive) and DeLong's 95 % interval."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    n_pos, n_neg = pos.size, neg.size
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    placements_pos = (ranks[:n_pos] - stats.rankdata(pos)) / n_neg
    placements_neg = 1.0 - (ranks[n_pos:] - stats.rankdata(neg)) / n_pos
    auc = float(placements_pos.mean())
    se = float(np.sqrt(placements_pos.var(ddof=1) / n_pos + placements_neg.var(ddof=1) / n_neg))
    return auc, max(auc - 1.96 * se, 0.0), min(auc + 1.96 * se, 1.0)


def _columns(
    reference: pl.DataFrame, current: pl.DataFrame, columns: Sequence[str] | None
) -> list[str]:
    names = list(reference.columns) if columns is None else list(columns)
    return [c for c in names if c in reference.columns and c in current.columns]


def _is_numeric(series: pl.Series) -> bool:
    return series.dtype.is_numeric() and series.dtype != pl.Boolean


def _codes(ref: pl.Series, cur: pl.Series, limit: int) -> tuple[np.ndarray, np.ndarray, int]:
    both = pl.concat([ref.cast(pl.String), cur.cast(pl.String)])
    top = both.drop_nulls().value_counts(sort=True).head(limit).get_column(both.name).to_list()
    mapping = {value: float(code) for code, value in enumerate(top)}
    other = float(len(top))

    def encode(series: pl.Series) -> np.ndarray:
        values = series.cast(pl.String).to_list()
        return np.array(
            [np.nan if v is None else mapping.get(v, other) for v in values], dtype=np.float64
        )

    return encode(ref), encode(cur), len(top) + 1


def _encode_for_trees(
    reference: pl.DataFrame, current: pl.DataFrame, names: list[str]
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    ref_cols: list[np.ndarray] = []
    cur_cols: list[np.ndarray] = []
    categorical: list[bool] = []
    for name in names:
        ref, cur = reference.get_column(name), current.get_column(name)
        if _is_numeric(ref) and _is_numeric(cur):
            ref_cols.append(ref.cast(pl.Float64).to_numpy())
            cur_cols.append(cur.cast(pl.Float64).to_numpy())
            categorical.append(False)
        else:
            a, b, _ = _codes(ref, cur, _MAX_CODES)
            ref_cols.append(a)
            cur_cols.append(b)
            categorical.append(True)
    return np.column_stack(ref_cols), np.column_stack(cur_cols), categorical


def _subsample(frame: pl.DataFrame, rows: int, rng: np.random.Generator) -> pl.DataFrame:
    if frame.height <= rows:
        return frame
    picked: pl.DataFrame = frame[
        np.sort(rng.choice(frame.height, size=rows, replace=False)).tolist()
    ]
    return picked


def domain_classifier(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    folds: int = 3,
    max_rows: int = 5_000,
    warn_auc: float = 0.55,
    drift_auc: float = 0.65,
    seed: int = 0,
) -> DomainClassifierResult:
    """Train a classifier to separate the two windows; report its AUC and top features."""
    rng = np.random.default_rng(seed)
    ref = _subsample(reference, max_rows, rng)
    cur = _subsample(current, max_rows, rng)
    names = _columns(ref, cur, columns)
    if ref.height < MIN_ROWS or cur.height < MIN_ROWS or not names:
        return DomainClassifierResult(
            float("nan"), float("nan"), float("nan"), Status.INSUFFICIENT_DATA,
            f"needs {MIN_ROWS} rows in each sample and a shared column", (), ref.height, cur.height,
        )  # fmt: skip
    x_ref, x_cur, categorical = _encode_for_trees(ref, cur, names)
    x = np.vstack([x_ref, x_cur])
    y = np.concatenate([np.zeros(len(x_ref), dtype=np.int64), np.ones(len(x_cur), dtype=np.int64)])
    scores = np.zeros(len(y))
    drops = np.zeros(len(names))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        model = HistGradientBoostingClassifier(
            max_iter=100, categorical_features=np.array(categorical), early_stopping=False,
            random_state=seed,
        )  # fmt: skip
        model.fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
        base = auc_with_interval(scores[test], y[test])[0]
        for j in range(len(names)):
            shuffled = x[test].copy()
            shuffled[:, j] = rng.permutation(shuffled[:, j])
            drops[j] += base - auc_with_interval(model.predict_proba(shuffled)[:, 1], y[test])[0]
    auc, low, high = auc_with_interval(scores, y)
    ranking = sorted(zip(names, (drops / folds).tolist(), strict=True), key=lambda t: -t[1])
    top = tuple((n, float(v)) for n, v in ranking[:5])
    separated = low > 0.5
    if separated and auc >= drift_auc:
        status, message = Status.DRIFT, f"the windows are separable: AUC {auc:.3f} >= {drift_auc}"
    elif separated and auc >= warn_auc:
        status, message = Status.WARN, f"the windows are partly separable: AUC {auc:.3f}"
    else:
        status, message = Status.OK, f"the windows are hard to tell apart: AUC {auc:.3f}"
    return DomainClassifierResult(auc, low, high, status, message, top, ref.height, cur.height)


def _encode_for_kernel(
    reference: pl.DataFrame, current: pl.DataFrame, names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    ref_cols: list[np.ndarray] = []
    cur_cols: list[np.ndarray] = []
    for name in names:
        ref, cur = reference.get_column(name), current.get_column(name)
        if _is_numeric(ref) and _is_numeric(cur):
            a, b = ref.cast(pl.Float64).to_numpy(), cur.cast(pl.Float64).to_numpy()
            finite = a[np.isfinite(a)]
            center = float(finite.mean()) if finite.size else 0.0
            scale = float(finite.std()) if finite.size > 1 and finite.std() > 0 else 1.0
            for values, out in ((a, ref_cols), (b, cur_cols)):
                z = (values - center) / scale
                out.append(np.where(np.isfinite(z), z, 0.0))
        else:
            a, b, n_codes = _codes(ref, cur, _ONE_HOT)
            for values, out in ((a, ref_cols), (b, cur_cols)):
                codes = np.where(np.isnan(values), n_codes, values).astype(np.int64)
                out.extend((codes == k).astype(np.float64) for k in range(n_codes + 1))
    return np.column_stack(ref_cols), np.column_stack(cur_cols)


def mmd_test(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    permutations: int = 200,
    max_rows: int = 1_000,
    seed: int = 0,
) -> MMDResult | None:
    """Biased MMD² estimate with a Gaussian kernel and a permutation p-value.

    Returns ``None`` when either sample has fewer than 50 rows or no column is shared.
    """
    rng = np.random.default_rng(seed)
    ref = _subsample(reference, max_rows, rng)
    cur = _subsample(current, max_rows, rng)
    names = _columns(ref, cur, columns)
    if ref.height < MIN_ROWS or cur.height < MIN_ROWS or not names:
        return None
    x, y = _encode_for_kernel(ref, cur, names)
    z = np.vstack([x, y])
    squared = np.sum(z * z, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * z @ z.T, 0.0)
    upper = distances[np.triu_indices_from(distances, k=1)]
    median = float(np.median(upper[upper > 0])) if np.any(upper > 0) else 1.0
    kernel = np.exp(-distances / median)
    n, m = len(x), len(y)
    weights = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    observed = float(weights @ kernel @ weights)
    shuffled = np.stack([rng.permutation(weights) for _ in range(permutations)])
    null = np.einsum("pi,pi->p", shuffled @ kernel, shuffled)
    p_value = float((1 + np.count_nonzero(null >= observed - 1e-15)) / (1 + permutations))
    return MMDResult(observed, p_value, float(np.sqrt(median / 2.0)), permutations, n, m)


def multivariate_check(
    reference: ProfileView, current: ProfileView, *, seed: int = 0
) -> MultivariateResult:
    """Both checks on the row samples of two profile views."""
    ref, cur = reference.sample_frame(), current.sample_frame()
    names = [c for c in reference.schema.names if c in current.schema]
    notes: list[str] = []
    if ref.height < MIN_ROWS or cur.height < MIN_ROWS:
        notes.append(f"row samples have {ref.height} and {cur.height} rows; need {MIN_ROWS} each")
        return MultivariateResult(None, None, tuple(notes))
    return MultivariateResult(
        domain_classifier(ref, cur, columns=names, seed=seed),
        mmd_test(ref, cur, columns=names, seed=seed),
        tuple(notes),
    )
