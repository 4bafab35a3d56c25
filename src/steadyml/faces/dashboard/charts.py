"""Plotly figures as plain dicts: timelines shaded by model version, heatmaps, distributions.

The browser draws them with the plotly.js bundled in the installed ``plotly`` package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "Line",
    "band_figure",
    "bars_figure",
    "heatmap_figure",
    "quantile_figure",
    "timeline_figure",
]

_FONT = "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_VERSION_TINTS = ("rgba(59,130,246,0.08)", "rgba(234,88,12,0.08)", "rgba(16,185,129,0.08)")
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")

#: ``(name, times, values)`` of one line.
Line = tuple[str, Sequence[datetime], Sequence[float | None]]


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 30, "b": 36},
        "font": {"family": _FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": 1.15, "x": 0},
        "xaxis": {"type": "date"},
    }
    layout.update(extra)
    return layout


def _iso(moments: Sequence[datetime]) -> list[str]:
    return [m.isoformat() for m in moments]


def _version_shapes(
    spans: Sequence[tuple[str, datetime, datetime]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes, notes = [], []
    for i, (version, start, end) in enumerate(spans):
        shapes.append(
            {
                "type": "rect", "xref": "x", "yref": "paper", "x0": start.isoformat(),
                "x1": end.isoformat(), "y0": 0, "y1": 1, "line": {"width": 0},
                "fillcolor": _VERSION_TINTS[i % len(_VERSION_TINTS)], "layer": "below",
            }
        )  # fmt: skip
        notes.append(
            {
                "x": start.isoformat(), "y": 1, "xref": "x", "yref": "paper",
                "text": f"v{version}", "showarrow": False, "xanchor": "left",
                "yanchor": "top", "font": {"size": 10, "color": "#475569"},
            }
        )  # fmt: skip
    return shapes, notes


def timeline_figure(
    lines: Sequence[Line],
    spans: Sequence[tuple[str, datetime, datetime]],
    *,
    title: str,
    unit: str = "",
    percent: bool = False,
    height: int = 240,
    secondary: Sequence[Line] = (),
) -> dict[str, Any]:
    """Lines over time, with each model version's time in force shaded and labelled."""
    data: list[dict[str, Any]] = []
    for i, (name, times, values) in enumerate(lines):
        data.append(
            {
                "type": "scatter", "mode": "lines+markers", "name": name, "x": _iso(times),
                "y": [None if v is None else (v * 100 if percent else v) for v in values],
                "line": {"color": COLORS[i % len(COLORS)], "width": 2}, "marker": {"size": 4},
                "connectgaps": False,
            }
        )  # fmt: skip
    for j, (name, times, values) in enumerate(secondary):
        data.append(
            {
                "type": "scatter", "mode": "lines", "name": name, "x": _iso(times),
                "y": [None if v is None else v * 100 for v in values], "yaxis": "y2",
                "line": {"color": COLORS[(len(lines) + j) % len(COLORS)], "dash": "dot"},
            }
        )  # fmt: skip
    shapes, notes = _version_shapes(spans)
    extra: dict[str, Any] = {
        "title": {"text": title, "x": 0, "font": {"size": 13}},
        "shapes": shapes,
        "annotations": notes,
        "yaxis": {"title": {"text": "%" if percent else unit}, "rangemode": "tozero"},
    }
    if secondary:
        extra["yaxis2"] = {
            "overlaying": "y", "side": "right", "range": [0, 100],
            "title": {"text": "%"}, "showgrid": False,
        }  # fmt: skip
    return {"data": data, "layout": _layout(height, **extra)}


def heatmap_figure(
    rows: Sequence[str],
    times: Sequence[datetime],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    zmax: float,
) -> dict[str, Any]:
    """A feature x window heatmap (rows: features, columns: time buckets)."""
    height = max(200, 60 + 18 * len(rows))
    return {
        "data": [
            {
                "type": "heatmap", "x": _iso(times), "y": list(rows),
                "z": [list(r) for r in values], "zmin": 0, "zmax": zmax,
                "colorscale": [[0, "#f0fdf4"], [0.5, "#fbbf24"], [1, "#b91c1c"]],
                "hoverongaps": False, "colorbar": {"thickness": 10},
                "hovertemplate": "%{y}<br>%{x}<br>effect %{z:.3f}<extra></extra>",
            }
        ],
        "layout": _layout(
            height, title={"text": title, "x": 0, "font": {"size": 13}},
            yaxis={"automargin": True, "autorange": "reversed"},
            margin={"l": 90, "r": 16, "t": 30, "b": 36},
        ),
    }  # fmt: skip


