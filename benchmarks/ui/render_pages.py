# ruff: noqa: E501, B023
"""Server-side render time of every dashboard page on a large store.

Fills a SQLite store with 30 days of 5-minute windows for 50 features (drift effect,
PSI, null and type-error rates per feature; health, latency and volume metrics per
window; two model versions), 100 incidents with alerts and events, and alias moves;
then renders each page through the whole ASGI app (no network) and reports the median
and worst of several renders. Target: < 300 ms per page.

    uv run python benchmarks/ui/render_pages.py [--days 30] [--features 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitor_records import MetricPoint
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.tables import MetricPointRow
from steadyml.core.monitoring import Alert, Incident, IncidentEvent
from steadyml.faces.dashboard import DashboardConfig, create_dashboard

SERVICE = "census"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def fill(store: Store, days: int, features: int, incidents: int) -> int:
    """Write the metric series, incidents and alias moves; returns the number of points."""
    rng = np.random.default_rng(0)
    monitor = MonitorStore(store)
    windows = int(days * 24 * 60 / 5)
    names = [f"f{i:02d}" for i in range(features)]
    switch = windows // 2
    total = 0
    for chunk in range(0, windows, 288):  # one day per transaction
        points: list[MetricPoint] = []
        for w in range(chunk, min(windows, chunk + 288)):
            start = T0 + w * STEP
            version = "1" if w < switch else "2"

            def add(
                metric: str, subject: str, value: float, status: str | None = "ok", **at: str
            ) -> None:
                points.append(
                    MetricPoint(
                        SERVICE, at.get("v", version), "5m", start, metric, subject, value,
                        value * 0.8, value * 1.2, status, 3000,
                    )
                )  # fmt: skip

            add("volume.rows", "", 3000 + rng.normal(0, 50), None, v="*")
            for metric, value in (("health.error_rate", 0.001), ("health.fallback_rate", 0.01),
                                  ("health.nan_rate", 0.002), ("quality.rejection_rate", 0.003),
                                  ("health.latency_p50_ms", 4.0), ("health.latency_p95_ms", 9.0),
                                  ("health.latency_p99_ms", 15.0),
                                  ("prediction_drift.effect", 0.03)):  # fmt: skip
                add(metric, "", abs(value * (1 + rng.normal(0, 0.1))))
            for name in names:
                effect = abs(rng.normal(0.03, 0.01)) + (0.2 if name == "f00" and w > switch else 0)
                add("drift.effect", name, effect, "drift" if effect > 0.15 else "ok")
                add("drift.psi", name, effect * 2)
                add("quality.null_rate", name, abs(rng.normal(0, 0.002)))
                add("quality.type_error_rate", name, 0.0)
        rows = [{**p.__dict__, "updated_at": T0} for p in points]
        with store.engine.begin() as connection:  # bulk insert: filling is not what is measured
            connection.execute(insert(MetricPointRow), rows)
        total += len(points)
    with monitor.transaction(SERVICE) as tx:
        made, alerts, events = [], [], []
        for i in range(incidents):
            at = T0 + timedelta(hours=7 * i)
            key = f"incident-{i}"
            status = "open" if i >= incidents - 5 else "resolved"
            made.append(Incident(key, SERVICE, "feature_drift", "data", f"P{1 + i % 3}", status,
                                 f"feature drift: f{i % features:02d}", at, at, at + STEP,
                                 (f"f{i % features:02d}",), ("1",), (), "runbook",
                                 None if status == "open" else at + timedelta(hours=1)))  # fmt: skip
            alerts.append(Alert(SERVICE, "feature_drift", "drift.psi", f"f{i % features:02d}", "1",
                                "5m", "P2", "feature_drift", "data", "firing", at, at, at + STEP,
                                key, 0.3, 0.25, evidence={"condition": "psi >= 0.25"}))  # fmt: skip
            events.append(IncidentEvent(key, "opened", at, {"rule": "feature_drift"}))
        tx.apply(made, alerts, events)
    for alias, number, old, at in (("champion", 1, None, T0), ("previous", 1, None, T0 + switch * STEP),
                                    ("champion", 2, 1, T0 + switch * STEP)):  # fmt: skip
        store.record_alias_move(service=SERVICE, model_name=SERVICE, alias=alias, version=number,
                                previous_version=old, action="promote", actor="bench",
                                reason="benchmark", gate_passed=True, at=at)  # fmt: skip
    return total


async def measure(app: object, paths: list[str], repeat: int) -> dict[str, list[float]]:
    """Render each path ``repeat`` times after one warm-up; milliseconds per render."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    results: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for path in paths:
            first = await client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{path}: HTTP {first.status_code}")
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                await client.get(path)
                times.append((time.perf_counter() - began) * 1000)
            results[path] = times
    return results


def main() -> None:
    """Fill a store, render each page, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        with Store.open(f"sqlite:///{Path(tmp)}/bench.db") as store:
            points = fill(store, args.days, args.features, args.incidents)
            filled = time.perf_counter() - began
            app = create_dashboard(store, config=DashboardConfig(refresh_seconds=0))
            paths = ["/", f"/services/{SERVICE}?range=24h", f"/services/{SERVICE}?range=7d",
                     f"/services/{SERVICE}?range=30d", f"/services/{SERVICE}/features/f00?range=30d",
                     "/incidents", "/incidents?status=open", f"/incidents/{args.incidents}",
                     f"/models/{SERVICE}", f"/models/{SERVICE}?at=2026-01-20T00:00",
                     f"/api/services/{SERVICE}?range=30d"]  # fmt: skip
            results = asyncio.run(measure(app, paths, args.repeat))
    print(f"store: {points:,} metric points ({args.days} days of 5-minute windows, "
          f"{args.features} features), {args.incidents} incidents; filled in {filled:.0f} s")  # fmt: skip
    print("\n| page | median ms | worst ms |\n|---|---:|---:|")
    for path, times in results.items():
        print(f"| `{path}` | {statistics.median(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
