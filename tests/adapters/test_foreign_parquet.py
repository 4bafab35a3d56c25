"""A Parquet foreign table is read in watermark order without losing or repeating rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from steadyml.adapters.foreign_logs import ParquetSource


def _write(directory: Path, name: str, ids: list[int], marks: Sequence[object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": ids, "wm": marks}).write_parquet(directory / f"{name}.parquet")


def _read_all(source: ParquetSource, limit: int) -> tuple[list[int], list[int]]:
    """Every row, page after page; the ids in read order and each page's size."""
    after: int | None = None
    ids: list[int] = []
    pages: list[int] = []
    for _ in range(50):
        read = source.read(["id", "wm"], "wm", after, None, limit)
        if read.frame.height == 0:
            break
        assert read.watermark is not None and read.watermark > (after or -1)
        ids += read.frame.get_column("id").to_list()
        pages.append(read.frame.height)
        after = read.watermark
    return ids, pages


def test_a_watermark_value_with_more_rows_than_a_page_is_read_whole(tmp_path: Path) -> None:
    table = tmp_path / "table"
    _write(table, "a", [1, 2, 3, 4, 5, 6, 7], [10, 10, 10, 10, 10, 10, 20])
    _write(table, "b", [8, 9, 10, 11], [10, 10, 10, 30])
    ids, pages = _read_all(ParquetSource(table), limit=3)
    assert sorted(ids) == list(range(1, 12))  # none lost, none read twice
    assert pages[0] == 9  # every row of watermark 10, though the page holds 3
    assert ids[-2:] == [7, 11]


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_pages_of_timestamps_cover_every_row_once(tmp_path: Path, limit: int) -> None:
    start = datetime(2016, 3, 1, tzinfo=UTC)
    table = tmp_path / "table"
    seconds = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    for part in range(3):
        marks = [start + timedelta(seconds=s + part % 2) for s in seconds]
        _write(table, f"part-{part}", [100 * part + i for i in range(10)], marks)
    ids, _ = _read_all(ParquetSource(table), limit)
    assert sorted(ids) == sorted(100 * part + i for part in range(3) for i in range(10))
