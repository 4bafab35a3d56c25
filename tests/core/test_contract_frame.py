"""Whole-frame validation: every violation kind, counts, examples, the report."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from steadyml.core.contract import ColumnRule, Contract, FrameReport
from steadyml.core.violations import ViolationKind
from steadyml.errors import ContractViolation, DataError

CONTRACT = Contract(
    columns=(
        ColumnRule("x", "numeric", False, True, 0.0, 10.0, None, 5.0),
        ColumnRule("n", "integer", True, True, 0.0, 100.0, None, 3),
        ColumnRule("c", "categorical", False, True, None, None, ("a", "b"), "a"),
        ColumnRule("b", "boolean", False, True, None, None, None, False),
        ColumnRule("opt", "numeric", True, False, None, None, None, None),
    )
)


def _good(rows: int = 6) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "x": np.linspace(0, 10, rows),
            "n": [i % 50 for i in range(rows)],
            "c": (["a", "b"] * rows)[:rows],
            "b": [True] * rows,
        }
    )


def _kinds(report: FrameReport) -> dict[tuple[str, str], int]:
    return {(v.column, v.kind.value): v.count for v in report.violations}


def test_clean_frame_passes() -> None:
    report = CONTRACT.validate_frame(_good())
    assert report.ok
    assert report.rows == 6
    report.raise_for_violations()  # no error


def test_every_kind_is_counted_with_examples() -> None:
    frame = pl.DataFrame(
        {
            "x": [1.0, None, math.nan, math.inf, -1.0, 11.0, 12.0, 11.0],
            "n": [1.0, 2.5, None, 200.0, 3.0, 4.0, 5.0, 6.0],
            "c": ["a", "b", "z", "z", None, "y", "a", "a"],
            "extra": [1] * 8,
        }
    )
    report = CONTRACT.validate_frame(frame, max_examples=2)
    got = _kinds(report)
    assert got[("b", "missing")] == 8
    assert got[("x", "null")] == 1
    assert got[("x", "not_finite")] == 2
    assert got[("x", "out_of_range")] == 4
    assert got[("n", "wrong_type")] == 1
    assert got[("n", "out_of_range")] == 1
    assert got[("c", "null")] == 1
    assert got[("c", "unseen_category")] == 3
    assert got[("extra", "unknown_column")] == 8
    assert ("n", "null") not in got  # n is nullable
    assert ("opt", "missing") not in got  # opt is optional
    by_key = {(v.column, v.kind.value): v for v in report.violations}
    assert by_key[("x", "out_of_range")].examples == (-1.0, 11.0)  # distinct, in order, <= 2
    assert by_key[("c", "unseen_category")].examples == ("z", "y")
    assert by_key[("x", "null")].examples == (1,)  # row numbers for nulls
    assert by_key[("n", "wrong_type")].examples == (2.5,)
    assert all(v.message.startswith(v.column) for v in report.violations)


def test_counts_match_a_numpy_reference() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(5, 4, 5_000)
    report = CONTRACT.validate_frame(_good(5_000).with_columns(pl.Series("x", x)))
    expected = int(np.sum((x < 0) | (x > 10)))
    assert _kinds(report) == {("x", "out_of_range"): expected}


def test_wrong_dtype_is_reported_once_per_column() -> None:
    frame = _good(3).with_columns(
        pl.Series("x", ["1", "2", None]), pl.Series("b", [1, 0, 1]), pl.Series("c", [1.0, 2, 3])
    )
    report = CONTRACT.validate_frame(frame)
    assert _kinds(report) == {
        ("x", "wrong_type"): 2,
        ("c", "wrong_type"): 3,
        ("b", "wrong_type"): 3,
    }
    assert "String" in report.violations[0].message


def test_integer_columns_are_fine_for_numbers_and_categories() -> None:
    contract = Contract(
        columns=(
            ColumnRule("x", "numeric", False, True, 0.0, 10.0, None, None),
            ColumnRule("code", "categorical", False, True, None, None, ("1", "16"), None),
        )
    )
    frame = pl.DataFrame({"x": [1, 2, 3], "code": [16, 1, 16]})
    assert contract.validate_frame(frame).ok
    bad = contract.validate_frame(pl.DataFrame({"x": [1, 2, 30], "code": [16, 2, 2]}))
    assert _kinds(bad) == {("x", "out_of_range"): 1, ("code", "unseen_category"): 2}
    assert bad.violations[1].examples == ("2",)


def test_categorical_and_enum_dtypes_are_read_as_strings() -> None:
    contract = Contract(
        columns=(ColumnRule("c", "categorical", False, True, None, None, ("a", "b"), None),)
    )
    frame = pl.DataFrame({"c": pl.Series(["a", "q", "b"], dtype=pl.Categorical)})
    assert _kinds(contract.validate_frame(frame)) == {("c", "unseen_category"): 1}
    enum = pl.DataFrame({"c": pl.Series(["a", "b"], dtype=pl.Enum(["a", "b"]))})
    assert contract.validate_frame(enum).ok


def test_ignored_columns_are_not_unknown() -> None:
    frame = _good().with_columns(pl.lit(1).alias("target"), pl.lit(2).alias("id"))
    assert _kinds(CONTRACT.validate_frame(frame, ignore=("target",))) == {
        ("id", "unknown_column"): 6
    }


def test_raise_for_violations_carries_every_violation() -> None:
    frame = _good().with_columns(pl.Series("x", [99.0] * 6), pl.Series("c", ["q"] * 6))
    report = CONTRACT.validate_frame(frame)
    with pytest.raises(ContractViolation) as caught:
        report.raise_for_violations()
    error = caught.value
    assert error.field == "x"
    assert "2 contract rules broken in 6 rows" in error.one_line()
    assert [v["kind"] for v in error.details["violations"]] == ["out_of_range", "unseen_category"]
    json.dumps(error.to_dict())  # the HTTP body is JSON-safe


def test_report_dict_and_markdown() -> None:
    frame = _good(2).with_columns(pl.Series("x", [math.nan, 1.0]), pl.Series("c", ["a|b", "a"]))
    report = CONTRACT.validate_frame(frame)
    data = report.to_dict()
    assert data["ok"] is False
    assert json.loads(json.dumps(data, allow_nan=False))["violations"][0]["examples"] == ["nan"]
    markdown = report.to_markdown()
    assert "| x | not_finite | 1 |" in markdown
    assert "a\\|b" in markdown  # pipes in values do not break the table
    assert "passed" in CONTRACT.validate_frame(_good()).to_markdown()


def test_empty_frame_is_clean() -> None:
    assert CONTRACT.validate_frame(_good(0)).ok


def test_max_examples_zero_keeps_counts() -> None:
    report = CONTRACT.validate_frame(
        _good().with_columns(pl.Series("x", [50.0] * 6)), max_examples=0
    )
    assert report.violations[0].count == 6
    assert report.violations[0].examples == ()


def test_not_a_frame_is_a_data_error() -> None:
    with pytest.raises(DataError, match="DataFrame"):
        CONTRACT.validate_frame({"x": [1]})  # type: ignore[arg-type]


def test_violation_kinds_are_the_shared_vocabulary() -> None:
    report = CONTRACT.validate_frame(pl.DataFrame({"zzz": [1]}))
    assert {v.kind for v in report.violations} <= set(ViolationKind)
