"""The dashboard's reads over long ranges, on SQLite and PostgreSQL.

A store with two days of 5-minute and 1-hour windows (two model versions, two features):
the aggregates the database returns are checked against numpy on the stored values,
every query of the service page reads the series index alone on SQLite (no table scan,
no row lookups), and long ranges read the coarser window when it covers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, insert

from steadyml.adapters.store import Store
from steadyml.adapters.store.tables import METRIC_SERIES_INDEX, MetricPointRow, WindowProfileRow
from steadyml.core.monitoring.payloads import encode
from steadyml.core.monitoring.scores import ScoreHistogram
from steadyml.core.monitoring.summary import summarize
from steadyml.faces.dashboard import DashboardConfig, create_dashboard, queries
from steadyml.faces.dashboard.views.common import Span

SERVICE = "census"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 2
STEP = timedelta(minutes=5)
SWITCH = T0 + timedelta(days=1)  # version 2 answers from here on
FEATURES = ("f0", "f1")


def _points(window: str, seconds: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    count = DAYS * 86_400 // seconds
    per = seconds // 300
    for i in range(count):
        start = T0 + timedelta(seconds=i * seconds)
        version = "1" if start < SWITCH else "2"
        common = {"service": SERVICE, "window": window, "window_start": start, "updated_at": T0}
        rate = float(rng.uniform(0.0, 0.02))
        n = int(rng.integers(1000, 5000)) * per
        rows.append({**common, "model_version": "*", "metric": "volume.rows", "subject": "",
                     "value": float(n), "low": None, "high": None, "status": None,
                     "n": n})  # fmt: skip
        rows.append({**common, "model_version": version, "metric": "health.error_rate",
                     "subject": "", "value": rate, "low": rate / 2, "high": rate * 2,
                     "status": "ok", "n": n})  # fmt: skip
        for feature in FEATURES:
            effect = float(rng.uniform(0.0, 0.3))
            status = "drift" if effect > 0.2 else "warn" if effect > 0.1 else "ok"
            rows.append({**common, "model_version": version, "metric": "drift.effect",
                         "subject": feature, "value": effect, "low": effect * 0.8,
                         "high": effect * 1.2, "status": status, "n": n})  # fmt: skip
    return rows


Series = tuple[Store, list[dict[str, Any]]]


@contextmanager
def _filled(url: str) -> Iterator[Series]:
    rng = np.random.default_rng(7)
    points = _points("5m", 300, rng) + _points("1h", 3600, rng)
    with Store.open(url) as store:
        with store.engine.begin() as connection:
            connection.execute(insert(MetricPointRow), points)
        yield store, points


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def series(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Series]:
    """A store with two days of 5-minute and 1-hour windows, and the points it holds."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path}/steadyml.db"
    with _filled(url) as filled:
        yield filled


@pytest.fixture
def sqlite_series(tmp_path: Path) -> Iterator[Series]:
    """The same store on SQLite (whose query plans are checked)."""
    with _filled(f"sqlite:///{tmp_path}/steadyml.db") as filled:
        yield filled


def _dashboard_get(store: Store, path: str) -> httpx.Response:
    app = create_dashboard(store, config=DashboardConfig(refresh_seconds=0))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(get())


def test_versions_and_first_windows(series: Series) -> None:
    store, _ = series
    end = T0 + timedelta(days=DAYS)
    spans = queries.version_spans(store, SERVICE, "5m", T0, end)
    assert spans == [("1", T0, SWITCH), ("2", SWITCH, end)]
    hourly = queries.version_spans(store, SERVICE, "1h", SWITCH - timedelta(hours=3), end)
    assert hourly == [("1", SWITCH - timedelta(hours=3), SWITCH), ("2", SWITCH, end)]
    assert queries.versions_seen(store, SERVICE) == {
        "1": (T0, SWITCH - STEP),
        "2": (SWITCH, end - STEP),
    }
    assert queries.first_starts(store, SERVICE, ["1h", "5m", "1d"]) == {"1h": T0, "5m": T0}
    assert queries.windows(store, SERVICE) == ["5m", "1h"]


