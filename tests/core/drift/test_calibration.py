"""Calibration by replay, bootstrap intervals, and Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from steadyml.core.drift import (
    benjamini_hochberg,
    bootstrap_interval,
    population_stability_index,
    replay,
    total_variation,
)
from steadyml.core.drift.calibration import GAUSSIAN_MIN_EXPECTED, resample

PROBS = np.array([0.3, 0.25, 0.2, 0.1, 0.08, 0.05, 0.02])


@pytest.mark.parametrize(("n_ref", "n_cur"), [(5_000, 300), (20_000, 20_000), (2_000, 1_000_000)])
def test_false_alarm_rate_is_close_to_target(n_ref: int, n_cur: int) -> None:
    """Windows drawn from the reference's own population alarm at about the target rate."""
    rng = np.random.default_rng(n_cur)
    alpha, trials = 0.05, 400
    alarms = 0
    for _ in range(trials):
        reference = rng.multinomial(n_ref, PROBS)
        current = rng.multinomial(n_cur, PROBS)
        null = replay(reference, n_cur, total_variation, rng, replicates=300)
        alarms += null.p_value(float(total_variation(reference, current))) < alpha
    # 400 trials at 5 %: a binomial 99.9 % band is about [2 %, 9 %]
    assert 0.015 <= alarms / trials <= 0.095


def test_critical_value_tracks_window_size() -> None:
    rng = np.random.default_rng(0)
    reference = rng.multinomial(100_000, PROBS)
    small = replay(reference, 200, total_variation, rng)
    large = replay(reference, 2_000_000, total_variation, rng)
    assert small.critical_value(0.001) > 5 * large.critical_value(0.001)
    assert small.detection_limit(0.001) > small.critical_value(0.001)
    assert 0.0 <= large.p_value(0.5) < 1e-12


def test_gamma_tail_matches_the_empirical_quantile() -> None:
    rng = np.random.default_rng(1)
    reference = rng.multinomial(10_000, PROBS)
    null = replay(reference, 1_000, population_stability_index, rng, replicates=400)
    draws = population_stability_index(
        rng.multinomial(10_000, reference / reference.sum(), size=20_000),
        rng.multinomial(1_000, reference / reference.sum(), size=20_000),
    )
    empirical = float(np.quantile(draws, 0.99))
    # the 99 % point of the fitted gamma is within 15 % of 20,000 direct replays
    assert null.critical_value(0.01) == pytest.approx(empirical, rel=0.15)


def test_constant_reference_has_a_degenerate_null() -> None:
    rng = np.random.default_rng(2)
    null = replay(np.array([0, 500, 0, 0]), 100, total_variation, rng)
    assert null.degenerate
    assert null.critical_value(0.001) == 0.0
    assert null.p_value(0.0) == 1.0
    assert null.p_value(0.01) == 0.0


@pytest.mark.parametrize("moved", [0.0, 0.05, 0.15])
def test_bootstrap_interval_covers_the_true_effect(moved: float) -> None:
    """Approximate 95 % intervals: at least 80 % coverage of the true TVD in 80 trials
    (bootstrap intervals of distances under-cover a little), and with no change the
    interval reaches down to 0 ("no change" cannot be excluded) nearly always, thanks to
    the inverted null test."""
    rng = np.random.default_rng(3)
    shifted = PROBS + np.array([moved, -moved, 0, 0, 0, 0, 0])
    truth = float(total_variation(PROBS, shifted))
    covered = reaches_zero = 0
    for _ in range(80):
        reference = rng.multinomial(20_000, PROBS)
        current = rng.multinomial(5_000, shifted)
        null = replay(reference, 5_000, total_variation, rng, replicates=200)
        low, high = bootstrap_interval(reference, current, total_variation, rng, null=null)
        assert 0.0 <= low <= high
        covered += low <= truth <= high
        reaches_zero += low == 0.0
    if moved:
        assert covered >= 64
        assert reaches_zero == 0
    else:
        assert reaches_zero >= 72


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(4).uniform(size=30) ** 3
    rejected, adjusted = benjamini_hochberg(p.tolist(), 0.05)
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(adjusted, expected, rtol=1e-12)
    np.testing.assert_array_equal(rejected, expected <= 0.05)
    empty_rejected, empty_adjusted = benjamini_hochberg([], 0.05)
    assert empty_rejected.size == 0
    assert empty_adjusted.size == 0


def test_resample_draws_exactly_when_a_bin_expects_few_rows() -> None:
    rng = np.random.default_rng(3)
    probs = np.array([0.5, 0.4999, 0.0001])
    draws = resample(10_000, probs, 50, rng)  # 1 expected row in the last bin
    assert np.array_equal(draws, np.round(draws))
    assert (draws.sum(axis=1) == 10_000).all()


def test_gaussian_resampling_matches_the_multinomial() -> None:
    rng = np.random.default_rng(4)
    probs = np.asarray(PROBS, dtype=np.float64)
    total = 200_000
    assert total * probs.min() >= GAUSSIAN_MIN_EXPECTED
    gaussian = resample(total, probs, 20_000, rng)
    exact = rng.multinomial(total, probs, size=20_000)
    assert not np.array_equal(gaussian, np.round(gaussian))  # the normal limit was drawn
    np.testing.assert_allclose(gaussian.sum(axis=1), total, rtol=1e-9)
    np.testing.assert_allclose(gaussian.mean(axis=0), exact.mean(axis=0), rtol=2e-3)
    theory = total * (np.diag(probs) - np.outer(probs, probs))
    for draws in (gaussian, exact):  # both within sampling error of n (diag(p) - p p^T)
        np.testing.assert_allclose(np.diag(np.cov(draws.T)), np.diag(theory), rtol=0.05)
        sd = np.sqrt(np.diag(theory))
        np.testing.assert_allclose(np.corrcoef(draws.T), theory / np.outer(sd, sd), atol=0.03)
    # and the null of the decision statistic agrees with one built on exact draws
    reference = rng.multinomial(total, probs)
    null = replay(reference, 1_000_000, total_variation, rng, replicates=2_000)
    ref_probs = reference / reference.sum()
    direct = total_variation(
        rng.multinomial(total, ref_probs, size=2_000),
        rng.multinomial(1_000_000, ref_probs, size=2_000),
    )
    assert abs(null.mean - float(np.mean(direct))) < 0.03 * float(np.mean(direct))
    assert abs(null.sd - float(np.std(direct, ddof=1))) < 0.08 * float(np.std(direct, ddof=1))
