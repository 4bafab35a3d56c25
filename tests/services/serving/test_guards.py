"""Output guards and the model runner: bad outputs and slow calls never get through."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from steadyml.services.serving.guards import (
    MODEL_ERROR,
    NAN_OUTPUT,
    OK,
    OUT_OF_RANGE,
    ModelRunner,
    ModelTimeout,
    guard_scores,
)
from steadyml.spec import Task


def test_binary_guard_flags_nan_inf_and_out_of_range_rows() -> None:
    scores = np.array([0.2, np.nan, np.inf, -np.inf, 1.5, -0.1, 1.0, 0.0])
    guarded = guard_scores(scores, 8, Task.BINARY, (0.0, 1.0), 2)
    want = [OK, NAN_OUTPUT, NAN_OUTPUT, NAN_OUTPUT, OUT_OF_RANGE, OUT_OF_RANGE, OK, OK]
    assert guarded.reasons.tolist() == want
    np.testing.assert_array_equal(guarded.raw, scores)


@pytest.mark.parametrize(
    "scores",
    [
        np.zeros(3),  # one row short
        np.zeros((4, 2)),  # a matrix where a vector is expected
        "not numbers",
        None,
        [[0.1], [0.2]],
    ],
)
def test_a_malformed_output_fails_every_row_as_model_error(scores: object) -> None:
    guarded = guard_scores(scores, 4, Task.BINARY, (0.0, 1.0), 2)
    assert guarded.reasons.tolist() == [MODEL_ERROR] * 4
    assert np.isnan(guarded.raw).all()


def test_a_column_vector_is_accepted_as_a_vector() -> None:
    guarded = guard_scores(np.array([[0.3], [0.6]]), 2, Task.BINARY, (0.0, 1.0), 2)
    assert guarded.reasons.tolist() == [OK, OK]
    np.testing.assert_array_equal(guarded.raw, [0.3, 0.6])


def test_regression_without_a_range_only_guards_finiteness() -> None:
    guarded = guard_scores(np.array([1e9, -5.0, np.nan]), 3, Task.REGRESSION, None, 0)
    assert guarded.reasons.tolist() == [OK, OK, NAN_OUTPUT]


def test_multiclass_rows_are_guarded_on_every_class_and_pick_the_best() -> None:
    proba = np.array([[0.1, 0.7, 0.2], [0.5, np.nan, 0.5], [0.2, 0.2, 1.6], [0.6, 0.3, 0.1]])
    guarded = guard_scores(proba, 4, Task.MULTICLASS, (0.0, 1.0), 3)
    assert guarded.reasons.tolist() == [OK, NAN_OUTPUT, OUT_OF_RANGE, OK]
    assert guarded.picks is not None
    assert guarded.picks[[0, 3]].tolist() == [1, 0]
    np.testing.assert_allclose(guarded.raw[[0, 3]], [0.7, 0.6])
    assert np.isnan(guarded.raw[1])
    assert (
        guard_scores(proba[:, :2], 4, Task.MULTICLASS, None, 3).reasons.tolist()
        == [MODEL_ERROR] * 4
    )


def test_the_runner_returns_results_and_passes_exceptions_through() -> None:
    runner = ModelRunner()
    try:
        assert runner.run(lambda: 41 + 1, timeout=1.0) == 42
        with pytest.raises(ZeroDivisionError):
            runner.run(lambda: 1 / 0, timeout=1.0)
        assert threading.current_thread().name != "steadyml-model"
    finally:
        runner.close()


def test_a_slow_call_times_out_and_the_runner_stays_busy_until_it_returns() -> None:
    runner = ModelRunner()
    release = threading.Event()
    try:
        started = time.perf_counter()
        with pytest.raises(ModelTimeout):
            runner.run(release.wait, timeout=0.05)
        assert time.perf_counter() - started < 0.5
        assert runner.busy
        with pytest.raises(ModelTimeout, match="still busy"):
            runner.run(lambda: 1, timeout=1.0)
        release.set()
        deadline = time.monotonic() + 2
        while runner.busy and time.monotonic() < deadline:
            time.sleep(0.005)
        assert runner.run(lambda: 2, timeout=1.0) == 2
        with pytest.raises(ModelTimeout, match="deadline had passed"):
            runner.run(lambda: 3, timeout=0.0)
    finally:
        release.set()
        runner.close()