def test_bucketed_matches_numpy_on_the_stored_points(
    series: Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, points = series
    bucket = 3 * 3600
    start, end = T0 + timedelta(hours=5), T0 + timedelta(days=DAYS)
    chosen = [p for p in points if p["window"] == "5m" and start <= p["window_start"] < end]

    def slot(p: dict[str, Any]) -> int:
        return int(p["window_start"].timestamp()) // bucket

    rates = queries.bucketed(store, SERVICE, "5m", ["health.error_rate"], start=start, end=end,
                             bucket_seconds=bucket)  # fmt: skip
    expected_rates = {}
    for s in sorted({slot(p) for p in chosen}):
        inside = [p for p in chosen if slot(p) == s and p["metric"] == "health.error_rate"]
        values, n = np.array([p["value"] for p in inside]), np.array([p["n"] for p in inside])
        expected_rates[s] = float(np.sum(values * n) / np.sum(n))
    assert [int(b.start.timestamp()) // bucket for b in rates] == list(expected_rates)
    assert [b.value for b in rates] == pytest.approx(list(expected_rates.values()), rel=1e-9)

    effects = queries.bucketed(store, SERVICE, "5m", ["drift.effect"], start=start, end=end,
                               bucket_seconds=bucket, by="subject", subject=None,
                               aggregate="max")  # fmt: skip
    found = {(int(b.start.timestamp()) // bucket, b.key): (b.value, b.worst) for b in effects}
    expected: dict[tuple[int, str], tuple[float, str]] = {}
    rank = {"ok": 0, "warn": 1, "drift": 2}
    for p in chosen:
        if p["metric"] != "drift.effect":
            continue
        key = (slot(p), p["subject"])
        value, worst = expected.get(key, (0.0, "ok"))
        expected[key] = (max(value, p["value"]), max(worst, p["status"], key=rank.__getitem__))
    assert found.keys() == expected.keys()
    for key, (value, worst) in expected.items():
        assert found[key][0] == pytest.approx(value, rel=1e-12)
        assert found[key][1] == worst
    if store.engine.dialect.name == "sqlite":  # SQLite before 3.38 has no unixepoch()
        monkeypatch.setattr(store.engine.dialect, "server_version_info", (3, 31, 1))
        again = queries.bucketed(store, SERVICE, "5m", ["health.error_rate"], start=start,
                                 end=end, bucket_seconds=bucket)  # fmt: skip
        assert again == rates


def test_pages_read_the_series_index_only_on_sqlite(sqlite_series: Series) -> None:
    store, _ = sqlite_series
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "steadyml_metric_series" in statement and statement.lstrip()[:4] in ("SELE", "WITH"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for path in ("/services/census?range=30d", "/services/census?range=24h",
                     "/services/census/features/f0?range=7d", "/", "/models/census"):  # fmt: skip
            assert _dashboard_get(store, path).status_code == 200, path
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) > 10
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            steps = [str(row[-1]) for row in plan if "steadyml_metric_series" in str(row[-1])]
            assert steps, statement
            for step in steps:
                assert "COVERING INDEX" in step, (step, statement)
                assert not step.startswith("SCAN"), (step, statement)
            if "window_start >=" in statement:  # a time range: seeks the series index
                assert any(METRIC_SERIES_INDEX in step for step in steps), (steps, statement)


def _meta(store: Store, path: str) -> str:
    response = _dashboard_get(store, "/api" + path)
    assert response.status_code == 200, response.text[:300]
    html: str = response.json()["html"]
    return html


def test_long_ranges_read_the_coarser_window_that_covers_them(
    series: Series,
) -> None:
    store, _ = series
    assert "1h windows" in _meta(store, "/services/census?range=30d")
    assert "5m windows" in _meta(store, "/services/census?range=24h")
    body = _dashboard_get(store, "/api/services/census?range=30d").json()
    traffic = body["figures"]["traffic"]["data"][0]["y"]
    assert traffic and all(1000 / 300 <= v <= 5000 / 300 for v in traffic if v is not None)
    assert "1h windows" in body["figures"]["heatmap"]["layout"]["title"]["text"]
    with store.engine.begin() as connection:  # the 1-hour windows only for the last day
        connection.execute(
            delete(MetricPointRow).where(
                MetricPointRow.window == "1h", MetricPointRow.window_start < SWITCH
            )
        )
    assert "5m windows" in _meta(store, "/services/census?range=30d")
    body = _dashboard_get(store, "/api/services/census?range=30d").json()
    assert "5m windows" in body["figures"]["heatmap"]["layout"]["title"]["text"]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(5 * 60, 400 * 86_400),
    st.sampled_from([(), ("1h",), ("1h", "1d"), ("1d",)]),
    st.integers(0, 40 * 86_400),
    st.integers(1, 300),
)
def test_a_span_in_buckets_uses_whole_windows_and_keeps_the_bucket_count(
    length: int, coarser: tuple[str, ...], late: int, buckets: int
) -> None:
    end = T0 + timedelta(days=400)
    start = end - timedelta(seconds=length)
    first = end - timedelta(days=400)
    stored = (("5m", first), *((w, first + timedelta(seconds=late)) for w in coarser))
    span = Span("x", "5m", start, end, 300, stored).in_buckets(buckets, align=True)
    size = {"5m": 300, "1h": 3600, "1d": 86_400}[span.window]
    assert span.bucket_seconds % size == 0
    assert span.start <= start and span.start.timestamp() % span.bucket_seconds == 0
    count = -(-(end - span.start).total_seconds() // span.bucket_seconds)
    assert count <= max(buckets, length / 300) + 1  # one more when the start moved back
    if span.window != "5m":  # a coarser window only where it fits and covers the range
        assert size <= length / buckets
        assert dict(stored)[span.window] <= max(start, first) + timedelta(seconds=size)
    else:  # and it is used whenever it would have been allowed
        for w in coarser:
            fits = {"1h": 3600, "1d": 86_400}[w] <= length / buckets
            covers = first + timedelta(seconds=late) <= start + timedelta(seconds=3600)
            assert not (fits and covers and w == "1h")


def test_score_bands_read_the_coarser_windows_when_the_range_ends_inside_one(
    sqlite_series: Series,
) -> None:
    store, _ = sqlite_series
    end = T0 + timedelta(days=DAYS) - timedelta(minutes=25)  # inside the newest hour
    template = summarize(pl.DataFrame({"status": ["ok"], "prediction": [0.5]}), scores=True)
    rng = np.random.default_rng(3)
    hours = [T0 + timedelta(hours=h) for h in range(DAYS * 24)]
    profiles = []
    for start in hours:
        scores = ScoreHistogram.of(rng.beta(2.0, 5.0, 500))
        payload = encode(replace(template, rows=500, scores=scores))
        profiles.append({"service": SERVICE, "model_version": "1" if start < SWITCH else "2",
                         "window": "1h", "window_start": start, "kind": "summary", "rows": 500,
                         "payload": payload, "updated_at": T0})  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(insert(WindowProfileRow), profiles)
        connection.execute(
            delete(MetricPointRow).where(
                MetricPointRow.window == "5m", MetricPointRow.window_start >= end
            )
        )
    body = _dashboard_get(store, "/api/services/census?range=30d").json()
    assert "1h windows" in body["html"]
    median = {t.get("name"): t for t in body["figures"]["scores"]["data"]}["p50"]
    times = [datetime.fromisoformat(x).replace(tzinfo=UTC) for x in median["x"]]
    assert times and set(times) <= set(hours)
    assert max(times) == end.replace(minute=0)  # the newest hour, still open
    assert all(0.1 <= y <= 0.5 for y in median["y"])  # Beta(2, 5): median 0.26
