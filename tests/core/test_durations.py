"""Durations in the spec."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500ms", timedelta(milliseconds=500)), ("5m", timedelta(minutes=5)),
     ("1h", timedelta(hours=1)), ("7d", timedelta(days=7)), ("1.5s", timedelta(seconds=1.5)),
     ("2w", timedelta(weeks=2)), ("10min", timedelta(minutes=10))],
)  # fmt: skip
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "five minutes", "-5m", "0s", "5y"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10_000_000))
def test_format_round_trips(ms: int) -> None:
    value = timedelta(milliseconds=ms)
    assert parse_duration(format_duration(value)) == value
