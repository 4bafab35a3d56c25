"""Window summaries, score histograms and label summaries: exact counts, exact merges."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from steadyml.core.monitoring import (
    ErrorSums,
    LabelSummary,
    OutcomeSummary,
    ScoreHistogram,
    WindowSummary,
    label_summary,
    pack,
    summarize,
    unpack,
    wilson_interval,
)
from steadyml.core.monitoring.payloads import decode, encode, merge
from steadyml.core.monitoring.scores import EDGES
from steadyml.errors import DataError
from tests.core.monitoring.helpers import log_frame, year


def test_wilson_interval_matches_scipy() -> None:
    for k, n in ((0, 10), (5, 1000), (37, 120), (120, 120)):
        expected = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        low, high = wilson_interval(k, n)
        assert low == pytest.approx(expected.low, abs=1e-9)
        assert high == pytest.approx(expected.high, abs=1e-9)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_summary_counts_statuses_reasons_flags_and_nan_outputs() -> None:
    frame = log_frame(year(2016).head(1000), nan_share=0.1, seed=3)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 7)
        .then(pl.lit("rejected"))
        .otherwise(pl.col("status"))
        .alias("status"),
        pl.when(pl.int_range(pl.len()) < 7)
        .then(pl.lit("ANC: null; AGEP: wrong_type"))
        .alias("rejection_reason"),
        pl.when(pl.int_range(pl.len()) % 100 == 0)
        .then(pl.lit(["SCHL: unseen_category"]))
        .otherwise(pl.col("flags"))
        .alias("flags"),
    )
    summary = summarize(frame, scores=True)
    nan = frame.get_column("raw_prediction").is_nan().sum()
    assert summary.rows == 1000
    assert summary.status("rejected") == 7
    assert summary.rejections == {"ANC: null": 7, "AGEP: wrong_type": 7}
    assert summary.flags == {"SCHL: unseen_category": 10}
    assert summary.fallback_reasons["nan_output"] == nan == summary.nan_outputs
    assert summary.violations("ANC", ("null", "not_finite")) == (7, 0)
    assert summary.scores is not None and summary.scores.total == summary.answered
    latency = frame.get_column("latency_ms").to_numpy()
    estimate = summary.latency.quantiles(np.array([0.99]))[0]
    rank = (latency <= estimate).mean()
    assert abs(rank - 0.99) <= summary.latency.rank_error + 1e-3  # exact below the sketch size


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 399), st.integers(0, 10))
def test_summaries_of_two_parts_merge_into_the_summary_of_the_whole(cut: int, seed: int) -> None:
    frame = log_frame(year(2016).slice(seed * 400, 400), nan_share=0.2, seed=seed)
    whole = summarize(frame, scores=True)
    parts = summarize(frame.head(cut), scores=True).merge(
        summarize(frame.tail(400 - cut), scores=True)
    )
    left, right = whole.to_dict(), parts.to_dict()
    for raw in (left, right):
        for key in ("latency", "lag"):
            raw[key].pop("kll")
            raw[key].pop("mean")
            raw[key].pop("m2")
        raw["scores"]["sums"] = [round(v, 9) for v in raw["scores"]["sums"]]
    assert left == right
    assert whole.latency.mean == pytest.approx(parts.latency.mean, rel=1e-9)


def test_payloads_round_trip_through_bytes() -> None:
    frame = log_frame(year(2016).head(300))
    summary = summarize(frame, scores=True)
    back = decode("summary", encode(summary))
    assert isinstance(back, WindowSummary) and back.to_dict() == summary.to_dict()
    outcomes = OutcomeSummary.of([1.0, 0.0, 1.0])
    assert decode("outcomes", encode(outcomes)) == outcomes
    with pytest.raises(DataError):
        decode("labels", encode(summary))
    with pytest.raises(DataError):
        unpack(b"not a payload")
    with pytest.raises(DataError):
        merge(summary, outcomes)
    assert unpack(pack("x", {"a": [1, 2]})) == ("x", {"a": [1, 2]})


def test_score_histogram_keeps_counts_and_means_and_ignores_bad_values() -> None:
    values = np.array([0.1, 0.1000001, 0.5, 0.99, np.nan, 1.5, -0.1])
    histogram = ScoreHistogram.of(values)
    assert histogram.total == 4
    back = ScoreHistogram.from_dict(histogram.to_dict())
    assert np.array_equal(back.counts, histogram.counts)
    nonzero = histogram.counts > 0
    assert np.all((histogram.means()[nonzero] >= 0) & (histogram.means()[nonzero] <= 1))
    # 0.5 is a bin edge: scores at 0.5 sit in a bin of their own side of the threshold
    index = int(np.searchsorted(EDGES, 0.5, side="right"))
    assert EDGES[index - 1] == 0.5
    assert histogram.means()[index] == pytest.approx(0.5)


def test_error_sums_match_sklearn_style_formulas() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(10, 3, 2000)
    pred = y + rng.normal(0, 1, 2000)
    a = ErrorSums.of(pred[:700], y[:700]).merge(ErrorSums.of(pred[700:], y[700:]))
    mae, low, high = a.mae()
    assert mae == pytest.approx(np.abs(pred - y).mean(), rel=1e-12)
    assert low < mae < high
    rmse = a.rmse()[0]
    assert rmse == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)), rel=1e-12)
    r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
    assert a.r2() == pytest.approx(r2, rel=1e-9)
    assert ErrorSums.from_dict(a.to_dict()) == a


def test_label_summary_counts_valid_labels_and_skips_wrong_types() -> None:
    rows = pl.DataFrame(
        {
            "prediction": [0.9, 0.2, 0.7, 0.4, 0.6],
            "value": [1.0, 0.0, 2.0, None, None],
            "value_str": [None, None, None, "1", "maybe"],
            "delay_s": [60.0, 120.0, 30.0, 10.0, 5.0],
            "SEX": ["1", "2", "1", "2", "1"],
        }
    )
    summary = label_summary(rows, "binary_classification", classes=("0", "1"), slices=["SEX"])
    assert summary.labelled == 3 and summary.invalid == 2
    assert summary.groups[""]["pos"].total == 2 and summary.groups[""]["neg"].total == 1
    assert summary.groups["SEX=2"]["pos"].total + summary.groups["SEX=2"]["neg"].total == 2
    merged = summary.merge(summary)
    assert merged.labelled == 6
    assert LabelSummary.from_dict(merged.to_dict()).groups["SEX=1"]["pos"].total == 2


def test_label_summary_for_regression_and_multiclass() -> None:
    reg = pl.DataFrame(
        {"prediction": [1.0, 2.0, 3.0], "value": [1.5, 2.0, None], "delay_s": [1.0] * 3}
    )
    summary = label_summary(reg, "regression")
    assert summary.labelled == 2 and summary.groups[""]["errors"].abs_sum == pytest.approx(0.5)
    multi = pl.DataFrame(
        {"label_class": ["a", "b", "c"], "value_str": ["a", "c", "z"], "delay_s": [1.0] * 3}
    )
    summary = label_summary(multi, "multiclass_classification", classes=("a", "b", "c"))
    assert summary.labelled == 2 and summary.invalid == 1
    assert summary.groups[""]["errors"].abs_sum == 1.0  # one miss