def band_figure(
    times: Sequence[datetime],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    warn: float,
    drift: float,
    title: str,
    spans: Sequence[tuple[str, datetime, datetime]] = (),
) -> dict[str, Any]:
    """A statistic over time with its 95 % interval and the warn and drift bands."""
    x = _iso(times)
    top = max([drift * 1.5] + [h for h in highs if h is not None] + [v for v in values if v])
    shapes, notes = _version_shapes(spans)
    tints = ((0, warn, "rgba(22,163,74,0.07)"), (warn, drift, "rgba(202,138,4,0.10)"),
             (drift, top, "rgba(220,38,38,0.08)"))  # fmt: skip
    for low, high, tint in tints:
        shapes.append(
            {
                "type": "rect", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": low,
                "y1": high, "line": {"width": 0}, "fillcolor": tint, "layer": "below",
            }
        )  # fmt: skip
    data = [
        {"type": "scatter", "mode": "lines", "x": x, "y": list(highs), "line": {"width": 0},
         "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "x": x, "y": list(lows), "line": {"width": 0},
         "fill": "tonexty", "fillcolor": "rgba(37,99,235,0.15)", "name": "95 % interval"},
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": list(values), "name": "effect",
         "line": {"color": COLORS[0], "width": 2}, "marker": {"size": 4}},
    ]  # fmt: skip
    return {
        "data": data,
        "layout": _layout(
            260, title={"text": title, "x": 0, "font": {"size": 13}}, shapes=shapes,
            annotations=notes, yaxis={"range": [0, top], "title": {"text": "effect"}},
        ),
    }  # fmt: skip


def bars_figure(
    labels: Sequence[str], groups: Mapping[str, Sequence[float]], *, title: str
) -> dict[str, Any]:
    """Grouped bars, e.g. reference against current share of rows per bin (in %)."""
    data = [
        {"type": "bar", "name": name, "x": list(labels), "y": [v * 100 for v in values],
         "marker": {"color": ("#94a3b8", COLORS[0], COLORS[1])[i % 3]}}
        for i, (name, values) in enumerate(groups.items())
    ]  # fmt: skip
    layout = _layout(
        280, title={"text": title, "x": 0, "font": {"size": 13}}, barmode="group",
        yaxis={"title": {"text": "% of rows"}}, xaxis={"type": "category"},
    )  # fmt: skip
    return {"data": data, "layout": layout}


def quantile_figure(
    times: Sequence[datetime],
    quantiles: Mapping[float, Sequence[float | None]],
    spans: Sequence[tuple[str, datetime, datetime]],
    *,
    title: str,
    height: int = 240,
) -> dict[str, Any]:
    """Quantile bands over time: outer and inner quantiles as filled bands, the median a line.

    ``quantiles`` maps each level (e.g. 0.05, 0.25, 0.5, 0.75, 0.95) to one value per time;
    levels pair from the outside in (lowest with highest) into shaded bands.
    """
    x = _iso(times)
    levels = sorted(quantiles)
    data: list[dict[str, Any]] = []
    tints = ("rgba(37,99,235,0.12)", "rgba(37,99,235,0.28)")
    for i in range(len(levels) // 2):
        low, high = levels[i], levels[-1 - i]
        name = f"p{low * 100:g}–p{high * 100:g}"
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": list(quantiles[low]),
                     "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"})  # fmt: skip
        data.append(
            {
                "type": "scatter", "mode": "lines", "x": x, "y": list(quantiles[high]),
                "fill": "tonexty", "fillcolor": tints[min(i, len(tints) - 1)],
                "line": {"width": 0}, "name": name,
            }
        )  # fmt: skip
    if len(levels) % 2:
        middle = levels[len(levels) // 2]
        data.append(
            {
                "type": "scatter", "mode": "lines+markers", "x": x,
                "y": list(quantiles[middle]), "name": f"p{middle * 100:g}",
                "line": {"color": COLORS[0], "width": 2}, "marker": {"size": 3},
            }
        )  # fmt: skip
    shapes, notes = _version_shapes(spans)
    extra: dict[str, Any] = {
        "title": {"text": title, "x": 0, "font": {"size": 13}},
        "shapes": shapes,
        "annotations": notes,
        "yaxis": {"title": {"text": "score"}, "range": [0, 1]},
    }
    return {"data": data, "layout": _layout(height, **extra)}
