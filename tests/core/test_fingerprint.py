"""Data fingerprints."""

from __future__ import annotations

import polars as pl

from steadyml.core.fingerprint import frame_fingerprint


def test_same_rows_same_fingerprint_and_any_change_differs() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    base = frame_fingerprint(frame)
    assert base == frame_fingerprint(frame.clone())
    assert base.startswith("sha256:")
    assert base != frame_fingerprint(frame.with_columns(pl.col("a").cast(pl.Float64)))
    assert base != frame_fingerprint(frame.reverse())
    assert base != frame_fingerprint(frame.head(2))
    assert base != frame_fingerprint(frame.with_columns(b=pl.lit("x")))
