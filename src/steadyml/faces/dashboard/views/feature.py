"""The feature page: reference against current distribution, drift over time, data quality."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from starlette.requests import Request

from steadyml.core.drift import DEFAULT_TOLERANCE, Tolerance, compare
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring.checks.drift import tolerance
from steadyml.core.monitoring.payloads import decode, merge
from steadyml.core.profiles import ProfileView
from steadyml.errors import NotFoundError, SteadyError
from steadyml.faces.dashboard import charts, queries
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import RANGES, Query
from steadyml.faces.dashboard.views.common import Span, known_service, span_of
from steadyml.faces.dashboard.views.service import lines

__all__ = ["feature_page"]

_QUALITY = {
    "quality.null_rate": "missing (above reference)",
    "quality.type_error_rate": "wrong type",
    "quality.unseen_rate": "unseen category",
    "quality.out_of_range_rate": "out of range",
}


def _tolerance(dash: Dashboard, service: str) -> Tolerance:
    spec = dash.config.spec
    return tolerance(spec) if spec is not None and spec.service == service else DEFAULT_TOLERANCE


def _pane(span: Span, at: datetime | None) -> datetime:
    # the shortest stored window holding ``at`` (default: the newest one)
    step = parse_duration(span.finest.split("/")[0]).total_seconds()
    moment = span.end - timedelta(seconds=step) if at is None else at
    return datetime.fromtimestamp(moment.timestamp() // step * step, tz=moment.tzinfo)


def _distribution(
    dash: Dashboard, service: str, feature: str, window: str, start: datetime
) -> tuple[dict[str, Any] | None, str]:
    found = queries.payloads(dash.store, service, window, start, "inputs")
    if not found:
        return None, f"no input profile stored for the window starting {start:%Y-%m-%d %H:%M}"
    version = max(found, key=lambda item: item[1])[0]
    reference = None if dash.references is None else dash.references.get(version)
    if reference is None:
        return None, (
            f"the reference of version {version} is not available here; "
            "open the dashboard with --spec to compare distributions"
        )
    views = [decode("inputs", p) for v, _, p in found if v == version]
    current = reduce(merge, views)
    if not isinstance(current, ProfileView) or feature not in reference.features:
        return None, f"version {version} has no profile of {feature}"
    try:
        result = compare(reference.profile, current, columns=[feature])[feature]
    except SteadyError as exc:
        return None, exc.one_line()
    if result.histogram is None:
        return None, f"{feature}: {result.message or 'no histogram'}"
    hist = result.histogram
    ref_total, cur_total = sum(hist.reference) or 1, sum(hist.current) or 1
    figure = charts.bars_figure(
        list(hist.labels),
        {
            f"reference (v{version})": [c / ref_total for c in hist.reference],
            f"window {start:%Y-%m-%d %H:%M}": [c / cur_total for c in hist.current],
        },
        title=f"{feature}: reference against the window ({result.status.value}, "
        f"{result.metric} {result.effect or 0.0:.3f})",
    )
    return figure, ""


def feature_page(dash: Dashboard, request: Request, service: str, feature: str) -> Page:
    """One feature of one service: its distribution in a window and its drift over time."""
    known_service(dash, service)
    query = Query(request.query_params, ("range", "at"))
    span = span_of(dash, service, query)
    at = query.moment("at")
    if span is None or not queries.has_subject(
        dash.store, service, span.finest, "drift.effect", feature, since=span.start
    ):
        raise NotFoundError(
            "feature", feature, f"pick a feature on the page of service {service!r}"
        )
    band = _tolerance(dash, service)
    spans = queries.version_spans(dash.store, service, span.window, span.start, span.end)
    effect = queries.bucketed(
        dash.store, service, span.window, ["drift.effect"], start=span.start, end=span.end,
        bucket_seconds=span.bucket_seconds, subject=feature, aggregate="max",
    )  # fmt: skip
    figures: dict[str, dict[str, Any]] = {
        "effect": charts.band_figure(
            [p.start for p in effect], [p.value for p in effect],
            [p.low for p in effect], [p.high for p in effect],
            warn=band.warn, drift=band.drift, spans=spans,
            title=f"Drift of {feature} ({band.metric}) with warn and drift bands",
        )
    }  # fmt: skip
    quality = queries.bucketed(
        dash.store, service, span.window, list(_QUALITY), start=span.start, end=span.end,
        bucket_seconds=span.bucket_seconds, subject=feature,
    )  # fmt: skip
    if quality:
        named = [(_QUALITY.get(k, k), t, v) for k, t, v in lines(quality)]
        figures["quality"] = charts.timeline_figure(
            named, spans, title=f"Data quality of {feature}", percent=True
        )
    chosen = _pane(span, at)
    distribution, note = _distribution(dash, service, feature, span.finest, chosen)
    if distribution is not None:
        figures["distribution"] = distribution
    counts = {_QUALITY.get(p.key, p.key): p.value for p in quality}  # the newest bucket wins
    context = {
        "service": service,
        "feature": feature,
        "span": span,
        "ranges": list(RANGES),
        "chosen": chosen,
        "note": note,
        "band": band,
        "latest_quality": counts,
        "features": queries.subjects(dash.store, service, span.finest, "drift.effect"),
    }
    return Page("feature.html.j2", f"{service} · {feature}", context, figures)
