# ruff: noqa: E501
"""Server-side render time of every dashboard page on a large store.

Fills a SQLite store with 30 days of 5-minute windows for 50 features (drift effect,
PSI, null and type-error rates per feature; health, latency and volume metrics per
window; two model versions; each window's summary payload with its score histogram),
100 incidents with alerts and events, and alias moves;
then renders each page through the whole ASGI app (no network) and reports the median
and worst of several renders. Target: < 300 ms per page.

    uv run python benchmarks/ui/render_pages.py --db /tmp/ui.db --fill-only   # once
    uv run python benchmarks/ui/render_pages.py --db /tmp/ui.db               # alone

Fill once, then measure with nothing else running on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.tables import MetricPointRow, WindowProfileRow
from steadyml.core.monitoring import Alert, Incident, IncidentEvent
from steadyml.core.monitoring.payloads import encode
from steadyml.core.monitoring.scores import ScoreHistogram
from steadyml.core.monitoring.summary import summarize
from steadyml.faces.dashboard import DashboardConfig, create_dashboard

SERVICE = "census"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def _stamp(moment: datetime) -> str:
    """How the store keeps a UTC time in SQLite (naive ISO text with microseconds)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def summaries(rng: np.random.Generator, span: range, switch: int) -> list[tuple[object, ...]]:
    """Each window's ``summary`` payload with a histogram of 3,000 answered scores."""
    template = summarize(pl.DataFrame({"status": ["ok"], "prediction": [0.5]}), scores=True)
    rows: list[tuple[object, ...]] = []
    for w in span:
        version = "1" if w < switch else "2"
        shift = 2.0 if w < switch else 2.6  # v2 answers a little higher
        scores = ScoreHistogram.of(rng.beta(shift, 5.0, 3000))
        payload = encode(replace(template, rows=3000, scores=scores))
        stamp = _stamp(T0 + w * STEP)
        rows.append((SERVICE, version, "5m", stamp, "summary", 3000, payload, stamp))
    return rows


