"""The provisionable Grafana dashboard: valid JSON, and every metric it reads exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from steadyml.services.serving.metrics import ServingMetrics

GRAFANA = Path(__file__).resolve().parents[3] / "grafana"
#: gauges the monitor exports for its window metrics
MONITOR = {"steadyml_monitor_metric"}


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
    return names | MONITOR | {"steadyml_log_queue_rows", "steadyml_log_queue_batches",
                              "steadyml_log_dropped_rows_total", "steadyml_log_written_rows_total",
                              "steadyml_log_write_errors_total"}  # fmt: skip


def test_dashboard_json_is_valid_and_reads_only_exported_metrics() -> None:
    board = json.loads((GRAFANA / "steadyml-dashboard.json").read_text())
    assert board["uid"] and board["panels"]
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bsteadyml_[a-z_]+", e)}
    assert used, "the panels read no steadyml metric"
    unknown = used - _exported()
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
