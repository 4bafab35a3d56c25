# ruff: noqa: E501
"""Server-side render time of every dashboard page on a large store.

Fills a SQLite store with 30 days of 5-minute windows for 50 features (drift effect,
PSI, null and type-error rates per feature; health, latency and volume metrics per
window; two model versions; each window's summary payload with its score histogram),
100 incidents with alerts and events, and alias moves. Like the monitor with its
default ``monitors.windows: [5m, 1h, 1d]``, the store also holds the 1-hour and 1-day
windows over the same traffic (derived here from the 5-minute points in SQL:
rows added up, rates and effects averaged); ``--windows 5m`` leaves them out.
Then it renders each page through the whole ASGI app (no network) and reports the
median and worst of several renders. Target: < 300 ms per page.

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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
from starlette.applications import Starlette

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


def summaries(
    rng: np.random.Generator, span: range, switch: int, window: str = "5m", per: int = 1
) -> list[tuple[object, ...]]:
    """The ``summary`` payload of each window (``per`` 5-minute steps long) in ``span``.

    A histogram of 3,000 answered scores per 5 minutes; version 2 answers a little
    higher.
    """
    template = summarize(pl.DataFrame({"status": ["ok"], "prediction": [0.5]}), scores=True)
    rows: list[tuple[object, ...]] = []
    for w in span:
        version = "1" if w * per < switch else "2"
        shift = 2.0 if w * per < switch else 2.6
        scores = ScoreHistogram.of(rng.beta(shift, 5.0, 3000 * per))
        payload = encode(replace(template, rows=3000 * per, scores=scores))
        stamp = _stamp(T0 + w * per * STEP)
        rows.append((SERVICE, version, window, stamp, "summary", 3000 * per, payload, stamp))
    return rows


#: The coarser windows: label, 5-minute steps per window, SQLite format of its start.
COARSER = (("1h", 12, "%Y-%m-%d %H:00:00.000000"), ("1d", 288, "%Y-%m-%d 00:00:00.000000"))


def fill_coarser(cursor: Any, days: int, windows: tuple[str, ...]) -> None:
    """Derive the 1-hour and 1-day windows from the 5-minute points, in SQL.

    Row counts add up, rates and effects are averaged over the window (the monitor
    measures them on the merged window, which is what an average of equal-sized
    windows approximates); intervals widen to the outermost; the status follows the
    averaged drift effect.
    """
    rng = np.random.default_rng(1)
    steps = int(days * 24 * 60 / 5)
    switch = steps // 2
    for label, per, start in COARSER:
        if label not in windows:
            continue
        cursor.execute(
            f"INSERT INTO {MetricPointRow.__tablename__} (service, model_version, window, "
            "window_start, metric, subject, value, low, high, status, n, updated_at) "
            f"SELECT service, model_version, '{label}', strftime('{start}', window_start), "
            "metric, subject, "
            "CASE WHEN metric = 'volume.rows' THEN sum(value) ELSE avg(value) END, "
            "CASE WHEN metric = 'volume.rows' THEN sum(low) ELSE min(low) END, "
            "CASE WHEN metric = 'volume.rows' THEN sum(high) ELSE max(high) END, "
            "CASE WHEN metric = 'volume.rows' THEN NULL "
            "WHEN metric = 'drift.effect' AND avg(value) > 0.15 THEN 'drift' ELSE 'ok' END, "
            f"sum(n), min(updated_at) FROM {MetricPointRow.__tablename__} WHERE window = '5m' "
            f"GROUP BY service, model_version, strftime('{start}', window_start), metric, subject"
        )
        cursor.executemany(
            f"INSERT INTO {WindowProfileRow.__tablename__} (service, model_version, window, "
            "window_start, kind, rows, payload, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            summaries(rng, range(-(-steps // per)), switch, label, per),
        )


@dataclass(frozen=True)
class _Window:
    """One 5-minute window of 3,000 rows of a model version: its ``metric_points`` rows."""

    start: str
    version: str
    updated: str

    def point(
        self,
        metric: str,
        subject: str,
        value: float,
        status: str | None,
        *,
        bounds: tuple[float, float] | None = None,
    ) -> tuple[object, ...]:
        """A point of the window; its interval is the value -20 % / +20 % unless ``bounds``."""
        low, high = bounds if bounds is not None else (value * 0.8, value * 1.2)
        return (SERVICE, self.version, "5m", self.start, metric, subject, value, low, high,
                status, 3000, self.updated)  # fmt: skip


def fill_points(store: Store, days: int, features: int, sizes: tuple[str, ...]) -> int:
    """Write the metric series in one transaction with ``executemany``; the number of points.

    Values are drawn with numpy a day at a time and written through the database driver
    (filling is not what is measured: at 30 days and 50 features it is 1.8 million rows
    of 5-minute windows), then the coarser window ``sizes`` are derived from them.
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
                window = _Window(start, version, updated)
                volume = _Window(start, "*", updated)
                rows.append(volume.point("volume.rows", "", float(rows_volume[i]), None))
                for (metric, _), rate in zip(health, rates[i], strict=True):
                    rows.append(window.point(metric, "", float(rate), "ok"))
                effect_row = effects[i] + np.where(
                    (np.arange(features) == 0) & (w > switch), 0.2, 0.0
                )
                for name, effect, null in zip(
                    names, effect_row.tolist(), nulls[i].tolist(), strict=True
                ):
                    status = "drift" if effect > 0.15 else "ok"
                    rows += [
                        window.point("drift.effect", name, effect, status),
                        window.point(
                            "drift.psi", name, effect * 2, "ok", bounds=(effect * 1.6, effect * 2.4)
                        ),
                        window.point("quality.null_rate", name, null, "ok"),
                        window.point("quality.type_error_rate", name, 0.0, "ok"),
                    ]
            cursor.executemany(sql, rows)
            total += len(rows)
            cursor.executemany(profile_sql, summaries(rng, span, switch))
        fill_coarser(cursor, days, sizes)
        total = int(
            cursor.execute(f"SELECT count(*) FROM {MetricPointRow.__tablename__}").fetchone()[0]
        )
        raw.commit()
    finally:
        raw.close()
    return total


