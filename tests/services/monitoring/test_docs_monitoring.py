"""docs/monitoring.md is a contract: every metric and default rule documented, examples valid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from steadyml.core.monitoring import METRICS, compile_rules, default_rules
from steadyml.core.performance import metric_names
from steadyml.spec import Task, parse_spec

PAGE = Path(__file__).resolve().parents[3] / "docs" / "monitoring.md"


def _text() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_every_metric_of_the_catalog_is_documented() -> None:
    text = _text()
    task_metrics = {m for task in Task for m in metric_names(task)}
    missing = []
    for name in METRICS:
        if f"`{name}`" in text or f"`{name}:" in text:
            continue
        if name.startswith("performance.estimated_"):
            if "`performance.estimated_<metric>`" in text:
                continue
        elif name.removeprefix("performance.") in task_metrics and "`performance.<metric>`" in text:
            continue
        missing.append(name)
    assert missing == []


def test_every_default_rule_is_in_the_table() -> None:
    raw: dict[str, Any] = {
        "service": "s",
        "task": "binary_classification",
        "data": {"source": {"path": "x"}, "target": "y"},
        "monitors": {"kpi": {"name": "converted"}},
    }
    text = _text()
    for rule in default_rules(parse_spec(raw)):
        assert f"| `{rule.name}`" in text, rule.name


def test_the_yaml_example_is_a_valid_monitoring_config() -> None:
    [block] = re.findall(r"```yaml\n(.*?)```", _text(), re.DOTALL)
    example = yaml.safe_load(block)
    raw: dict[str, Any] = {
        "service": "s",
        "task": "binary_classification",
        "data": {"source": {"path": "x"}, "target": "y"},
        **example,
    }
    rules = {r.name: r for r in compile_rules(parse_spec(raw))}
    assert rules["nan_output"].severity == "P0" and rules["nan_output"].bound == "low"
    assert (
        rules["income_drift"].subject == "income"
        and rules["income_drift"].incident == "upstream_income"
    )
