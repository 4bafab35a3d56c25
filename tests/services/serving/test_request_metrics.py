"""The bulk request metrics expose what prometheus_client's Counter and Histogram would."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from steadyml.services.serving.request_metrics import RequestMetrics

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.1, 1.0)
ENDPOINTS = ("predict", "feedback")


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the ``_created`` ones, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def reference(observations: list[tuple[str, int, float]]) -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("steadyml_requests", "r", ["endpoint", "code"], registry=registry)
    histogram = Histogram(
        "steadyml_request_latency_seconds", "l", ["endpoint"], buckets=BUCKETS, registry=registry
    )
    for endpoint in ENDPOINTS:
        histogram.labels(endpoint)
    for endpoint, code, seconds in observations:
        counter.labels(endpoint, str(code)).inc()
        histogram.labels(endpoint).observe(seconds)
    return registry


@settings(max_examples=60, deadline=None)
@given(
    observations=st.lists(
        st.tuples(
            st.sampled_from(ENDPOINTS),
            st.sampled_from((200, 400, 422, 503)),
            st.one_of(
                st.sampled_from(BUCKETS),  # on a bound: counted in that bucket (le)
                st.floats(0.0, 5.0, allow_nan=False),
            ),
        ),
        max_size=300,
    ),
    fold_at=st.integers(1, 50),  # folds mid-way too
)
def test_the_series_match_prometheus_clients_own(
    observations: list[tuple[str, int, float]], fold_at: int
) -> None:
    registry = CollectorRegistry()
    bulk = RequestMetrics(buckets=BUCKETS, endpoints=ENDPOINTS, fold_at=fold_at)
    registry.register(bulk)
    for index, (endpoint, code, seconds) in enumerate(observations):
        bulk.observe(endpoint, code, seconds)
        if index == len(observations) // 2:
            samples(registry)  # a scrape in the middle folds what is pending
    got, want = samples(registry), samples(reference(observations))
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


def test_the_text_exposition_has_the_histogram_and_counter_lines() -> None:
    registry = CollectorRegistry()
    bulk = RequestMetrics(buckets=BUCKETS, endpoints=ENDPOINTS)
    registry.register(bulk)
    latencies = np.random.default_rng(3).exponential(0.004, 1000)
    for seconds in latencies:
        bulk.observe("predict", 200, float(seconds))
    text = generate_latest(registry).decode()
    assert 'steadyml_requests_total{code="200",endpoint="predict"} 1000.0' in text
    assert 'steadyml_request_latency_seconds_bucket{endpoint="predict",le="+Inf"} 1000.0' in text
    within = int((latencies <= 0.005).sum())
    assert (
        f'steadyml_request_latency_seconds_bucket{{endpoint="predict",le="0.005"}} {within}.0'
        in text
    )
    assert 'steadyml_request_latency_seconds_count{endpoint="feedback"} 0.0' in text
