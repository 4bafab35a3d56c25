"""Profiling Parquet files chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from steadyml.adapters.profile_files import profile_parquet
from steadyml.core.profiles import Profile
from steadyml.errors import DataError, NotFoundError


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, pl.DataFrame]:
    rng = np.random.default_rng(0)
    reference = pl.DataFrame(
        {"x": rng.normal(size=40_000), "c": rng.choice(["a", "b"], size=40_000)}
    )
    current = pl.DataFrame(
        {
            "x": rng.normal(size=25_000),
            "c": rng.choice(["a", "b"], size=25_000),
            "extra": np.ones(25_000),
        }
    )
    reference.write_parquet(tmp_path / "reference.parquet", row_group_size=7_000)
    current.write_parquet(tmp_path / "current.parquet", row_group_size=5_000)
    return tmp_path / "reference.parquet", tmp_path / "current.parquet", current


def test_reference_and_window_from_files(files: tuple[Path, Path, pl.DataFrame]) -> None:
    reference_path, current_path, current = files
    reference = profile_parquet(reference_path, batch_rows=4_000, seed=0)
    assert reference.rows == 40_000
    assert reference.schema.names == ("x", "c")
    window = profile_parquet(current_path, reference, batch_rows=3_000, seed=1)
    in_memory = reference.new_profile(seed=1).update(current).view()
    assert window.rows == 25_000
    assert window.schema == reference.schema
    np.testing.assert_array_equal(window.numeric("x").histogram, in_memory.numeric("x").histogram)
    assert window.categorical("c").counts == in_memory.categorical("c").counts
    assert window.numeric("x").mean == pytest.approx(current["x"].mean(), rel=1e-12)


def test_window_lacking_a_column_is_profiled_as_absent(
    files: tuple[Path, Path, pl.DataFrame], tmp_path: Path
) -> None:
    reference_path, _, _ = files
    reference = profile_parquet(reference_path, seed=0)
    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(tmp_path / "partial.parquet")
    window = profile_parquet(tmp_path / "partial.parquet", reference)
    assert window.rows == 2
    assert window.absent("c") == 2


def test_missing_unreadable_and_incomplete_files(
    files: tuple[Path, Path, pl.DataFrame], tmp_path: Path
) -> None:
    reference_path, _, _ = files
    with pytest.raises(NotFoundError):
        profile_parquet(tmp_path / "nope.parquet")
    with pytest.raises(NotFoundError):
        profile_parquet(tmp_path / "nope.parquet", Profile.for_reference({"x": [1.0]}).view())
    (tmp_path / "text.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read"):
        profile_parquet(tmp_path / "text.parquet")
    with pytest.raises(DataError, match="cannot read"):
        profile_parquet(tmp_path / "text.parquet", Profile.for_reference({"x": [1.0]}).view())
    with pytest.raises(DataError, match=r"not in reference\.parquet"):
        profile_parquet(reference_path, columns=["x", "zzz"])
