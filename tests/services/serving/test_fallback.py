"""Fallback strategies: constant, rule, previous model, and the constant as last resort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from steadyml.adapters.plugins import PluginError
from steadyml.services.serving.fallback import Fallback, output_range
from steadyml.spec import FallbackSpec, Task
from tests.services.conftest import make_project

FRAME = pl.DataFrame({"AGEP": [20.0, 70.0, 45.0]})

RULE = """
import polars as pl

def by_age(frame: pl.DataFrame):
    return (frame["AGEP"] < 65).cast(pl.Float64) * 0.8

def broken(frame):
    raise ValueError("no")

def too_big(frame):
    return [2.0] * frame.height

def short(frame):
    return [0.1]
"""


def rule(tmp_path: Path, function: str) -> Fallback:
    (tmp_path / "rules.py").write_text(RULE, encoding="utf-8")
    spec = FallbackSpec(strategy="rule", module="rules.py", function=function, value=0.25)
    return Fallback(spec, Task.BINARY, (0.0, 1.0), tmp_path)


def test_constant() -> None:
    fallback = Fallback(FallbackSpec(value=0.3), Task.BINARY, (0.0, 1.0), Path())
    answer = fallback.answer(FRAME)
    assert answer.values.tolist() == [0.3, 0.3, 0.3]
    assert not answer.last_resort.any()


def test_a_constant_outside_the_range_is_clipped_into_it() -> None:
    assert Fallback(FallbackSpec(value=7.0), Task.BINARY, (0.0, 1.0), Path()).constant == 1.0


def test_rule_gets_the_validated_rows(tmp_path: Path) -> None:
    answer = rule(tmp_path, "by_age").answer(FRAME)
    np.testing.assert_allclose(answer.values, [0.8, 0.0, 0.8])
    assert not answer.last_resort.any()


@pytest.mark.parametrize("function", ["broken", "too_big", "short"])
def test_a_failing_rule_falls_back_to_the_constant(tmp_path: Path, function: str) -> None:
    answer = rule(tmp_path, function).answer(FRAME)
    assert answer.values.tolist() == [0.25, 0.25, 0.25]
    assert answer.last_resort.all()


def test_a_rule_that_cannot_load_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(PluginError):
        rule(tmp_path, "missing_function")


def test_previous_model_without_one_answers_the_constant() -> None:
    spec = FallbackSpec(strategy="previous_model", value=0.4)
    fallback = Fallback(spec, Task.BINARY, (0.0, 1.0), Path(), previous=lambda: None)
    assert fallback.answer(FRAME).values.tolist() == [0.4] * 3


def test_output_range_defaults(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p")
    assert output_range(spec) == (0.0, 1.0)
    ranged = make_project(tmp_path / "q", deployment={"output_range": [0.1, 0.9]})
    assert output_range(ranged) == (0.1, 0.9)
