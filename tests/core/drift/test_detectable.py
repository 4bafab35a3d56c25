"""Minimum detectable shift on features with spikes (discrete levels, zero-inflation)."""

from __future__ import annotations

import itertools

import numpy as np

from steadyml.core.drift import Status, compare
from steadyml.core.drift.detectable import numeric_shift_for_effect
from steadyml.core.drift.metrics import METRICS
from steadyml.core.profiles import Profile


def test_count_feature_with_spike_bins_is_compared() -> None:
    # Poisson(4): levels 2..6 each hold more than a twentieth of the rows, so each gets
    # a one-ulp bin whose shifted edges coincide; this used to raise from the sketch
    rng = np.random.default_rng(0)
    reference = Profile.for_reference({"x": rng.poisson(4.0, 20_000)}, seed=1).view()
    same = reference.new_profile(seed=2).update({"x": rng.poisson(4.0, 20_000)}).view()
    moved = reference.new_profile(seed=3).update({"x": rng.poisson(4.0, 20_000) + 1}).view()
    assert compare(reference, same)["x"].status is Status.OK
    result = compare(reference, moved)["x"]
    assert result.status is Status.DRIFT
    assert result.min_detectable_shift is not None
    assert 0.0 <= result.min_detectable_shift < 1.0


def test_shift_for_effect_on_zero_inflated_feature_is_monotone() -> None:
    rng = np.random.default_rng(4)
    values = np.where(rng.random(50_000) < 0.4, 0.0, rng.gamma(2.0, 3.0, 50_000))
    reference = Profile.for_reference({"x": values}, seed=5).view()
    summary = reference.numeric("x")
    edges = reference.schema.columns[0].edges
    assert any(np.nextafter(a, np.inf) == b for a, b in itertools.pairwise(edges))
    shifts = [numeric_shift_for_effect(summary, edges, METRICS["tvd"], e) for e in (0.05, 0.2)]
    assert shifts[0] is not None and shifts[1] is not None
    assert 0.0 < shifts[0] < shifts[1]
