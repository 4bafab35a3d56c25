"""A drift memo hands back the measurements of a window checked with the same profiles."""

from __future__ import annotations

import dataclasses

import pytest

from steadyml.core.monitoring.checks import DriftMemo, check_drift
from steadyml.spec import ServiceSpec, parse_spec
from tests.core.monitoring.helpers import log_frame, reference, window_of, year


@pytest.fixture(scope="module")
def spec() -> ServiceSpec:
    return parse_spec(
        {
            "service": "employment",
            "task": "binary_classification",
            "data": {"source": {"path": "x.parquet"}, "target": "employed"},
        }
    )


def test_a_window_with_the_same_fingerprint_gets_the_same_measurements(spec: ServiceSpec) -> None:
    window = dataclasses.replace(window_of(log_frame(year(2016).head(3000))), fingerprint="a")
    plain = check_drift(window, reference(), spec)
    memo = DriftMemo()
    first = check_drift(window, reference(), spec, memo=memo)
    again = check_drift(window, reference(), spec, memo=memo)
    assert (memo.misses, memo.hits, len(memo)) == (1, 1, 1)
    assert first == plain and again == plain
    assert {m.metric for m in plain} >= {"drift.effect", "prediction_drift.effect"}


def test_the_memo_answers_only_its_own_fingerprint_reference_and_settings(
    spec: ServiceSpec,
) -> None:
    small = window_of(log_frame(year(2016).head(1000)))
    large = window_of(log_frame(year(2016).head(4000)))
    memo = DriftMemo()
    check_drift(dataclasses.replace(small, fingerprint="x"), reference(), spec, memo=memo)
    other = check_drift(dataclasses.replace(large, fingerprint="y"), reference(), spec, memo=memo)
    assert other == check_drift(large, reference(), spec)
    assert other != check_drift(small, reference(), spec)
    twin = dataclasses.replace(reference())  # equal, but another reference object
    check_drift(dataclasses.replace(small, fingerprint="x"), twin, spec, memo=memo)
    strict = spec.model_copy(
        update={"monitors": spec.monitors.model_copy(update={"false_alarm_rate": 0.0001})}
    )
    check_drift(dataclasses.replace(small, fingerprint="x"), reference(), strict, memo=memo)
    assert (memo.hits, memo.misses, len(memo)) == (0, 4, 3)  # the twin's entry replaced x's
    unknown = check_drift(small, reference(), spec, memo=memo)  # no fingerprint: not memoised
    assert (memo.hits, memo.misses, len(memo)) == (0, 4, 3)
    assert unknown == check_drift(small, reference(), spec)


def test_the_memo_keeps_its_most_recent_entries(spec: ServiceSpec) -> None:
    window = window_of(log_frame(year(2016).head(500)))
    memo = DriftMemo(size=2)
    for name in ("a", "b", "a", "c"):
        check_drift(dataclasses.replace(window, fingerprint=name), reference(), spec, memo=memo)
    assert (memo.hits, memo.misses, len(memo)) == (1, 3, 2)
    check_drift(dataclasses.replace(window, fingerprint="a"), reference(), spec, memo=memo)
    check_drift(dataclasses.replace(window, fingerprint="b"), reference(), spec, memo=memo)
    assert (memo.hits, memo.misses) == (2, 4)  # "a" was kept, "b" was dropped
