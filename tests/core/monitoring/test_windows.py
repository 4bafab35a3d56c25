"""Tumbling and sliding windows on event time, aligned to the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.monitoring import WindowSpec, pane_start_expr, parse_windows
from steadyml.errors import SpecError

T = datetime(2016, 3, 1, 10, 7, 30, tzinfo=UTC)


def test_tumbling_window_contains_its_moment_and_is_aligned() -> None:
    spec = WindowSpec.parse("5m")
    assert not spec.sliding and spec.label == "5m" and spec.panes_per_window == 1
    start = spec.start_of(T)
    assert start == datetime(2016, 3, 1, 10, 5, tzinfo=UTC)
    assert start <= T < spec.end(start)
    assert spec.starts_with_pane(start) == [start]


def test_sliding_window_is_the_union_of_its_panes() -> None:
    spec = WindowSpec.parse("1h/15m")
    assert spec.sliding and spec.label == "1h/15m" and spec.pane_label == "15m"
    start = datetime(2016, 3, 1, 9, 30, tzinfo=UTC)
    panes = spec.panes(start)
    assert panes == [start + i * timedelta(minutes=15) for i in range(4)]
    pane = spec.start_of(T)
    covering = spec.starts_with_pane(pane)
    assert len(covering) == 4
    assert all(s <= pane < spec.end(s) for s in covering)


def test_completeness_follows_the_watermark() -> None:
    spec = WindowSpec.parse("5m")
    start = spec.start_of(T)
    assert not spec.is_complete(start, T)
    assert spec.is_complete(start, start + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("texts", "fix"),
    [(["5 minutes"], "duration"), (["1h/7m"], "divide"), (["5m/5m"], "shorter"), ([], "at least")],
)
def test_bad_windows_name_the_key(texts: list[str], fix: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_windows(texts)
    assert info.value.field == "monitors.windows"
    assert fix in info.value.fix


def test_parse_windows_drops_duplicates_and_keeps_order() -> None:
    assert [w.label for w in parse_windows(["1h", "5m", "60m"])] == ["1h", "5m"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=50),
    st.sampled_from(["1m", "5m", "15m", "1h", "1d"]),
)
def test_the_vectorized_pane_start_agrees_with_start_of(offsets: list[int], text: str) -> None:
    spec = WindowSpec.parse(text)
    base = datetime(2015, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(microseconds=o) for o in offsets]
    frame = pl.DataFrame({"t": moments}).with_columns(pl.col("t").dt.cast_time_unit("us"))
    got = frame.select(pane_start_expr("t", spec.step)).get_column("t").to_list()
    assert got == [spec.start_of(m) for m in moments]
