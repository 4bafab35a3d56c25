"""Prediction distribution over time: quantiles of stored score histograms, on a real store."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.adapters.store import Store
from steadyml.core.monitoring.scores import EDGES, ScoreHistogram
from steadyml.faces.dashboard import DashboardConfig, create_dashboard
from steadyml.faces.dashboard.views.predictions import LEVELS, score_quantiles
from tests.faces.dashboard.scenario import Scenario


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=400),
    st.sampled_from(LEVELS),
)
def test_quantiles_fall_in_the_bin_of_numpys_quantile(values: list[float], level: float) -> None:
    scores = np.asarray(values)
    found = score_quantiles(ScoreHistogram.of(scores), (level,))[0]
    exact = float(np.quantile(scores, level, method="inverted_cdf"))
    edges = np.r_[0.0, EDGES, 1.0]
    bin_of = int(np.searchsorted(EDGES, exact, side="right"))
    assert edges[bin_of] - 1e-12 <= found <= edges[bin_of + 1] + 1e-12


def test_quantiles_of_a_known_distribution_match_numpy() -> None:
    scores = np.random.default_rng(3).beta(2.0, 5.0, 20_000)
    found = score_quantiles(ScoreHistogram.of(scores))
    assert found == pytest.approx(np.quantile(scores, LEVELS).tolist(), abs=0.01)


def test_the_service_page_draws_score_bands_from_the_monitor(
    scenario: Scenario, store: Store
) -> None:
    app = create_dashboard(store, config=DashboardConfig(refresh_seconds=0))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/api/services/employment?range=all")

    response = asyncio.run(get())
    assert response.status_code == 200, response.text
    figure = response.json()["figures"]["scores"]
    traces = {trace.get("name"): trace for trace in figure["data"]}
    median = traces["p50"]["y"]
    outer_high = traces["p5–p95"]["y"]
    assert median and all(0.0 <= m <= 1.0 for m in median)
    assert all(m <= h for m, h in zip(median, outer_high, strict=True))
    assert len(set(traces["p50"]["x"])) == len(median)  # one point per window
