"""Contract inference, on the bundled census data and on small frames."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from steadyml.core.contract import Contract
from steadyml.datasets import CATEGORICAL_FEATURES, FEATURES, Employment, load_employment
from steadyml.errors import DataError, NotFoundError


@pytest.fixture(scope="module")
def census() -> Employment:
    return load_employment()


@pytest.fixture(scope="module")
def contract(census: Employment) -> Contract:
    return Contract.infer(census.reference, FEATURES)


def test_census_kinds_ranges_and_categories(census: Employment, contract: Contract) -> None:
    assert contract.names == FEATURES
    age = contract.column("AGEP")
    ages = census.reference["AGEP"].to_numpy()
    span = ages.max() - ages.min()
    assert age.kind == "numeric"
    assert age.minimum == pytest.approx(ages.min() - 0.1 * span, abs=1e-12)
    assert age.maximum == pytest.approx(ages.max() + 0.1 * span, abs=1e-12)
    # the imputation default is the median, checked against numpy
    assert age.default == pytest.approx(float(np.median(ages)), abs=1e-12)
    for name in CATEGORICAL_FEATURES:
        rule = contract.column(name)
        observed = set(census.reference[name].unique().to_list())
        assert rule.kind == "categorical"
        assert rule.categories is not None
        assert set(rule.categories) == observed
        assert len(rule.categories) == len(observed)
        mode = census.reference[name].value_counts(sort=True).row(0)[0]
        assert rule.default == mode
    assert all(rule.required and not rule.nullable for rule in contract.columns)
    # integer codes are ordered by value, not as text
    assert contract.column("SCHL").categories == tuple(str(code) for code in range(25))


def test_reference_year_validates_clean(census: Employment, contract: Contract) -> None:
    report = contract.validate_frame(census.reference.select(FEATURES))
    assert report.ok, report.summary()
    assert report.rows == census.reference.height


def test_later_years_are_mostly_clean(census: Employment, contract: Contract) -> None:
    report = contract.validate_frame(census.analysis, ignore=("id", "year"))
    bad = sum(v.count for v in report.violations)
    assert bad <= 0.01 * census.analysis.height
    assert all(v.column in FEATURES for v in report.violations)


def test_dtypes_map_to_kinds() -> None:
    frame = pl.DataFrame(
        {
            "f": [1.5, 2.5, None],
            "i": [1, 2, 3],
            "s": ["a", "b", "a"],
            "c": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
            "b": [True, False, True],
        }
    )
    contract = Contract.infer(frame, ["f", "i", "s", "c", "b"])
    kinds = {rule.name: rule.kind for rule in contract.columns}
    assert kinds == {
        "f": "numeric",
        "i": "integer",
        "s": "categorical",
        "c": "categorical",
        "b": "boolean",
    }
    assert contract.column("f").nullable
    assert not contract.column("i").nullable
    assert contract.column("i").default == 2
    assert contract.column("c").categories == ("x", "y")
    assert contract.column("b").default is True
    assert contract.validate_frame(frame).ok


def test_nan_is_not_finite_not_null_and_is_excluded_from_the_range() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), 3.0, float("inf")]})
    rule = Contract.infer(frame, ["x"]).column("x")
    assert not rule.nullable
    assert (rule.minimum, rule.maximum) == pytest.approx((0.8, 3.2))
    report = Contract(columns=(rule,)).validate_frame(frame)
    assert [v.kind.value for v in report.violations] == ["not_finite"]
    assert report.violations[0].count == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5.0, (4.5, 5.5)), (-10.0, (-11.0, -9.0)), (0.0, (-0.1, 0.1))],
)
def test_constant_column_never_gets_a_zero_width_range(
    value: float, expected: tuple[float, float]
) -> None:
    rule = Contract.infer(pl.DataFrame({"x": [value] * 4}), ["x"]).column("x")
    assert rule.minimum is not None
    assert rule.maximum is not None
    assert rule.maximum > rule.minimum
    assert (rule.minimum, rule.maximum) == pytest.approx(expected)


def test_many_categories_mean_any_string() -> None:
    frame = pl.DataFrame({"id": [f"user-{i}" for i in range(50)]})
    rule = Contract.infer(frame, ["id"], max_categories=10).column("id")
    assert rule.categories is None
    result = Contract(columns=(rule,)).validate_frame(pl.DataFrame({"id": ["new"]}))
    assert result.ok


def test_integer_median_default_is_an_observed_integer() -> None:
    rule = Contract.infer(pl.DataFrame({"n": [1, 2, 3, 10]}), ["n"]).column("n")
    assert isinstance(rule.default, int)
    assert rule.default in (2, 3)


def test_all_null_numeric_column_has_no_range() -> None:
    frame = pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Float64)})
    rule = Contract.infer(frame, ["x"]).column("x")
    assert (rule.minimum, rule.maximum, rule.default, rule.nullable) == (None, None, None, True)


@pytest.mark.parametrize(
    ("frame", "features", "field"),
    [
        (pl.DataFrame({"a": [1.0]}), ["b"], "features.b"),
        (pl.DataFrame({"a": [1.0]}), ["a", "a"], "features"),
        (pl.DataFrame({"a": [1.0]}), [], "features"),
        (pl.DataFrame({"a": pl.Series([], dtype=pl.Float64)}), ["a"], "frame"),
        (pl.DataFrame({"d": [date(2020, 1, 1)]}), ["d"], "features.d"),
        (pl.DataFrame({"n": [None, None]}), ["n"], "features.n"),
    ],
)
def test_bad_inference_input_names_the_field(
    frame: pl.DataFrame, features: list[str], field: str
) -> None:
    with pytest.raises(DataError) as caught:
        Contract.infer(frame, features)
    assert caught.value.field == field
    assert caught.value.fix


def test_bad_margin_is_refused() -> None:
    with pytest.raises(DataError, match="range_margin"):
        Contract.infer(pl.DataFrame({"a": [1.0]}), ["a"], range_margin=math.nan)


def test_unknown_column_lookup_names_it(contract: Contract) -> None:
    with pytest.raises(NotFoundError, match="AGE"):
        contract.column("AGE")
