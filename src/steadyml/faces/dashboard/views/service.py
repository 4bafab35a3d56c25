"""The service page: traffic, latency, rates, drift heatmap, performance and KPI over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request

from steadyml.faces.dashboard import charts, queries
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import RANGES, Query
from steadyml.faces.dashboard.views import predictions as predictions_view
from steadyml.faces.dashboard.views.common import Span, known_service, span_of

__all__ = ["HEATMAP_COLUMNS", "service_page"]

#: At most this many time columns in the drift heatmap (each the largest effect in it).
HEATMAP_COLUMNS = 96

_PRIMARY = ("roc_auc", "accuracy", "f1", "mae", "rmse")


def lines(points: Sequence[queries.Bucketed], scale: float = 1.0) -> list[charts.Line]:
    """One line per group key (metric, subject or version) of bucketed points."""
    grouped: dict[str, tuple[list[datetime], list[float | None]]] = defaultdict(lambda: ([], []))
    for p in points:
        times, values = grouped[p.key]
        times.append(p.start)
        values.append(None if p.value is None else p.value * scale)
    return [(key, times, values) for key, (times, values) in grouped.items()]


def _named(found: list[charts.Line], names: dict[str, str]) -> list[charts.Line]:
    return [(names.get(k, k), t, v) for k, t, v in found]


def _series(
    dash: Dashboard, service: str, span: Span, metrics: Sequence[str], **options: Any
) -> list[queries.Bucketed]:
    return queries.bucketed(
        dash.store, service, span.window, metrics,
        start=span.start, end=span.end, bucket_seconds=span.bucket_seconds, **options,
    )  # fmt: skip


def _heatmap(dash: Dashboard, service: str, span: Span) -> tuple[dict[str, Any] | None, list[Any]]:
    # at most HEATMAP_COLUMNS columns: features x columns cells are read, drawn and shipped
    coarse = span.in_buckets(HEATMAP_COLUMNS)
    points = _series(
        dash, service, coarse, ["drift.effect"], by="subject", subject=None, aggregate="max"
    )
    if not points:
        return None, []
    times = sorted({p.start for p in points})
    column = {t: i for i, t in enumerate(times)}
    cells: dict[str, list[float | None]] = defaultdict(lambda: [None] * len(times))
    worst: dict[str, float] = defaultdict(float)
    for p in points:
        cells[p.key][column[p.start]] = p.value
        worst[p.key] = max(worst[p.key], p.value or 0.0)
    latest = {p.key: p for p in points if p.start == times[-1]}
    ranked = sorted(cells, key=lambda f: (-(latest[f].value or 0.0) if f in latest else 0.0, f))
    figure = charts.heatmap_figure(
        ranked, times, [cells[f] for f in ranked],
        title=f"Drift effect per feature (largest of the {coarse.window} windows in each column)",
        zmax=max(0.2, max(worst.values(), default=0.0)),
    )  # fmt: skip
    table = [
        {
            "feature": f,
            "effect": latest[f].value if f in latest else None,
            "status": latest[f].worst if f in latest else None,
            "peak": worst[f],
        }
        for f in ranked
    ]
    return figure, table


def _primary(dash: Dashboard, service: str, span: Span) -> str | None:
    spec = dash.config.spec
    if spec is not None and spec.service == service:
        return spec.primary_metric
    present = queries.latest(
        dash.store, service, span.window,
        [f"performance.{m}" for m in _PRIMARY] + [f"performance.estimated_{m}" for m in _PRIMARY],
    )  # fmt: skip
    for name in _PRIMARY:
        if f"performance.{name}" in present or f"performance.estimated_{name}" in present:
            return name
    return None


def service_page(dash: Dashboard, request: Request, service: str) -> Page:
    """Timelines of one service over the chosen range, shaded by model version."""
    known_service(dash, service)
    query = Query(request.query_params, ("range",))
    span = span_of(dash, service, query)
    context: dict[str, Any] = {
        "service": service,
        "ranges": list(RANGES),
        "span": span,
        "champion": queries.champion(dash.store, service),
        "features": [],
        "incidents": [],
        "audit": queries.audit_entries(dash.store, service=service, limit=10),
    }
    context["incidents"], _ = queries.incident_page(
        dash.store, queries.IncidentFilter(service=service), limit=10
    )
    figures: dict[str, dict[str, Any]] = {}
    if span is None:
        return Page("service.html.j2", service, context, figures)
    spans = queries.version_spans(dash.store, service, span.window, span.start, span.end)
    rows = _series(dash, service, span, ["volume.rows"], aggregate="mean")
    figures["traffic"] = charts.timeline_figure(
        _named(lines(rows, 1.0 / span.window_seconds), {"volume.rows": "requests/s"}), spans,
        title="Traffic", unit="requests/s",
    )  # fmt: skip
    latency = _series(
        dash, service, span,
        ["health.latency_p50_ms", "health.latency_p95_ms", "health.latency_p99_ms"],
        aggregate="max",
    )  # fmt: skip
    figures["latency"] = charts.timeline_figure(
        _named(lines(latency), {f"health.latency_{q}_ms": q for q in ("p50", "p95", "p99")}),
        spans, title="Latency (slowest version)", unit="ms",
    )  # fmt: skip
    rates = _series(
        dash, service, span,
        ["health.fallback_rate", "health.nan_rate", "health.error_rate", "quality.rejection_rate"],
    )  # fmt: skip
    figures["rates"] = charts.timeline_figure(
        _named(lines(rates), {
            "health.fallback_rate": "fallback", "health.nan_rate": "NaN output",
            "health.error_rate": "error", "quality.rejection_rate": "rejected",
        }),
        spans, title="Fallback, NaN, error and rejection rates", percent=True,
    )  # fmt: skip
    heatmap, context["features"] = _heatmap(dash, service, span)
    if heatmap is not None:
        figures["heatmap"] = heatmap
    predictions = _series(
        dash, service, span, ["prediction_drift.effect"], by="version", aggregate="max"
    )
    if predictions:
        figures["predictions"] = charts.timeline_figure(
            [(f"v{k}", t, v) for k, t, v in lines(predictions)], spans,
            title="Prediction distribution: drift of the answers from the reference",
            unit="effect",
        )  # fmt: skip
    scores = predictions_view.scores_figure(dash, service, span, spans)
    if scores is not None:
        figures["scores"] = scores
    primary = _primary(dash, service, span)
    if primary is not None:
        perf = _series(
            dash, service, span, [f"performance.{primary}", f"performance.estimated_{primary}"]
        )
        coverage = _series(dash, service, span, ["performance.label_coverage"])
        if perf:
            figures["performance"] = charts.timeline_figure(
                _named(lines(perf), {
                    f"performance.{primary}": f"{primary} (realised)",
                    f"performance.estimated_{primary}": f"{primary} (estimated, CBPE)",
                }),
                spans, title=f"Performance: {primary}, estimated and realised",
                secondary=_named(lines(coverage), {"performance.label_coverage": "label coverage"}),
            )  # fmt: skip
    kpi = _series(dash, service, span, ["kpi.value"], by="subject", subject=None)
    if kpi:
        figures["kpi"] = charts.timeline_figure(lines(kpi), spans, title="Business KPI")
    context["primary"] = primary
    context["spans"] = spans
    return Page("service.html.j2", service, context, figures)
