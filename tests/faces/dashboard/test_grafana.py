"""The provisionable Grafana dashboard: valid JSON; every metric and label it reads exists.

The monitor's names and labels are scraped from a real ``MonitorGauges`` after a real
monitor pass, so a renamed label on either side fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from steadyml.adapters.sinks import Dispatcher, JsonLogSink, RetryPolicy, Route
from steadyml.core.monitoring import METRICS
from steadyml.services.notifications import MonitorGauges
from steadyml.services.serving.metrics import ServingMetrics
from tests.core.monitoring.helpers import T0
from tests.services.monitoring.conftest import WINDOW, Rig, rig, trained  # noqa: F401

GRAFANA = Path(__file__).resolve().parents[3] / "grafana"


def _exported() -> set[str]:
    metrics = ServingMetrics("employment")
    metrics.observe_request("predict", 200, 0.01)  # labelled series appear once used
    metrics.error("timeout")
    metrics.reject("bad_json")
    metrics.reloads.labels("ok").inc()
    names = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names | {"steadyml_log_queue_rows", "steadyml_log_queue_batches",
                              "steadyml_log_dropped_rows_total", "steadyml_log_written_rows_total",
                              "steadyml_log_write_errors_total"}  # fmt: skip


def test_dashboard_json_is_valid_and_reads_only_exported_metrics() -> None:
    board = json.loads((GRAFANA / "steadyml-dashboard.json").read_text())
    assert board["uid"] and board["panels"]
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bsteadyml_[a-z_]+", e)}
    assert used, "the panels read no steadyml metric"
    # the monitor's gauges are checked against a real monitor pass below
    unknown = {m for m in used - _exported() if not re.match(r"steadyml_(monitor|sink)_", m)}
    assert not unknown, f"panels read metrics nobody exports: {sorted(unknown)}"
    titles = " ".join(p["title"].lower() for p in board["panels"])
    for topic in (
        "traffic",
        "latency",
        "errors",
        "fallback",
        "rejection",
        "log",
        "version",
        "drift",
    ):
        assert topic in titles


def test_provisioning_yaml_points_at_a_dashboard_folder() -> None:
    loaded = yaml.safe_load((GRAFANA / "provisioning.yaml").read_text())
    [provider] = loaded["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def _monitor_labels(rig: Rig) -> dict[str, set[str]]:  # noqa: F811
    """Label names per exported monitor family, after a real pass with an incident."""
    rig.write(rig.records(0, 2, nan_share=0.1))
    rig.run(T0 + 3 * WINDOW)
    dispatcher = Dispatcher([Route(JsonLogSink(name="log"), policy=RetryPolicy(0))])
    try:
        gauges = MonitorGauges(rig.spec, rig.monitor_store, clock=rig.clock, dispatcher=dispatcher)
        gauges.pass_done()
        labels: dict[str, set[str]] = {}
        for family in gauges.collect():
            for sample in family.samples:
                labels.setdefault(sample.name, set()).update(sample.labels)
    finally:
        dispatcher.close(timeout=1.0)
    return labels


def test_monitor_panels_match_what_the_monitor_exports(rig: Rig) -> None:  # noqa: F811
    exported = _monitor_labels(rig)
    assert exported["steadyml_monitor_metric"] == {
        "service",
        "version",
        "window",
        "metric",
        "subject",
    }
    board = json.loads((GRAFANA / "steadyml-dashboard.json").read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    monitor = [e for e in exprs if re.search(r"steadyml_(monitor|sink)_", e)]
    assert len(monitor) >= 6
    for expr in monitor:
        names = set(re.findall(r"\bsteadyml_(?:monitor|sink)_[a-z_]+", expr))
        unknown = names - set(exported)
        assert not unknown, f"{expr}: nobody exports {sorted(unknown)}"
        known = set().union(*(exported[n] for n in names))
        used = set(re.findall(r"(\w+)\s*=~?\s*\"", expr))
        for group in re.findall(r"by \(([^)]*)\)", expr):
            used |= {g.strip() for g in group.split(",")}
        assert used <= known, f"{expr}: labels {sorted(used - known)} are not exported"
        for metric in re.findall(r'metric=~?"([^"]+)"', expr):
            for name in metric.split("|"):
                assert name in METRICS, f"{expr}: {name} is not a monitored metric"
    windows = {v["name"]: v for v in board["templating"]["list"]}
    assert "steadyml_monitor_metric, window" in windows["window"]["query"]
