"""Domain classifier and MMD on row samples."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from steadyml.core.drift import Status, auc_with_interval, compare, domain_classifier, mmd_test
from steadyml.core.profiles import Profile

RNG = np.random.default_rng(0)


def _correlated(rows: int, rho: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = rho * a + np.sqrt(1 - rho * rho) * rng.normal(size=rows)
    return pl.DataFrame({"a": a, "b": b, "c": rng.choice(["x", "y"], size=rows)})


def test_auc_matches_sklearn_and_the_interval_is_sane() -> None:
    labels = RNG.integers(0, 2, size=2_000)
    scores = RNG.normal(size=2_000) + 0.5 * labels
    scores[:50] = 0.0  # ties
    auc, low, high = auc_with_interval(scores, labels)
    assert auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert low < auc < high
    assert high - low < 0.1


def test_domain_classifier_sees_a_change_in_correlation_only() -> None:
    # same marginals, different joint distribution: univariate checks cannot see it
    reference, current = _correlated(3_000, 0.0, 1), _correlated(3_000, 0.9, 2)
    shifted = domain_classifier(reference, current, seed=0)
    assert shifted.status is Status.DRIFT
    assert shifted.auc > 0.65
    assert shifted.auc_low > 0.5
    assert {name for name, _ in shifted.top_features[:2]} == {"a", "b"}
    same = domain_classifier(reference, _correlated(3_000, 0.0, 3), seed=0)
    assert same.status is Status.OK
    assert abs(same.auc - 0.5) < 0.05


def test_mmd_matches_a_direct_computation_and_detects_shift() -> None:
    reference = pl.DataFrame({"v": RNG.normal(size=60)})
    current = pl.DataFrame({"v": RNG.normal(1.0, 1.0, size=70)})
    result = mmd_test(reference, current, permutations=100, seed=0)
    assert result is not None
    x = (reference["v"].to_numpy() - reference["v"].mean()) / reference["v"].to_numpy().std()
    y = (current["v"].to_numpy() - reference["v"].mean()) / reference["v"].to_numpy().std()
    z = np.concatenate([x, y])
    d2 = (z[:, None] - z[None, :]) ** 2
    median = np.median(d2[np.triu_indices(z.size, k=1)])
    k = np.exp(-d2 / median)
    n, m = x.size, y.size
    direct = k[:n, :n].sum() / n**2 + k[n:, n:].sum() / m**2 - 2 * k[:n, n:].sum() / (n * m)
    assert result.mmd2 == pytest.approx(direct, rel=1e-9)
    assert result.p_value < 0.05
    null = mmd_test(reference, pl.DataFrame({"v": RNG.normal(size=70)}), permutations=100, seed=0)
    assert null is not None
    assert null.p_value > 0.01
    assert mmd_test(reference.head(10), current) is None


def test_multivariate_check_from_profile_samples() -> None:
    reference = Profile.for_reference(_correlated(4_000, 0.0, 4), sample_size=1_500, seed=0).view()
    current = reference.new_profile(seed=1).update(_correlated(4_000, 0.9, 5)).view()
    result = compare(reference, current, multivariate=True)
    assert result.multivariate is not None
    assert result.multivariate.domain_classifier is not None
    assert result.multivariate.domain_classifier.status is Status.DRIFT
    assert result.multivariate.mmd is not None
    assert result.multivariate.mmd.p_value < 0.05
    assert {r.status for r in result.features} == {Status.OK}  # univariate: nothing moved
    assert result.status is Status.DRIFT
    assert result.to_dict()["multivariate"]["domain_classifier"]["status"] == "drift"
    tiny = reference.new_profile().update(_correlated(20, 0.0, 6)).view()
    few = compare(reference, tiny, multivariate=True).multivariate
    assert few is not None
    assert few.domain_classifier is None
    assert few.notes


def test_domain_classifier_needs_rows() -> None:
    result = domain_classifier(_correlated(20, 0.0, 1), _correlated(500, 0.0, 2))
    assert result.status is Status.INSUFFICIENT_DATA
    assert result.to_dict()["auc"] is None  # NaN is not passed on
