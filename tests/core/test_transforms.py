"""Feature transforms: the same function in training and serving, and its guard rails."""

from __future__ import annotations

import polars as pl
import pytest

from steadyml.core.contract import Contract
from steadyml.core.transforms import FeatureTransform, TransformError
from steadyml.core.violations import ViolationPolicy
from steadyml.datasets import FEATURES, load_employment
from steadyml.errors import DataError

FRAME = pl.DataFrame({"age": [34.0, 71.0, 18.0], "sex": ["1", "2", "1"]})


def add_decade(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns((pl.col("age") // 10).alias("decade"))


def centre_age(frame: pl.DataFrame) -> pl.DataFrame:
    # uses a batch statistic: a training-serving skew bug
    return frame.with_columns(pl.col("age") - pl.col("age").mean())


def test_identity_returns_the_frame() -> None:
    transform = FeatureTransform(None)
    assert transform.is_identity
    assert transform.name == "identity"
    assert transform.apply(FRAME).equals(FRAME)


def test_function_is_applied_and_named() -> None:
    transform = FeatureTransform(add_decade, name="features.py:add_decade")
    assert not transform.is_identity
    assert transform(FRAME)["decade"].to_list() == [3.0, 7.0, 1.0]
    assert "features.py:add_decade" in repr(transform)


def test_training_and_serving_paths_give_the_same_inputs() -> None:
    data = load_employment()
    contract = Contract.infer(data.reference, FEATURES)
    transform = FeatureTransform(
        lambda f: f.with_columns((pl.col("AGEP") >= 65).alias("senior")), name="senior"
    )
    sample = data.analysis.select(FEATURES).head(50)
    training = transform.apply(sample)
    served = transform.apply(contract.validate_records(sample.to_dicts(), ViolationPolicy()).frame)
    assert served.equals(training)
    transform.check_rowwise(sample)


def test_a_raising_function_names_the_transform() -> None:
    def broken(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("nope") * 2)

    with pytest.raises(TransformError) as caught:
        FeatureTransform(broken, name="features.py:broken").apply(FRAME)
    assert caught.value.field == "transform features.py:broken"
    assert "ColumnNotFoundError" in str(caught.value.value)
    assert isinstance(caught.value, DataError)


@pytest.mark.parametrize(
    ("function", "words"),
    [
        (lambda f: f.to_dict(), "dict"),
        (lambda f: f.lazy(), ".collect()"),
        (lambda f: f.head(1), "3 rows in, 1 out"),
        (lambda f: f.filter(pl.col("age") > 20), "one row per input row"),
    ],
)
def test_a_broken_contract_with_the_pipeline_is_refused(function: object, words: str) -> None:
    transform = FeatureTransform(function, name="t")  # type: ignore[arg-type]
    with pytest.raises(TransformError) as caught:
        transform.apply(FRAME)
    assert words in caught.value.one_line()


def test_not_callable_and_not_a_frame_are_refused() -> None:
    with pytest.raises(TransformError, match="function frame -> frame"):
        FeatureTransform(3, name="t")  # type: ignore[arg-type]
    with pytest.raises(TransformError, match="DataFrame"):
        FeatureTransform(add_decade).apply({"age": [1.0]})  # type: ignore[arg-type]


def test_check_rowwise_catches_batch_statistics() -> None:
    FeatureTransform(add_decade).check_rowwise(FRAME)
    with pytest.raises(TransformError, match="row 0"):
        FeatureTransform(centre_age, name="centre").check_rowwise(FRAME)