def fill(store: Store, days: int, features: int, incidents: int, sizes: tuple[str, ...]) -> int:
    """Write the metric series, incidents and alias moves; returns the number of points."""
    total = fill_points(store, days, features, sizes)
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


async def measure(
    app: Starlette, paths: list[str], repeat: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Render each path ``repeat`` times after one warm-up: wall and CPU milliseconds.

    The app starts up as under uvicorn (its lifespan runs) before the first request.
    CPU time is this process's, all threads: on a shared machine, wall time above it is
    time spent waiting for a core.
    """
    transport = httpx.ASGITransport(app=app)
    results: dict[str, tuple[list[float], list[float]]] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for path in paths:
            first = await client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{path}: HTTP {first.status_code}")
            walls, cpus = [], []
            for _ in range(repeat):
                began, cpu = time.perf_counter(), time.process_time()
                await client.get(path)
                walls.append((time.perf_counter() - began) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            results[path] = (walls, cpus)
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--windows", default="5m,1h,1d",
                        help="window sizes to store: 5m and any of 1h, 1d (default: all three)")  # fmt: skip
    parser.add_argument("--db", type=Path, help="SQLite file to fill once and reuse")
    parser.add_argument("--fill-only", action="store_true", help="fill --db and exit")
    args = parser.parse_args()
    windows = tuple(w.strip() for w in args.windows.split(","))
    if windows[0] != "5m" or not set(windows) <= {"5m", "1h", "1d"}:
        parser.error("--windows: 5m first, then any of 1h, 1d")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        fresh = not path.exists()
        began = time.perf_counter()
        with Store.open(f"sqlite:///{path}") as store:
            if fresh:
                points = fill(store, args.days, args.features, args.incidents, windows)
                print(f"filled {points:,} metric points in {time.perf_counter() - began:.0f} s")
            if args.fill_only:
                return
            with store.engine.connect() as connection:
                found = connection.exec_driver_sql(
                    f"SELECT window, count(*) FROM {MetricPointRow.__tablename__} GROUP BY window"
                ).all()
            stored = {str(w): int(n) for w, n in found}
            app = create_dashboard(store, config=DashboardConfig(refresh_seconds=0))
            paths = ["/", f"/services/{SERVICE}?range=24h", f"/services/{SERVICE}?range=7d",
                     f"/services/{SERVICE}?range=30d", f"/services/{SERVICE}?range=all",
                     f"/services/{SERVICE}/features/f00?range=24h",
                     f"/services/{SERVICE}/features/f00?range=7d",
                     f"/services/{SERVICE}/features/f00?range=30d",
                     "/incidents", "/incidents?status=open", f"/incidents/{args.incidents}",
                     f"/models/{SERVICE}", f"/models/{SERVICE}?at=2026-01-20T00:00",
                     f"/models/{SERVICE}/versions/2", "/reports",
                     f"/api/services/{SERVICE}?range=30d"]  # fmt: skip
            results = asyncio.run(measure(app, paths, args.repeat))
    listed = ", ".join(
        f"{n:,} of {w} windows" for w, n in sorted(stored.items(), key=lambda i: -i[1])
    )
    print(f"store: {sum(stored.values()):,} metric points ({listed}; {args.days} days, "
          f"{args.features} features), {args.incidents} incidents")  # fmt: skip
    print(f"machine: {_machine()}")
    print(
        f"\n| page | median ms | worst ms | median CPU ms |  (of {args.repeat} renders after a warm-up)\n|---|---:|---:|---:|"
    )
    for path, (walls, cpus) in results.items():
        print(
            f"| `{path}` | {statistics.median(walls):.0f} | {max(walls):.0f} | {statistics.median(cpus):.0f} |"
        )


if __name__ == "__main__":
    main()
