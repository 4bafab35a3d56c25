"""Tumbling and sliding windows on event time, built from panes.

A window spec is ``"5m"`` (tumbling: back-to-back 5-minute windows) or ``"1h/5m"``
(sliding: 1-hour windows starting every 5 minutes). Windows are aligned to the Unix
epoch, so every process cuts the same windows. Records are profiled once per *pane* (a
tumbling window of the spec's step); a sliding window is the merge of the panes it
covers, which is exact because profiles merge exactly.

Examples
--------
>>> from datetime import datetime, UTC
>>> spec = WindowSpec.parse("1h/15m")
>>> spec.label, spec.pane_label, spec.sliding
('1h/15m', '15m', True)
>>> [t.strftime("%H:%M") for t in spec.starts_with_pane(datetime(2016, 1, 1, 10, tzinfo=UTC))]
['09:15', '09:30', '09:45', '10:00']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from steadyml.core.clock import utc
from steadyml.core.durations import format_duration, parse_duration
from steadyml.errors import SpecError
from steadyml.spec import check_window

__all__ = ["EPOCH", "WindowSpec", "pane_start_expr", "parse_windows"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(value: timedelta) -> int:
    return value // _MICRO


@dataclass(frozen=True)
class WindowSpec:
    """One window size, tumbling (``step == size``) or sliding (``step < size``).

    Parameters
    ----------
    size
        The window length.
    step
        How far apart consecutive windows start; it divides ``size``.
    """

    size: timedelta
    step: timedelta

    def __post_init__(self) -> None:
        if self.step <= timedelta(0) or self.size <= timedelta(0):
            raise SpecError("monitors.windows", str(self.size), "give positive durations")
        if self.step > self.size or self.size % self.step:
            raise SpecError(
                "monitors.windows",
                self.label,
                "the step must divide the window size, e.g. '1h/5m'",
            )

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        """Parse ``"5m"`` or ``"1h/5m"``.

        Raises
        ------
        SpecError
            When the text is not such a window.
        """
        try:
            check_window(text)
        except ValueError as exc:
            raise SpecError("monitors.windows", text, str(exc)) from None
        size_text, _, step_text = text.partition("/")
        size = parse_duration(size_text)
        return cls(size, parse_duration(step_text) if step_text else size)

    @property
    def sliding(self) -> bool:
        """True when windows overlap (the step is shorter than the size)."""
        return self.step < self.size

    @property
    def label(self) -> str:
        """The canonical name: ``"5m"`` or ``"1h/5m"``."""
        size = format_duration(self.size)
        return f"{size}/{format_duration(self.step)}" if self.sliding else size

    @property
    def pane_label(self) -> str:
        """The label of the tumbling panes this window is built from."""
        return format_duration(self.step)

    @property
    def panes_per_window(self) -> int:
        """How many panes one window covers."""
        return self.size // self.step

    def start_of(self, moment: datetime) -> datetime:
        """The start of the latest window (or pane) that begins at or before ``moment``."""
        offset = _micros(utc(moment) - EPOCH)
        step = _micros(self.step)
        return EPOCH + (offset // step) * self.step

    def end(self, start: datetime) -> datetime:
        """The end (exclusive) of the window starting at ``start``."""
        return utc(start) + self.size

    def panes(self, start: datetime) -> list[datetime]:
        """Starts of the panes the window beginning at ``start`` covers, in order."""
        first = utc(start)
        return [first + i * self.step for i in range(self.panes_per_window)]

    def starts_with_pane(self, pane: datetime) -> list[datetime]:
        """Starts of every window that covers the pane beginning at ``pane``."""
        last = self.start_of(pane)
        count = self.panes_per_window
        return [last - (count - 1 - i) * self.step for i in range(count)]

    def starts_touched(self, panes: Iterable[datetime]) -> list[datetime]:
        """Starts of the windows that cover any of ``panes``, sorted, without repeats."""
        found: set[datetime] = set()
        for pane in panes:
            found.update(self.starts_with_pane(pane))
        return sorted(found)

    def previous(self, start: datetime, count: int) -> list[datetime]:
        """The ``count`` window starts up to and including ``start``, oldest first."""
        first = utc(start)
        return [first - (count - 1 - i) * self.step for i in range(count)]

    def is_complete(self, start: datetime, watermark: datetime) -> bool:
        """True when the window ended at or before ``watermark`` (it takes no more records)."""
        return self.end(start) <= utc(watermark)


def parse_windows(texts: Sequence[str]) -> tuple[WindowSpec, ...]:
    """Parse the spec's ``monitors.windows``; duplicates are dropped, order kept.

    Raises
    ------
    SpecError
        When a window is not valid (the key ``monitors.windows`` is named).
    """
    specs: list[WindowSpec] = []
    for text in texts:
        spec = WindowSpec.parse(text)
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise SpecError("monitors.windows", list(texts), "give at least one window, e.g. '5m'")
    return tuple(specs)


def pane_start_expr(column: str, step: timedelta) -> pl.Expr:
    """A Polars expression: the pane start (UTC datetime, µs) of each timestamp in ``column``.

    Vectorized: ``floor(epoch_us / step_us) * step_us``, so panes are aligned to the
    epoch exactly as :meth:`WindowSpec.start_of` aligns them.
    """
    step_us = _micros(step)
    micros = pl.col(column).dt.epoch("us")
    return ((micros // step_us) * step_us).cast(pl.Datetime("us", "UTC"))
