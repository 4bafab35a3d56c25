"""The overview: every service at a glance, with its open incidents."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from steadyml.core.durations import parse_duration
from steadyml.faces.dashboard import queries
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import Query

__all__ = ["overview"]

_HEADLINE = (
    "volume.rows",
    "health.latency_p99_ms",
    "health.error_rate",
    "quality.rejection_rate",
    "health.fallback_rate",
)
SEVERITIES = ("P0", "P1", "P2", "P3", "P4")


def _row(dash: Dashboard, service: str, counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    sizes = queries.windows(dash.store, service)
    window = sizes[0] if sizes else None
    values = queries.latest(dash.store, service, window, _HEADLINE) if window else {}
    seconds = None
    if window is not None:
        seconds = parse_duration(window.split("/")[0]).total_seconds()
    rows = values.get("volume.rows")
    return {
        "service": service,
        "champion": queries.champion(dash.store, service),
        "window": window,
        "rate": None if rows is None or not seconds else rows / seconds,
        "p99": values.get("health.latency_p99_ms"),
        "errors": values.get("health.error_rate"),
        "rejections": values.get("quality.rejection_rate"),
        "fallbacks": values.get("health.fallback_rate"),
        "open": {s: counts.get((service, s), 0) for s in SEVERITIES},
        "open_total": sum(n for (svc, _), n in counts.items() if svc == service),
        "last_run": queries.last_run(dash.store, service),
        "newest": queries.latest_start(dash.store, service, window) if window else None,
    }


def overview(dash: Dashboard, request: Request) -> Page:
    """Every service with its champion, traffic, latency, rates and open incidents."""
    Query(request.query_params, ())
    counts = queries.incident_counts(dash.store)
    rows = [_row(dash, service, counts) for service in queries.services(dash.store)]
    recent, _ = queries.incident_page(dash.store, queries.IncidentFilter(status="open"), limit=10)
    return Page(
        "overview.html.j2",
        "Overview",
        {"rows": rows, "severities": SEVERITIES, "recent": recent},
    )
