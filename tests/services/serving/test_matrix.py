"""The prepared encoding equals FeatureEncoder.transform exactly, nulls and unseen included."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.encoding import FeatureEncoder
from steadyml.errors import DataError
from steadyml.services.serving.matrix import MatrixEncoder, probe_frame

TRAIN = pl.DataFrame(
    {
        "age": [20.0, 35.5, 61.0, None],
        "sex": ["1", "2", "1", "2"],
        "school": ["16", "21", "9", "21"],
        "flag": [1, 0, 1, 1],
    }
)
CATEGORIES = ["1", "2", "16", "21", "9", "unseen", "", "🦄"]


@pytest.mark.parametrize("mode", ["ordinal", "onehot"])
def test_the_prepared_path_is_used_and_matches(mode: str) -> None:
    encoder = FeatureEncoder.fit(TRAIN, TRAIN.columns, mode)  # type: ignore[arg-type]
    fast = MatrixEncoder(encoder, TRAIN)
    assert fast.prepared
    probe = probe_frame(TRAIN, encoder)
    assert probe.height == TRAIN.height + 2
    np.testing.assert_array_equal(fast(probe), encoder.transform(probe))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.none() | st.sampled_from(CATEGORIES),
            st.none() | st.sampled_from(CATEGORIES),
            st.none() | st.integers(-3, 3),
        ),
        min_size=1,
        max_size=20,
    ),
    mode=st.sampled_from(["ordinal", "onehot"]),
)
def test_any_batch_encodes_exactly_like_the_encoder(
    rows: list[tuple[float | None, str | None, str | None, int | None]], mode: str
) -> None:
    encoder = FeatureEncoder.fit(TRAIN, TRAIN.columns, mode)  # type: ignore[arg-type]
    fast = MatrixEncoder(encoder, TRAIN)
    frame = pl.DataFrame(rows, schema=TRAIN.schema, orient="row")
    got, want = fast(frame), encoder.transform(frame)
    assert got.flags["C_CONTIGUOUS"] and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_without_a_sample_it_is_the_encoder_itself() -> None:
    encoder = FeatureEncoder.fit(TRAIN, TRAIN.columns)
    plain = MatrixEncoder(encoder)
    assert not plain.prepared
    np.testing.assert_array_equal(plain(TRAIN), encoder.transform(TRAIN))
    with pytest.raises(DataError):
        plain(TRAIN.drop("sex"))
    with pytest.raises(DataError):
        MatrixEncoder(encoder, TRAIN)(TRAIN.drop("sex"))
