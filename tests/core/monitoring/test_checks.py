"""Every check: the failure it exists for is flagged, clean census traffic is not.

Clean traffic is 2016 census rows against a 2015 reference; each failure is injected
into the same rows (a feature set to null, unseen categories, a unit change, wrong
types, a shifted AGEP, NaN outputs, slow latencies, errors, a label flip, a KPI drop).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from steadyml.core.monitoring import (
    Measurement,
    OutcomeSummary,
    WindowData,
    WindowKey,
    compile_rules,
    label_summary,
    run_checks,
)
from steadyml.core.monitoring.checks import (
    binned_metrics,
    cbpe_estimate,
    check_kpi,
    check_volume,
    kpi_baseline,
    kpi_correlations,
)
from steadyml.core.monitoring.scores import ScoreHistogram
from steadyml.spec import KpiSpec, ServiceSpec, parse_spec
from tests.core.monitoring.helpers import (
    T0,
    WINDOW,
    census,
    log_frame,
    reference,
    score,
    window_of,
    year,
)

ROWS = 6000


@pytest.fixture(scope="module")
def spec() -> ServiceSpec:
    return parse_spec(
        {
            "service": "employment",
            "task": "binary_classification",
            "data": {"source": {"path": "x.parquet"}, "target": "employed"},
            "deployment": {"expected_throughput_rps": 20},
        }
    )


@pytest.fixture(scope="module")
def clean_rows() -> pl.DataFrame:
    return year(2016).head(ROWS)


@pytest.fixture(scope="module")
def clean(spec: ServiceSpec, clean_rows: pl.DataFrame) -> list[Measurement]:
    return run_checks(window_of(log_frame(clean_rows)), reference(), spec)


def find(found: list[Measurement], metric: str, subject: str = "") -> Measurement:
    matches = [m for m in found if m.metric == metric and m.subject == subject]
    assert len(matches) == 1, (metric, subject, [m.key for m in found])
    return matches[0]


def test_clean_traffic_raises_no_check(clean: list[Measurement]) -> None:
    bad = [m.key for m in clean if m.status == "drift"]
    assert bad == []
    assert find(clean, "quality.rejection_rate").value == 0.0
    assert find(clean, "health.nan_rate").status == "ok"
    assert find(clean, "health.latency_p99_ms").status == "ok"
    assert find(clean, "prediction_drift.effect").status == "ok"
    for feature in ("AGEP", "SCHL", "ANC"):
        assert find(clean, "quality.null_rate", feature).status == "ok"
        assert find(clean, "quality.type_error_rate", feature).status == "ok"
    assert find(clean, "quality.unseen_rate", "SCHL").status == "ok"
    assert find(clean, "quality.out_of_range_rate", "AGEP").status == "ok"


# -- data quality ---------------------------------------------------------------------


def test_a_feature_that_turns_null_and_is_refused_is_a_null_spike(
    spec: ServiceSpec, clean_rows: pl.DataFrame
) -> None:
    frame = log_frame(clean_rows)
    broken = pl.int_range(pl.len()) % 3 == 0
    frame = frame.with_columns(
        pl.when(broken).then(pl.lit("rejected")).otherwise(pl.col("status")).alias("status"),
        pl.when(broken).then(pl.lit("ANC: null")).alias("rejection_reason"),
        pl.when(broken).then(None).otherwise(pl.col("inputs")).alias("inputs"),
        pl.when(broken).then(None).otherwise(pl.col("prediction")).alias("prediction"),
    )
    found = run_checks(window_of(frame), reference(), spec)
    nulls = find(found, "quality.null_rate", "ANC")
    assert nulls.status == "drift" and nulls.value == pytest.approx(1 / 3, abs=0.01)
    assert find(found, "quality.rejection_rate").status == "drift"
    assert find(found, "quality.null_rate", "AGEP").status == "ok"


def test_a_feature_that_turns_null_and_is_accepted_is_a_null_spike(
    spec: ServiceSpec, clean_rows: pl.DataFrame
) -> None:
    rows = clean_rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0).then(None).otherwise(pl.col("SCHL")).alias("SCHL")
    )
    found = run_checks(window_of(log_frame(rows)), reference(), spec)
    assert find(found, "quality.null_rate", "SCHL").status == "drift"
    assert find(found, "quality.rejection_rate").status == "ok"


def test_unseen_categories_are_flagged(spec: ServiceSpec, clean_rows: pl.DataFrame) -> None:
    rows = clean_rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 5 == 0)
        .then(pl.lit("99"))
        .otherwise(pl.col("SCHL"))
        .alias("SCHL")
    )
    found = run_checks(window_of(log_frame(rows)), reference(), spec)
    unseen = find(found, "quality.unseen_rate", "SCHL")
    assert unseen.status == "drift" and unseen.value == pytest.approx(0.2, abs=0.01)


def test_a_unit_change_is_out_of_range(spec: ServiceSpec, clean_rows: pl.DataFrame) -> None:
    rows = clean_rows.with_columns(pl.col("AGEP") * 100)
    found = run_checks(window_of(log_frame(rows)), reference(), spec)
    assert find(found, "quality.out_of_range_rate", "AGEP").status == "drift"
    assert find(found, "drift.effect", "AGEP").status == "drift"


def test_values_of_a_wrong_type_are_type_errors(
    spec: ServiceSpec, clean_rows: pl.DataFrame
) -> None:
    rows = clean_rows.with_columns(pl.col("AGEP").cast(pl.String))
    found = run_checks(window_of(log_frame(rows)), reference(), spec)
    errors = find(found, "quality.type_error_rate", "AGEP")
    assert errors.status == "drift" and errors.value == pytest.approx(1.0)


# -- drift ------------------------------------------------------------------------------


def test_a_shifted_age_is_feature_and_prediction_drift(
    spec: ServiceSpec, clean_rows: pl.DataFrame
) -> None:
    rows = clean_rows.with_columns(pl.col("AGEP") + 8)
    found = run_checks(window_of(log_frame(rows)), reference(), spec)
    age = find(found, "drift.effect", "AGEP")
    assert age.status == "drift" and age.value is not None and age.value > 0.12
    assert find(found, "drift.psi", "AGEP").status == "drift"
    assert find(found, "prediction_drift.effect").status in ("warn", "drift")
    assert find(found, "drift.features_drifting").value == 1.0
    assert find(found, "drift.effect", "SEX").status == "ok"


def test_clean_census_years_do_not_drift(clean: list[Measurement]) -> None:
    drift = [m for m in clean if m.metric == "drift.effect"]
    assert len(drift) == 16
    assert all(m.status in ("ok", "warn") for m in drift)
    assert all((m.value or 0) < 0.12 for m in drift)


def test_mean_shift_matches_welch_and_bounds_the_shift(clean_rows: pl.DataFrame) -> None:
    ref_age = census().reference.head(20_000).get_column("AGEP").cast(pl.Float64).to_numpy()
    spread = ref_age.std(ddof=1)
    shifted = clean_rows.with_columns(pl.col("AGEP").cast(pl.Float64) + 0.1 * spread)
    spec = parse_spec(
        {
            "service": "employment",
            "task": "binary_classification",
            "data": {"source": {"path": "x.parquet"}, "target": "employed"},
            "monitors": {"false_alarm_rate": 0.01},
        }
    )
    found = run_checks(window_of(log_frame(shifted)), reference(), spec)
    shift = find(found, "drift.mean_shift", "AGEP")
    cur_age = shifted.get_column("AGEP").to_numpy()
    welch = stats.ttest_ind(cur_age, ref_age, equal_var=False)
    difference = (cur_age.mean() - ref_age.mean()) / spread
    standard_error = difference / welch.statistic
    z = stats.norm.isf(0.01 / 2)  # one numeric feature: no Bonferroni share
    assert shift.details["mean_shift"] == pytest.approx(difference, rel=1e-9)
    assert shift.details["standard_error"] == pytest.approx(standard_error, rel=1e-6)
    assert shift.value == pytest.approx(abs(difference), rel=1e-9)
    assert shift.low == pytest.approx(abs(difference) - z * standard_error, rel=1e-6)
    assert shift.high == pytest.approx(abs(difference) + z * standard_error, rel=1e-6)
    assert shift.n == ROWS
    # the sign is kept in the details; a drop gives the same size
    dropped = clean_rows.with_columns(pl.col("AGEP").cast(pl.Float64) - 0.1 * spread)
    down = find(
        run_checks(window_of(log_frame(dropped)), reference(), spec), "drift.mean_shift", "AGEP"
    )
    assert down.details["mean_shift"] < -0.05
    assert down.value == pytest.approx(-down.details["mean_shift"])


def test_mean_shift_is_only_for_numeric_features(clean: list[Measurement]) -> None:
    subjects = {m.subject for m in clean if m.metric == "drift.mean_shift"}
    assert subjects == {"AGEP"}


def test_a_shift_of_a_fifth_of_a_std_breaks_the_default_mean_shift_rule(
    spec: ServiceSpec, clean_rows: pl.DataFrame, clean: list[Measurement]
) -> None:
    [rule] = [r for r in compile_rules(spec) if r.name == "feature_mean_shift"]
    assert rule.threshold == spec.monitors.mean_shift_warn == 0.03
    assert rule.bound == "low" and rule.severity == "P3" and rule.incident == "feature_drift"
    assert not rule.breached(find(clean, "drift.mean_shift", "AGEP"))
    spread = census().reference.head(20_000).get_column("AGEP").cast(pl.Float64).std()
    assert spread is not None
    shifted = clean_rows.with_columns(pl.col("AGEP").cast(pl.Float64) + 0.2 * spread)
    found = run_checks(window_of(log_frame(shifted)), reference(), spec)
    assert rule.breached(find(found, "drift.mean_shift", "AGEP"))


# -- service health -------------------------------------------------------------------


def test_nan_outputs_and_fallbacks_are_flagged(spec: ServiceSpec, clean_rows: pl.DataFrame) -> None:
    found = run_checks(window_of(log_frame(clean_rows, nan_share=0.07)), reference(), spec)
    nan = find(found, "health.nan_rate")
    assert nan.status == "drift" and nan.value == pytest.approx(0.07, abs=0.01)
    assert find(found, "health.fallback_rate").status == "drift"
    assert find(found, "health.fallback_reason", "nan_output").value == nan.value


def test_slow_latencies_break_the_p99_objective(
    spec: ServiceSpec, clean_rows: pl.DataFrame
) -> None:
    frame = log_frame(clean_rows, latency_scale=40.0)
    found = run_checks(window_of(frame), reference(), spec)
    p99 = find(found, "health.latency_p99_ms")
    latencies = frame.get_column("latency_ms").to_numpy()
    assert p99.status == "drift"
    assert p99.low is not None and p99.high is not None
    assert p99.low <= np.quantile(latencies, 0.99) <= p99.high


def test_errors_break_the_error_rate_objective(spec: ServiceSpec, clean_rows: pl.DataFrame) -> None:
    frame = log_frame(clean_rows).with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0)
        .then(pl.lit("error"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    found = run_checks(window_of(frame), reference(), spec)
    assert find(found, "health.error_rate").status == "drift"


def test_volume_is_judged_on_complete_windows_only(spec: ServiceSpec) -> None:
    frame = log_frame(year(2016).head(100))
    data = replace(window_of(frame), key=WindowKey("*", "5m", T0, T0 + WINDOW))
    ratio = find(check_volume(data, spec), "volume.ratio")
    assert ratio.value == pytest.approx(100 / (20 * 300))
    assert ratio.high is not None and ratio.high < 0.2
    assert check_volume(replace(data, complete=False), spec) == []


# -- performance --------------------------------------------------------------------------


def _labelled(rows: pl.DataFrame, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    y = rows.get_column("employed").cast(pl.Int64).to_numpy()
    return (1 - y if flip else y), score(rows)


def test_binned_metrics_agree_with_sklearn(clean_rows: pl.DataFrame) -> None:
    y, p = _labelled(clean_rows, flip=False)
    negatives, positives = ScoreHistogram.of(p[y == 0]), ScoreHistogram.of(p[y == 1])
    found = binned_metrics(negatives, positives)
    assert found["accuracy"][0] == pytest.approx(accuracy_score(y, p >= 0.5), abs=1e-12)
    assert found["f1"][0] == pytest.approx(f1_score(y, p >= 0.5), abs=1e-12)
    assert found["roc_auc"][0] == pytest.approx(roc_auc_score(y, p), abs=2e-3)
    assert found["log_loss"][0] == pytest.approx(log_loss(y, p), rel=1e-2)
    for value, low, high in found.values():
        assert low <= value <= high


def test_cbpe_from_the_histogram_agrees_with_cbpe_on_rows(clean_rows: pl.DataFrame) -> None:
    cbpe = reference().cbpe
    assert cbpe is not None
    p = score(clean_rows)
    exact = cbpe.estimate(p)
    binned = cbpe_estimate(cbpe, ScoreHistogram.of(p))
    for name in ("accuracy", "f1", "roc_auc"):
        assert binned[name] == pytest.approx(exact[name], abs=5e-3)


@pytest.mark.parametrize("flip", [False, True])
def test_a_label_flip_is_a_performance_drop(
    spec: ServiceSpec, clean_rows: pl.DataFrame, flip: bool
) -> None:
    y, p = _labelled(clean_rows, flip)
    joined = pl.DataFrame({"prediction": p, "value": y.astype(float), "delay_s": 3600.0})
    labels = label_summary(joined, "binary_classification", classes=("0", "1"))
    data = replace(window_of(log_frame(clean_rows)), labels=labels)
    found = run_checks(data, reference(), spec)
    auc = find(found, "performance.roc_auc")
    assert auc.status == ("drift" if flip else "ok")
    assert find(found, "performance.label_coverage").value == pytest.approx(1.0)
    error = find(found, "performance.cbpe_error", "accuracy")
    assert error.value is not None and (abs(error.value) > 0.3) == flip


# -- business KPI -----------------------------------------------------------------------


def _kpi_window(values: np.ndarray) -> WindowData:
    return WindowData(
        WindowKey("1", "1h", T0, T0 + WINDOW), True, outcomes=OutcomeSummary.of(values)
    )


@pytest.mark.parametrize(("rate", "status"), [(0.5, "ok"), (0.3, "drift")])
def test_a_kpi_drop_is_flagged_against_the_baseline(rate: float, status: str) -> None:
    kpi = KpiSpec(name="converted", baseline=0.5, max_drop=0.1)
    values = (np.random.default_rng(0).random(5000) < rate).astype(float)
    found = check_kpi(_kpi_window(values), kpi, kpi_baseline(kpi, []))
    change = find(found, "kpi.change", "converted")
    assert change.status == status
    assert find(found, "kpi.value", "converted").value == pytest.approx(values.mean())


def test_kpi_baseline_and_correlations() -> None:
    kpi = KpiSpec(name="converted")
    assert kpi_baseline(kpi, [0.4, 0.6, float("nan")]) == pytest.approx(0.5)
    assert kpi_baseline(kpi, [0.4]) is None
    rng = np.random.default_rng(1)
    fallback = rng.random(30)
    kpi_values = 0.5 - 0.3 * fallback + rng.normal(0, 0.01, 30)
    found = kpi_correlations(kpi_values, {"health.fallback_rate": fallback, "flat": np.ones(30)})
    assert [m.subject for m in found] == ["health.fallback_rate"]
    assert found[0].value == pytest.approx(np.corrcoef(kpi_values, fallback)[0, 1], abs=1e-12)
