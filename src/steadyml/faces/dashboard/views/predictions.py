"""Prediction distribution over time: quantile bands of the answered scores per window.

The monitor keeps, per window and model version, a histogram of the answered scores on
a fixed grid (binary classifiers, in the window's ``summary`` payload). A chart point
merges the histograms of every version of one window and reads its quantiles off the
cumulative counts; no prediction row is read. Over long ranges one window per chart
point is read (the newest of its bucket), at most :data:`POINTS` of them, so the page
costs the same whatever the range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from steadyml.core.monitoring.payloads import decode
from steadyml.core.monitoring.scores import ScoreHistogram
from steadyml.core.monitoring.summary import WindowSummary
from steadyml.core.monitoring.windows import EPOCH
from steadyml.errors import SteadyError
from steadyml.faces.dashboard import charts, queries
from steadyml.faces.dashboard.context import Dashboard
from steadyml.faces.dashboard.views.common import Span

__all__ = ["LEVELS", "POINTS", "score_quantiles", "scores_figure"]

#: Quantiles drawn: outer band, inner band, median.
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: At most this many windows are read per chart.
POINTS = 96


def score_quantiles(histogram: ScoreHistogram, levels: tuple[float, ...] = LEVELS) -> list[float]:
    """Quantiles of a score histogram: the mean score of the bin holding each level.

    Examples
    --------
    >>> h = ScoreHistogram.of(np.linspace(0.0, 1.0, 1001))
    >>> [round(q, 1) for q in score_quantiles(h, (0.1, 0.5, 0.9))]
    [0.1, 0.5, 0.9]
    """
    cumulative = np.cumsum(histogram.counts)
    total = cumulative[-1]
    targets = np.asarray(levels) * total
    index = np.minimum(np.searchsorted(cumulative, targets, side="left"), cumulative.size - 1)
    return [float(v) for v in histogram.means()[index]]


def _panes(span: Span, step: timedelta) -> list[datetime]:
    width = max(span.end - span.start, step)
    per_point = max(1, -(-int(width / step) // POINTS))  # whole windows per chart point
    stride = step * per_point
    # the newest window of this size that has begun: the range ends with the newest
    # window of the shortest size, and a longer window may still be open over it
    newest = EPOCH + (span.end - EPOCH) // step * step
    if newest >= span.end:
        newest -= step
    panes: list[datetime] = []
    at = newest
    while at >= span.start and len(panes) < POINTS:
        panes.append(at)
        at -= stride
    return sorted(panes)


def scores_figure(
    dash: Dashboard,
    service: str,
    span: Span,
    spans: list[tuple[str, datetime, datetime]],
) -> dict[str, Any] | None:
    """The quantile bands of the answered scores over ``span``, or None without histograms."""
    step = timedelta(seconds=span.window_seconds)
    panes = _panes(span, step)
    merged: dict[datetime, ScoreHistogram] = {}
    for at, _, payload in queries.payloads_at(dash.store, service, span.window, panes, "summary"):
        try:
            summary = decode("summary", payload)
        except SteadyError:
            continue  # a damaged payload leaves a gap, not a broken page
        if not isinstance(summary, WindowSummary) or summary.scores is None:
            continue
        held = merged.get(at)
        merged[at] = summary.scores if held is None else held.merge(summary.scores)
    times = [at for at in sorted(merged) if merged[at].total > 0]
    if not times:
        return None
    columns = np.array([score_quantiles(merged[at]) for at in times])
    sampled = len(panes) > 1 and panes[1] - panes[0] > step
    title = "Prediction distribution: answered scores (quantile bands"
    title += ", one window per point)" if sampled else ")"
    return charts.quantile_figure(
        times, {level: columns[:, i].tolist() for i, level in enumerate(LEVELS)}, spans,
        title=title,
    )  # fmt: skip
