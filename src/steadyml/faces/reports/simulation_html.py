"""The self-contained HTML report of a simulation: a timeline, then the incident table.

One file that opens offline: rendered from a Jinja2 template, its timeline a Plotly
figure drawn by plotly.js embedded inline (from the installed ``plotly`` package).
The timeline shows requests per tick (coloured by replay mode: HTTP or log level), the
business KPI per tick when the scenario has an ``outcome:`` section (a line on its own
axis), the injected incidents as shaded spans, every alert fired and every action taken.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

import steadyml
from steadyml.services.simulation import SimulationResult

__all__ = ["render_simulation_html", "write_simulation_html"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("steadyml.faces.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
)
_MODE_COLORS = {"http": "#2563eb", "log": "#94a3b8"}
_SPAN = "rgba(209,36,47,0.10)"
_KPI_COLOR = "#b45309"


def _timeline(result: SimulationResult) -> dict[str, Any]:
    traces: list[dict[str, Any]] = []
    for mode, color in _MODE_COLORS.items():
        ticks = [t for t in result.ticks if t.mode == mode]
        if ticks:
            traces.append(
                {
                    "type": "bar",
                    "name": f"requests ({mode})",
                    "x": [t.start.isoformat() for t in ticks],
                    "y": [t.requests for t in ticks],
                    "marker": {"color": color},
                }
            )
    kpi = [(t.middle.isoformat(), t.kpi) for t in result.ticks if t.kpi is not None]
    outcome = result.scenario.outcome
    if kpi and outcome is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"KPI ({outcome.name} per answered request)",
                "x": [x for x, _ in kpi],
                "y": [y for _, y in kpi],
                "yaxis": "y3",
                "line": {"color": _KPI_COLOR, "width": 2},
            }
        )
    alerts = [(t.stop.isoformat(), name) for t in result.ticks for name in t.fired]
    if alerts:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "alert fired",
                "x": [a[0] for a in alerts],
                "y": [name for _, name in alerts],
                "yaxis": "y2",
                "marker": {"color": "#d1242f", "size": 10, "symbol": "diamond"},
            }
        )
    if result.actions:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "action",
                "x": [a.at.isoformat() for a in result.actions],
                "y": [f"{a.action} ({a.actor})" for a in result.actions],
                "yaxis": "y2",
                "marker": {"color": "#1a7f37", "size": 11, "symbol": "triangle-up"},
            }
        )
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": i.onset.isoformat(),
            "x1": (i.end or result.end).isoformat(),
            "y0": 0,
            "y1": 1,
            "fillcolor": _SPAN,
            "line": {"width": 0},
        }
        for i in result.incidents
        if i.type != "clean"
    ]
    notes = [
        {"x": i.onset.isoformat(), "y": 1.02, "yref": "paper", "text": i.name,
         "showarrow": False, "xanchor": "left", "font": {"size": 11}}
        for i in result.incidents
        if i.type != "clean"
    ]  # fmt: skip
    layout = {
        "height": 460,
        "margin": {"l": 60, "r": 220, "t": 40, "b": 40},
        "barmode": "stack",
        "yaxis": {"title": "requests per tick", "domain": [0, 0.55]},
        "yaxis2": {"domain": [0.62, 1], "type": "category"},
        "yaxis3": {
            "title": "KPI",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "color": _KPI_COLOR,
        },
        "shapes": shapes,
        "annotations": notes,
        "legend": {"orientation": "v", "x": 1.06, "y": 1},
        "plot_bgcolor": "#fff",
    }
    return {"data": traces, "layout": layout}


def render_simulation_html(result: SimulationResult) -> str:
    """The report as one HTML page (plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    report = result.to_dict()
    context = {
        "version": steadyml.__version__,
        "result": result,
        "report": report,
        "figure": json.dumps(_timeline(result)),
        "plotly_js": get_plotlyjs(),
    }
    return _ENV.get_template("simulation.html.j2").render(**context)


def write_simulation_html(result: SimulationResult, path: Path) -> Path:
    """Write the report to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_simulation_html(result), encoding="utf-8")
    return path
