"""Tumbling windows of event time: one profile per window, on the reference's bins.

A row belongs to window ``floor(t / width)`` (windows are aligned to the Unix epoch in
UTC, so a ``1h`` window starts on the hour). Each batch is split by window without a
per-row loop: a stable sort of the window keys, then one Arrow ``take`` per window. Rows
without a usable time are profiled apart and only count in the whole-period comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa

from steadyml.core.durations import format_duration, parse_duration
from steadyml.core.profiles import Profile, ProfileSettings, ProfileView
from steadyml.errors import ConfigError

__all__ = ["MAX_WINDOWS", "WINDOW_SAMPLE_SIZE", "TimeWindows", "WindowView", "parse_window"]

MAX_WINDOWS = 500
WINDOW_SAMPLE_SIZE = 2_000  # rows sampled per window: memory stays bounded with many windows
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_window(value: str | timedelta) -> timedelta:
    """A window width from ``"1h"``-style text (or a timedelta).

    Raises
    ------
    ConfigError
        When it is not a positive duration.
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ConfigError("--window", str(value), "give a positive duration like '1h'")
        return value
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise ConfigError("--window", value, str(exc)) from None


@dataclass(frozen=True)
class WindowView:
    """The profile of one window ``[start, end)``."""

    start: datetime
    end: datetime
    view: ProfileView


class TimeWindows:
    """Accumulates one profile per tumbling window of ``time_column``.

    Parameters
    ----------
    reference
        The reference view; windows are profiled on its bins.
    time_column
        A datetime, date, or ISO-8601 text column.
    width
        Window width.
    seed
        Base seed of the windows' row samplers.
    """

    def __init__(
        self, reference: ProfileView, time_column: str, width: timedelta, *, seed: int = 0
    ) -> None:
        self.time_column = time_column
        self.width = width
        self._micros = max(1, round(width.total_seconds() * 1_000_000))
        self._seed = seed
        self._schema = reference.schema
        self._settings = ProfileSettings(
            min(reference.settings.sample_size, WINDOW_SAMPLE_SIZE),
            reference.settings.sketch_k,
            reference.settings.max_categories,
        )
        self._profiles: dict[int, Profile] = {}
        self.untimed = Profile(self._schema, self._settings, seed=seed)

    def _profile(self, key: int) -> Profile:
        profile = self._profiles.get(key)
        if profile is None:
            if len(self._profiles) >= MAX_WINDOWS:
                raise ConfigError(
                    "--window",
                    format_duration(self.width),
                    f"the data spans more than {MAX_WINDOWS} windows; use a longer window",
                )
            profile = Profile(self._schema, self._settings, seed=self._seed + 7919 * (key % 99_991))
            self._profiles[key] = profile
        return profile

    def update(self, batch: pa.Table) -> None:
        """Split ``batch`` by window and profile each part."""
        if batch.num_rows == 0:
            return
        if self.time_column not in batch.column_names:
            raise ConfigError(
                "--time-column",
                self.time_column,
                f"not in the current data; it has {batch.column_names}",
            )
        times = pl.from_arrow(batch.select([self.time_column]))
        if not isinstance(times, pl.DataFrame):  # pragma: no cover - a table gives a frame
            raise ConfigError("--time-column", self.time_column, "could not read the batch")
        keys = times.select(_epoch_micros(times, self.time_column) // self._micros).to_series()
        untimed = keys.is_null().to_numpy()
        if untimed.any():
            self.untimed.update(batch.filter(pa.array(untimed)))
        rows = np.flatnonzero(~untimed)
        if rows.size == 0:
            return
        values = keys.to_numpy()[rows].astype(np.int64)
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        cuts = np.flatnonzero(np.diff(ordered)) + 1
        for start, stop in zip(
            np.concatenate(([0], cuts)), np.concatenate((cuts, [ordered.size])), strict=True
        ):
            part = batch.take(pa.array(rows[order[start:stop]]))
            self._profile(int(ordered[start])).update(part)

    def windows(self) -> list[WindowView]:
        """Views of every window that received rows, in time order."""
        out = []
        for key in sorted(self._profiles):
            start = _EPOCH + timedelta(microseconds=key * self._micros)
            out.append(WindowView(start, start + self.width, self._profiles[key].view()))
        return out


def _epoch_micros(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    column = pl.col(name)
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us")).dt.epoch("us")
    if isinstance(dtype, pl.Datetime):
        return column.dt.epoch("us")
    if dtype in (pl.String, pl.Categorical):
        parsed = column.cast(pl.String).str.to_datetime(strict=False, time_unit="us")
        return parsed.dt.epoch("us")
    raise ConfigError(
        "--time-column",
        name,
        f"is of type {dtype}; give a datetime, date or ISO-8601 text column",
    )
