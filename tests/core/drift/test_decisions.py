"""Decisions with the default tolerances on the issue's synthetic cases, at 100k rows.

Bigger sizes (1M to 20M rows) belong to the benchmark; the same properties are checked
here where a test stays fast.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from steadyml.core.drift import CompareSettings, Status, Tolerance, compare
from steadyml.core.profiles import Profile, ProfileView
from tests.core.drift.synthetic import window

ROWS = 100_000
REFERENCE = Profile.for_reference(window(ROWS, seed=1), seed=0).view()
FLAGGED = (Status.WARN, Status.DRIFT)


def _current(case: str, rows: int = ROWS, seed: int = 2) -> ProfileView:
    return REFERENCE.new_profile(seed=seed).update(window(rows, case, seed=seed)).view()


@pytest.mark.parametrize("case", ["none", "trivial"])
def test_no_drift_and_trivial_shifts_are_ok(case: str) -> None:
    result = compare(REFERENCE, _current(case))
    assert result.status is Status.OK, [r.message for r in result.ranked()[:3]]
    assert result.counts()["ok"] == 15


def test_moderate_shift_warns_where_detectable() -> None:
    result = compare(REFERENCE, _current("moderate"))
    numeric, categorical = result["x0"], result["c0"]
    assert numeric.shift_unit == "std"
    assert categorical.shift_unit == "points"
    assert numeric.min_detectable_shift is not None
    assert numeric.min_detectable_shift < 0.2
    assert categorical.min_detectable_shift is not None
    assert categorical.min_detectable_shift < 5
    assert numeric.status in FLAGGED
    assert categorical.status in FLAGGED
    assert result.with_status(*FLAGGED) == ["x0", "c0"]


def test_major_shift_drifts() -> None:
    result = compare(REFERENCE, _current("major"))
    assert result["x0"].status is Status.DRIFT
    assert result["c0"].status is Status.DRIFT
    assert result.with_status(Status.DRIFT) == ["x0", "c0"]
    assert result.status is Status.DRIFT
    assert result.ranked()[0].feature in ("x0", "c0")
    low, high = result["c0"].effect_low, result["c0"].effect_high
    assert low is not None
    assert high is not None
    assert low <= 0.15 <= high
    assert result["x0"].statistics["mean_shift"] == pytest.approx(0.5, abs=0.02)
    assert result["x0"].statistics["wasserstein"] == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("rows", [40, 300, 3_000])
def test_small_windows_do_not_alarm_on_noise(rows: int) -> None:
    flagged = []
    for seed in range(8):
        result = compare(REFERENCE, _current("none", rows, seed=10 + seed))
        flagged += result.with_status(*FLAGGED)
    assert flagged == []


def test_small_windows_report_a_larger_minimum_detectable_shift() -> None:
    small = compare(REFERENCE, _current("none", 300))["x1"]
    large = compare(REFERENCE, _current("none"))["x1"]
    assert small.min_detectable_shift is not None
    assert large.min_detectable_shift is not None
    assert small.min_detectable_shift > 2 * large.min_detectable_shift
    assert small.critical_value is not None
    assert large.critical_value is not None
    assert small.critical_value > 4 * large.critical_value


def test_merged_chunks_give_the_same_decisions_as_the_whole() -> None:
    frame = window(ROWS, "moderate", seed=3)
    whole = compare(REFERENCE, REFERENCE.new_profile(seed=4).update(frame).view())
    views = [
        REFERENCE.new_profile(seed=100 + i).update(part).view()
        for i, part in enumerate(frame.iter_slices(ROWS // 8))
    ]
    assert len(views) == 8
    merged = views[0]
    for view in views[1:]:
        merged = merged.merge(view)
    chunked = compare(REFERENCE, merged)
    for a, b in zip(whole.features, chunked.features, strict=True):
        assert (a.feature, a.status, a.effect, a.p_value, a.critical_value) == (
            b.feature, b.status, b.effect, b.p_value, b.critical_value,
        )  # fmt: skip


def test_prediction_drift_on_model_outputs() -> None:
    rng = np.random.default_rng(5)

    def outputs(rows: int, positive: float) -> pl.DataFrame:
        score = rng.beta(2, 5, size=rows) if positive < 0.5 else rng.beta(3, 4, size=rows)
        label = (rng.random(rows) < positive).astype(np.int64)
        return pl.DataFrame({"score": score, "predicted_class": label})

    reference = Profile.for_reference(
        outputs(50_000, 0.3), categorical=["predicted_class"], seed=0
    ).view()
    same = compare(reference, reference.new_profile(seed=1).update(outputs(50_000, 0.3)).view())
    moved = compare(reference, reference.new_profile(seed=2).update(outputs(50_000, 0.6)).view())
    assert same.status is Status.OK
    assert moved["score"].status is Status.DRIFT
    assert moved["score"].kind == "numeric"
    assert moved["predicted_class"].status is Status.DRIFT
    assert moved["predicted_class"].kind == "categorical"
    assert moved["predicted_class"].effect == pytest.approx(0.3, abs=0.01)


def test_per_feature_tolerances_and_other_metrics() -> None:
    current = _current("moderate")
    strict = compare(REFERENCE, current, tolerances={"x0": Tolerance(warn=0.01, drift=0.05)})
    assert strict["x0"].status is Status.DRIFT
    psi = compare(REFERENCE, current, default_tolerance=Tolerance(0.02, 0.2, "psi"))
    assert psi["x0"].metric == "psi"
    assert psi["x0"].status is Status.WARN
    assert psi["x0"].effect == pytest.approx(psi["x0"].statistics["psi"])
    assert psi["c0"].shift_unit is None  # points are defined for TVD only
    for metric in ("js", "hellinger"):
        result = compare(REFERENCE, current, default_tolerance=Tolerance(0.02, 0.2, metric))
        assert result["x1"].status is Status.OK
        assert result["x0"].status in FLAGGED
    subset = compare(REFERENCE, current, columns=["x0"], settings=CompareSettings(seed=3))
    assert [r.feature for r in subset.features] == ["x0"]
