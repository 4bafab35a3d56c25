"""docs/prediction-log.md: its example runs and its tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steadyml.adapters.predlog import (
    FALLBACK_REASONS,
    FEEDBACK_SCHEMA,
    STATUSES,
    fixed_prediction_schema,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "prediction-log.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _table_columns(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8").split(heading, 1)[1]
    table = text.split("\n\n", 2)[1]
    return re.findall(r"^\| `(\w+)` \|", table, re.M)


def test_the_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    example = next(block for block in _python_blocks() if "PredictionLogWriter" in block)
    exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.strip() == '{"positions": {"w0": 1}}'


def test_every_prediction_column_is_documented_in_order() -> None:
    documented = _table_columns("## Prediction record")
    expected = fixed_prediction_schema().names
    expected = [*expected[:-2], "inputs", "features", *expected[-2:]]
    assert documented == expected


def test_every_feedback_column_is_documented_in_order() -> None:
    assert _table_columns("## Feedback record") == FEEDBACK_SCHEMA.names


def test_status_and_fallback_values_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{value}`" in text for value in (*STATUSES, *FALLBACK_REASONS))
