"""The feature encoder: same codes in training and serving, unseen categories handled."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from steadyml.core.encoding import FeatureEncoder
from steadyml.errors import DataError

FRAME = pl.DataFrame(
    {"age": [20.0, 30.0, None], "color": ["red", "blue", "red"], "ok": [True, False, True]}
)


def test_ordinal_codes_follow_sorted_categories() -> None:
    enc = FeatureEncoder.fit(FRAME, ["age", "color", "ok"])
    matrix = enc.transform(FRAME)
    assert matrix.dtype == np.float64
    assert matrix.shape == (3, 3)
    assert enc.categories["color"] == ("blue", "red")
    assert matrix[:, 1].tolist() == [1.0, 0.0, 1.0]
    assert math.isnan(matrix[2, 0])
    assert enc.categorical_indices == [1]


def test_unseen_category_becomes_nan_in_ordinal_mode() -> None:
    enc = FeatureEncoder.fit(FRAME, ["color"])
    out = enc.transform(pl.DataFrame({"color": ["green", "blue"]}))
    assert math.isnan(out[0, 0])
    assert out[1, 0] == 0.0


def test_onehot_expands_and_zeroes_unseen() -> None:
    enc = FeatureEncoder.fit(FRAME, ["age", "color"], mode="onehot")
    assert enc.output_names == ("age", "color=blue", "color=red")
    out = enc.transform(pl.DataFrame({"age": [1.0], "color": ["green"]}))
    assert out.tolist() == [[1.0, 0.0, 0.0]]


def test_round_trip_gives_the_same_matrix() -> None:
    enc = FeatureEncoder.fit(FRAME, ["age", "color", "ok"])
    again = FeatureEncoder.from_dict(enc.to_dict())
    np.testing.assert_array_equal(enc.transform(FRAME), again.transform(FRAME))


def test_missing_column_is_named() -> None:
    enc = FeatureEncoder.fit(FRAME, ["age", "color"])
    with pytest.raises(DataError, match="color"):
        enc.transform(FRAME.drop("color"))


def test_malformed_stored_encoder_is_reported() -> None:
    with pytest.raises(DataError, match="encoder"):
        FeatureEncoder.from_dict({"columns": ["a"]})
    with pytest.raises(DataError, match="mode"):
        FeatureEncoder.from_dict({"columns": [], "categories": {}, "mode": "hash"})
