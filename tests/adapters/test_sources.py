"""Reading training tables from files and SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from steadyml.adapters.sources import read_source, read_table
from steadyml.errors import DataError, NotFoundError
from steadyml.spec import parse_spec


def test_parquet_and_csv(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.write_parquet(tmp_path / "t.parquet")
    frame.write_csv(tmp_path / "t.csv")
    assert read_table(tmp_path / "t.parquet").equals(frame)
    assert read_table(tmp_path / "t.csv").equals(frame)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        read_table(tmp_path / "nope.parquet")


def test_unreadable_file_and_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read"):
        read_table(tmp_path / "bad.parquet")
    (tmp_path / "t.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"parquet or \.csv"):
        read_table(tmp_path / "t.xlsx")


def test_empty_table(tmp_path: Path) -> None:
    pl.DataFrame({"a": []}, schema={"a": pl.Int64}).write_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "e.parquet")


def test_sql_source(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x real, y integer)")
        conn.executemany("insert into t values (?, ?)", [(1.5, 0), (2.5, 1)])
    spec = parse_spec(
        {
            "service": "s",
            "task": "binary_classification",
            "data": {"source": {"sql": "select * from t", "url": f"sqlite:///{db}"}, "target": "y"},
        }
    )
    assert read_source(spec).shape == (2, 2)


def test_sql_error_names_the_query(tmp_path: Path) -> None:
    spec = parse_spec(
        {
            "service": "s",
            "task": "binary_classification",
            "data": {
                "source": {"sql": "select * from nope", "url": f"sqlite:///{tmp_path / 'd.db'}"},
                "target": "y",
            },
        }
    )
    with pytest.raises(DataError, match="query"):
        read_source(spec)
