"""Service health per window: error, fallback and NaN-output rates, latency against the SLO.

Rates carry a 95 % Wilson interval and a calibrated status: ``drift`` when the whole
interval lies above the objective (the service *is* out of its SLO), ``warn`` when
only the value does. Latency quantiles come from the window's mergeable KLL sketch;
their interval is the order-statistic interval of the quantile (the ranks
``q ± 1.96 √(q(1-q)/n)``, widened by the sketch's rank error).

Traffic volume is judged against the expected rate on complete windows of all model
versions together (``volume.ratio``), and log freshness per monitor pass.
"""

from __future__ import annotations

import math

import numpy as np

from steadyml.core.monitoring.context import WindowData
from steadyml.core.monitoring.measurements import Z95, Measurement, rate_measurement
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.spec import ServiceSpec

__all__ = ["check_health", "check_volume", "freshness", "quantile_interval"]

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def quantile_interval(summary: NumericSummary, q: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of quantile ``q`` of a numeric summary (NaN when empty)."""
    n = summary.finite
    if n == 0:
        return math.nan, math.nan, math.nan
    spread = Z95 * math.sqrt(q * (1.0 - q) / n) + summary.rank_error
    ranks = np.array([q, max(0.0, q - spread), min(1.0, q + spread)])
    estimate, low, high = summary.quantiles(ranks)
    return float(estimate), float(low), float(high)


def check_health(window: WindowData, spec: ServiceSpec) -> list[Measurement]:
    """Error, fallback and NaN-output rates, fallbacks by reason, latency quantiles."""
    summary = window.summary
    if summary is None or summary.rows == 0:
        return []
    slos = spec.slos
    reached = summary.rows - summary.status("rejected")  # requests that reached the model
    out = [
        rate_measurement(
            "health.error_rate", summary.status("error"), summary.rows, slos.error_rate
        ),
        rate_measurement(
            "health.fallback_rate", summary.status("fallback"), reached, slos.fallback_rate
        ),
        rate_measurement("health.nan_rate", summary.nan_outputs, reached, slos.fallback_rate),
    ]
    for reason, count in sorted(summary.fallback_reasons.items()):
        out.append(rate_measurement("health.fallback_reason", count, reached, None, subject=reason))
    objective = spec.latency_slo_ms
    for name, q in QUANTILES:
        value, low, high = quantile_interval(summary.latency, q)
        if math.isnan(value):
            continue
        status = None
        if name == "p99":
            status = "drift" if low > objective else "warn" if value > objective else "ok"
        out.append(
            Measurement(
                f"health.latency_{name}_ms",
                value,
                low=low,
                high=high,
                status=status,
                n=summary.latency.finite,
                details={"objective_ms": objective} if name == "p99" else {},
            )
        )
    return out


def check_volume(window: WindowData, spec: ServiceSpec) -> list[Measurement]:
    """Records in a complete window against the expected rate (all versions together).

    ``volume.ratio`` is records ÷ (expected requests per second × window seconds), with a
    Poisson 95 % interval; ``volume.rows`` the count itself.
    """
    summary = window.summary
    if not window.complete:
        return []
    rows = 0 if summary is None else summary.rows
    expected = spec.deployment.expected_throughput_rps * window.key.seconds
    spread = Z95 * math.sqrt(max(rows, 1))
    return [
        Measurement("volume.rows", float(rows), n=rows),
        Measurement(
            "volume.ratio",
            rows / expected,
            low=max(0.0, rows - spread) / expected,
            high=(rows + spread) / expected,
            n=rows,
            details={"expected_rows": expected},
        ),
    ]


def freshness(
    now_us: int, last_event_us: int | None, last_received_us: int | None
) -> list[Measurement]:
    """How stale the prediction log is at ``now``: seconds since the newest event and arrival."""
    out = []
    if last_event_us is not None:
        out.append(Measurement("log.freshness_seconds", max(0.0, (now_us - last_event_us) / 1e6)))
    if last_received_us is not None:
        out.append(
            Measurement("log.arrival_age_seconds", max(0.0, (now_us - last_received_us) / 1e6))
        )
    return out