def fill_points(store: Store, days: int, features: int) -> int:
    """Write the metric series in one transaction with ``executemany``; the number of points.

    Values are drawn with numpy a day at a time and written through the database driver
    (filling is not what is measured: at 30 days and 50 features it is 1.8 million rows).
    """
    rng = np.random.default_rng(0)
    windows = int(days * 24 * 60 / 5)
    names = [f"f{i:02d}" for i in range(features)]
    switch = windows // 2
    health = (("health.error_rate", 0.001), ("health.fallback_rate", 0.01),
              ("health.nan_rate", 0.002), ("quality.rejection_rate", 0.003),
              ("health.latency_p50_ms", 4.0), ("health.latency_p95_ms", 9.0),
              ("health.latency_p99_ms", 15.0), ("prediction_drift.effect", 0.03))  # fmt: skip
    updated = _stamp(T0)
    sql = (
        f"INSERT INTO {MetricPointRow.__tablename__} (service, model_version, window, "
        "window_start, metric, subject, value, low, high, status, n, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    profile_sql = (
        f"INSERT INTO {WindowProfileRow.__tablename__} (service, model_version, window, "
        "window_start, kind, rows, payload, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    total = 0
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # the store's connections autocommit otherwise
        for day in range(0, windows, 288):
            span = range(day, min(windows, day + 288))
            count = len(span)
            rows_volume = 3000 + rng.normal(0, 50, count)
            rates = np.abs(
                np.array([v for _, v in health]) * (1 + rng.normal(0, 0.1, (count, len(health))))
            )
            effects = np.abs(rng.normal(0.03, 0.01, (count, features)))
            nulls = np.abs(rng.normal(0, 0.002, (count, features)))
            rows: list[tuple[object, ...]] = []
            for i, w in enumerate(span):
                start = _stamp(T0 + w * STEP)
                version = "1" if w < switch else "2"
                value = float(rows_volume[i])
                rows.append(
                    (
                        SERVICE,
                        "*",
                        "5m",
                        start,
                        "volume.rows",
                        "",
                        value,
                        value * 0.8,
                        value * 1.2,
                        None,
                        3000,
                        updated,
                    )
                )
                for (metric, _), rate in zip(health, rates[i], strict=True):
                    value = float(rate)
                    rows.append(
                        (
                            SERVICE,
                            version,
                            "5m",
                            start,
                            metric,
                            "",
                            value,
                            value * 0.8,
                            value * 1.2,
                            "ok",
                            3000,
                            updated,
                        )
                    )
                effect_row = effects[i] + np.where(
                    (np.arange(features) == 0) & (w > switch), 0.2, 0.0
                )
                for name, effect, null in zip(
                    names, effect_row.tolist(), nulls[i].tolist(), strict=True
                ):
                    status = "drift" if effect > 0.15 else "ok"
                    rows.append(
                        (
                            SERVICE,
                            version,
                            "5m",
                            start,
                            "drift.effect",
                            name,
                            effect,
                            effect * 0.8,
                            effect * 1.2,
                            status,
                            3000,
                            updated,
                        )
                    )
                    rows.append(
                        (
                            SERVICE,
                            version,
                            "5m",
                            start,
                            "drift.psi",
                            name,
                            effect * 2,
                            effect * 1.6,
                            effect * 2.4,
                            "ok",
                            3000,
                            updated,
                        )
                    )
                    rows.append(
                        (
                            SERVICE,
                            version,
                            "5m",
                            start,
                            "quality.null_rate",
                            name,
                            null,
                            null * 0.8,
                            null * 1.2,
                            "ok",
                            3000,
                            updated,
                        )
                    )
                    rows.append(
                        (
                            SERVICE,
                            version,
                            "5m",
                            start,
                            "quality.type_error_rate",
                            name,
                            0.0,
                            0.0,
                            0.0,
                            "ok",
                            3000,
                            updated,
                        )
                    )
            cursor.executemany(sql, rows)
            total += len(rows)
            cursor.executemany(profile_sql, summaries(rng, span, switch))
        raw.commit()
    finally:
        raw.close()
    return total


def fill(store: Store, days: int, features: int, incidents: int) -> int:
    """Write the metric series, incidents and alias moves; returns the number of points."""
    total = fill_points(store, days, features)
    windows = int(days * 24 * 60 / 5)
    switch = windows // 2
    monitor = MonitorStore(store)
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


def _machine() -> str:
    import platform

    import plotly
    import sqlalchemy
    import starlette

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}, "
        f"Starlette {starlette.__version__}, Plotly {plotly.__version__}"
    )


def main() -> None:
    """Fill a store (or reuse one), render each page, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db", type=Path, help="SQLite file to fill once and reuse")
    parser.add_argument("--fill-only", action="store_true", help="fill --db and exit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        fresh = not path.exists()
        began = time.perf_counter()
        with Store.open(f"sqlite:///{path}") as store:
            if fresh:
                points = fill(store, args.days, args.features, args.incidents)
                print(f"filled {points:,} metric points in {time.perf_counter() - began:.0f} s")
            if args.fill_only:
                return
            points = (
                store.engine.connect()
                .exec_driver_sql(f"SELECT count(*) FROM {MetricPointRow.__tablename__}")
                .scalar_one()
            )
            app = create_dashboard(store, config=DashboardConfig(refresh_seconds=0))
            paths = ["/", f"/services/{SERVICE}?range=24h", f"/services/{SERVICE}?range=7d",
                     f"/services/{SERVICE}?range=30d", f"/services/{SERVICE}/features/f00?range=30d",
                     "/incidents", "/incidents?status=open", f"/incidents/{args.incidents}",
                     f"/models/{SERVICE}", f"/models/{SERVICE}?at=2026-01-20T00:00",
                     f"/api/services/{SERVICE}?range=30d"]  # fmt: skip
            results = asyncio.run(measure(app, paths, args.repeat))
    print(f"store: {points:,} metric points ({args.days} days of 5-minute windows, "
          f"{args.features} features), {args.incidents} incidents")  # fmt: skip
    print(f"machine: {_machine()}")
    print(
        f"\n| page | median ms | worst ms |  (of {args.repeat} renders after a warm-up)\n|---|---:|---:|"
    )
    for path, times in results.items():
        print(f"| `{path}` | {statistics.median(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
