"""The bundled census data."""

from __future__ import annotations

import pytest

from steadyml.datasets import FEATURES, TARGET, dataset_path, load_employment
from steadyml.errors import NotFoundError


def test_bundled_data_has_the_documented_shape() -> None:
    data = load_employment()
    assert data.reference.height == 68_785
    assert data.analysis.height == 208_892
    assert set(data.reference["year"].unique()) == {2015}
    assert set(data.analysis["year"].unique()) == {2016, 2017, 2018}
    for column in (*FEATURES, TARGET, "id"):
        assert column in data.reference.columns
    assert TARGET not in data.analysis.columns
    for gone in ("prediction", "predicted_probability"):
        assert gone not in data.reference.columns
        assert gone not in data.analysis.columns


def test_labels_join_every_analysis_row() -> None:
    joined = load_employment().analysis_with_labels()
    assert joined[TARGET].null_count() == 0
    assert set(joined[TARGET].unique()) == {0, 1}


def test_unknown_part_is_named() -> None:
    with pytest.raises(NotFoundError, match="reference"):
        dataset_path("training")
