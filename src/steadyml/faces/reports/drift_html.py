"""The self-contained HTML drift report: one file that opens offline, anywhere.

The page is rendered from a Jinja2 template; charts are Plotly figures given as JSON
and drawn by plotly.js, which is embedded inline once (from the installed ``plotly``
package), so the report loads nothing from the network. It shows the summary counts,
a ranked table, and per feature the reference and current distributions on the
reference bins and the decision statistic against its warn and drift bands; with time
windows, a feature x window status heatmap and the effect over time.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

import steadyml
from steadyml.core.drift import DriftResult, Histogram, Status
from steadyml.core.durations import format_duration
from steadyml.errors import ConfigError
from steadyml.services.drift import DriftCheck

__all__ = ["STATUS_COLORS", "render_drift_html", "write_drift_html"]

STATUS_COLORS = {
    Status.OK: "#1a7f37",
    Status.INSUFFICIENT_DATA: "#6b7280",
    Status.WARN: "#c27803",
    Status.SCHEMA_MISMATCH: "#7c3aed",
    Status.DRIFT: "#d1242f",
}
_REFERENCE_COLOR = "#94a3b8"
_BAND_TINTS = ("rgba(26,127,55,0.10)", "rgba(194,120,3,0.14)", "rgba(209,36,47,0.12)")
_MAX_BINS = 30
_MAX_LINES = 8
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_STAT_ORDER = (
    "tvd", "psi", "js", "hellinger", "ks", "ks_p_value", "ks_critical", "wasserstein",
    "mean_shift", "std_ratio", "out_of_range_share", "new_share", "chi2", "chi2_p_value",
    "missing_share_reference", "missing_share_current", "distinct_reference", "distinct_current",
)  # fmt: skip
_FONT = "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("steadyml.faces.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if value != 0 and abs(value) < 10 ** -(digits + 1):
        return f"{value:.1e}"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _pvalue(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return "< 1e-16" if value < 1e-16 else f"{value:.2g}"


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 28, "b": 40},
        "font": {"family": _FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": 1.12, "x": 0},
    }
    layout.update(extra)
    return layout


def _short_number(text: str) -> str:
    value = float(text)
    if 1e3 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _short_label(label: str) -> str:
    # bin labels carry 6 significant digits; 4 (or whole thousands) read better on an axis
    return _NUMBER.sub(lambda m: _short_number(m.group()), label)


def _shown_bins(histogram: Histogram, *, numeric: bool) -> tuple[list[str], np.ndarray, np.ndarray]:
    ref = np.asarray(histogram.reference, dtype=np.float64)
    cur = np.asarray(histogram.current, dtype=np.float64)
    p = ref / ref.sum() if ref.sum() else ref
    q = cur / cur.sum() if cur.sum() else cur
    keep = np.flatnonzero((p > 0) | (q > 0))
    labels = [_short_label(label) if numeric else label for label in histogram.labels]
    if keep.size <= _MAX_BINS:
        return [labels[i] for i in keep], p[keep] * 100, q[keep] * 100
    top = np.sort(keep[np.argsort(-np.maximum(p[keep], q[keep]), kind="stable")[: _MAX_BINS - 1]])
    rest = np.setdiff1d(keep, top)
    names = [labels[i] for i in top] + [f"({rest.size} more bins)"]
    return names, np.append(p[top], p[rest].sum()) * 100, np.append(q[top], q[rest].sum()) * 100


def _distribution_figure(result: DriftResult) -> dict[str, Any] | None:
    if result.histogram is None:
        return None
    labels, p, q = _shown_bins(result.histogram, numeric=result.kind == "numeric")
    color = STATUS_COLORS[result.status]
    hover = "%{x}<br>%{fullData.name}: %{y:.2f}% of rows<extra></extra>"
    return {
        "data": [
            {
                "type": "bar",
                "name": "reference",
                "x": labels,
                "y": p.round(4).tolist(),
                "marker": {"color": _REFERENCE_COLOR},
                "hovertemplate": hover,
            },
            {
                "type": "bar",
                "name": "current",
                "x": labels,
                "y": q.round(4).tolist(),
                "marker": {"color": color},
                "hovertemplate": hover,
            },
        ],
        "layout": _layout(
            280,
            barmode="group",
            bargap=0.18,
            xaxis={"type": "category", "automargin": True, "tickangle": -40},
            yaxis={"title": {"text": "% of rows"}, "gridcolor": "#e5e7eb", "rangemode": "tozero"},
        ),
    }


def _band_figure(result: DriftResult) -> dict[str, Any] | None:
    effect, warn, drift = result.effect, result.warn_threshold, result.drift_threshold
    if effect is None or warn is None or drift is None:
        return None
    low = result.effect_low if result.effect_low is not None else effect
    high = result.effect_high if result.effect_high is not None else effect
    critical = result.critical_value
    top = max(drift * 1.4, high * 1.1, (critical or 0.0) * 1.2)
    bands = ((0.0, warn), (warn, drift), (drift, top))
    shapes: list[dict[str, Any]] = [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": a, "x1": b, "y0": 0, "y1": 1,
         "fillcolor": tint, "line": {"width": 0}, "layer": "below"}
        for (a, b), tint in zip(bands, _BAND_TINTS, strict=True)
    ]  # fmt: skip
    notes = [
        {"x": warn, "y": 1, "yref": "paper", "text": f"warn {warn:g}", "showarrow": False,
         "xanchor": "left", "yanchor": "bottom", "font": {"size": 11, "color": "#8a5a00"}},
        {"x": drift, "y": 1, "yref": "paper", "text": f"drift {drift:g}", "showarrow": False,
         "xanchor": "left", "yanchor": "bottom", "font": {"size": 11, "color": "#a3131d"}},
    ]  # fmt: skip
    if critical is not None and np.isfinite(critical):
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": critical, "x1": critical,
             "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#6b7280", "width": 1.5}}
        )  # fmt: skip
        notes.append(
            {"x": critical, "y": 0, "yref": "paper", "text": "noise limit", "showarrow": False,
             "xanchor": "left", "yanchor": "top", "font": {"size": 10, "color": "#6b7280"}}
        )  # fmt: skip
    point = {
        "type": "scatter", "mode": "markers", "x": [effect], "y": [result.metric],
        "name": result.metric, "showlegend": False,
        "marker": {"size": 13, "symbol": "diamond", "color": STATUS_COLORS[result.status]},
        "error_x": {"type": "data", "symmetric": False, "array": [max(high - effect, 0.0)],
                    "arrayminus": [max(effect - low, 0.0)], "color": "#374151", "thickness": 1.5},
        "hovertemplate": f"{result.metric} %{{x:.4f}}<br>95% interval [{low:.4f}, {high:.4f}]"
        "<extra></extra>",
    }  # fmt: skip
    return {
        "data": [point],
        "layout": _layout(
            120,
            margin={"l": 48, "r": 16, "t": 24, "b": 28},
            shapes=shapes,
            annotations=notes,
            xaxis={"range": [0, top], "zeroline": False, "gridcolor": "#e5e7eb"},
            yaxis={"showgrid": False, "fixedrange": True},
        ),
    }


def _feature(result: DriftResult, index: int) -> dict[str, Any]:
    stats = result.statistics
    interval = (
        f"[{_num(result.effect_low)}, {_num(result.effect_high)}]"
        if result.effect_low is not None
        else ""
    )
    shift = (
        f"{_num(result.min_detectable_shift, 2)} {result.shift_unit}"
        if result.min_detectable_shift is not None
        else "–"
    )
    order = [k for k in _STAT_ORDER if k in stats] + [k for k in stats if k not in _STAT_ORDER]
    shown = {k: stats[k] for k in order if isinstance(stats[k], float | int)}
    return {
        "id": f"f{index}",
        "name": result.feature,
        "kind": result.kind,
        "status": result.status.value,
        "color": STATUS_COLORS[result.status],
        "message": result.message,
        "notes": list(result.notes),
        "metric": result.metric,
        "effect": _num(result.effect),
        "interval": interval,
        "band": (
            f"{result.warn_threshold:g} / {result.drift_threshold:g}"
            if result.warn_threshold is not None and result.drift_threshold is not None
            else "–"
        ),
        "critical": _num(result.critical_value),
        "detectable": shift,
        "psi": _num(stats.get("psi")),
        "js": _num(stats.get("js")),
        "ks_p": _pvalue(stats.get("ks_p_value")),
        "rows": f"{result.n_current:,}",
        "ref_rows": f"{result.n_reference:,}",
        "stats": [
            (k.replace("_", " "), _pvalue(float(v)) if "p_value" in k else _num(float(v), 4))
            for k, v in shown.items()
            if v is not None
        ],
    }


def _window_figures(check: DriftCheck) -> dict[str, dict[str, Any]]:
    if not check.windows:
        return {}
    starts = [w.start.isoformat() for w in check.windows]
    order = [r.feature for r in check.result.ranked()]
    grid = {f: [w.result[f] for w in check.windows] for f in order}
    worst = sorted(
        order,
        key=lambda f: (
            -max(r.status.severity for r in grid[f]),
            -max(r.ratio for r in grid[f]),
        ),
    )
    severity = [[r.status.severity for r in grid[f]] for f in worst]
    effects = [[_num(r.effect) for r in grid[f]] for f in worst]
    statuses = [[r.status.value for r in grid[f]] for f in worst]
    cells = [list(zip(*pair, strict=True)) for pair in zip(statuses, effects, strict=True)]
    levels = [STATUS_COLORS[s] for s in Status]
    scale = [[pos, color] for i, color in enumerate(levels) for pos in (i / 5, (i + 1) / 5)]
    heatmap = {
        "type": "heatmap", "x": starts, "y": worst, "z": severity, "zmin": -0.5, "zmax": 4.5,
        "colorscale": scale, "showscale": False, "xgap": 2, "ygap": 2,
        "customdata": cells,
        "hovertemplate": "%{y}<br>%{x}<br>%{customdata[0]} (%{customdata[1]})<extra></extra>",
    }  # fmt: skip
    if len(starts) * len(worst) <= 600:
        heatmap["text"] = effects
        heatmap["texttemplate"] = "%{text}"
        heatmap["textfont"] = {"color": "white", "size": 10}
    figures = {
        "windows-heatmap": {
            "data": [heatmap],
            "layout": _layout(
                max(180, 26 * len(worst) + 80),
                margin={"l": 120, "r": 16, "t": 16, "b": 48},
                yaxis={"autorange": "reversed", "automargin": True},
                xaxis={"type": "date"},
            ),
        }
    }
    lines = []
    for rank, feature in enumerate(worst):
        lines.append(
            {"type": "scatter", "mode": "lines+markers", "name": feature, "x": starts,
             "y": [r.effect for r in grid[feature]],
             "visible": True if rank < _MAX_LINES else "legendonly",
             "hovertemplate": f"{feature}<br>%{{x}}<br>effect %{{y:.4f}}<extra></extra>"}
        )  # fmt: skip
    first = check.result.features[0] if check.result.features else None
    shapes = []
    if first is not None and first.warn_threshold is not None and first.drift_threshold is not None:
        for value, color in ((first.warn_threshold, "#c27803"), (first.drift_threshold, "#d1242f")):
            shapes.append(
                {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": value, "y1": value,
                 "line": {"dash": "dash", "color": color, "width": 1.5}}
            )  # fmt: skip
    figures["windows-lines"] = {
        "data": lines,
        "layout": _layout(
            340,
            shapes=shapes,
            xaxis={"type": "date", "gridcolor": "#e5e7eb"},
            yaxis={
                "title": {"text": f"effect ({first.metric if first else ''})"},
                "gridcolor": "#e5e7eb",
                "rangemode": "tozero",
            },
            legend={"orientation": "v", "x": 1.01, "y": 1},
        ),
    }
    return figures


def _window_rows(check: DriftCheck) -> list[dict[str, Any]]:
    rows = []
    for window in check.windows:
        top = window.result.ranked()[0] if window.result.features else None
        rows.append(
            {
                "start": window.start.strftime("%Y-%m-%d %H:%M"),
                "end": window.end.strftime("%Y-%m-%d %H:%M"),
                "rows": f"{window.result.n_current:,}",
                "status": window.result.status.value,
                "color": STATUS_COLORS[window.result.status],
                "top": "" if top is None else f"{top.feature} ({_num(top.effect)})",
            }
        )
    return rows


def render_drift_html(check: DriftCheck, *, title: str = "Drift report") -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    check
        The outcome of :func:`steadyml.services.drift.check_drift`.
    title
        The page title.
    """
    from plotly.offline import get_plotlyjs

    ranked = check.result.ranked()
    features = [_feature(r, i) for i, r in enumerate(ranked)]
    figures: dict[str, dict[str, Any]] = {}
    for item, result in zip(features, ranked, strict=True):
        for suffix, figure in (
            ("dist", _distribution_figure(result)),
            ("band", _band_figure(result)),
        ):
            if figure is not None:
                figures[f"{item['id']}-{suffix}"] = figure
    figures.update(_window_figures(check))
    first = ranked[0] if ranked else None
    counts = check.result.counts()
    context = {
        "title": title,
        "check": check,
        "status": check.status.value,
        "status_color": STATUS_COLORS[check.status],
        "counts": [(s.value, counts[s.value], STATUS_COLORS[s]) for s in reversed(Status)],
        "features": features,
        "metric": first.metric if first else "tvd",
        "whole_status": check.result.status.value,
        "whole_color": STATUS_COLORS[check.result.status],
        "tolerance": "–"
        if first is None or first.warn_threshold is None
        else f"warn {first.warn_threshold:g}, drift {first.drift_threshold:g}",
        "n_reference": f"{check.result.n_reference:,}",
        "n_current": f"{check.result.n_current:,}",
        "false_alarm_rate": f"{check.result.false_alarm_rate:g}",
        "window": None if check.window is None else format_duration(check.window),
        "windows": _window_rows(check),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": steadyml.__version__,
        "figures_json": json.dumps(figures, allow_nan=False).replace("</", "<\\/"),
        "plotly_js": get_plotlyjs(),
        "colors": {s.value: c for s, c in STATUS_COLORS.items()},
    }
    return _ENV.get_template("drift.html.j2").render(context)


def write_drift_html(check: DriftCheck, path: str | Path, *, title: str = "Drift report") -> Path:
    """Render the report and write it to ``path`` (folders are created).

    Raises
    ------
    ConfigError
        When the file cannot be written.
    """
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_drift_html(check, title=title), encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--html", str(target), f"cannot write the report ({exc})") from None
    return target
