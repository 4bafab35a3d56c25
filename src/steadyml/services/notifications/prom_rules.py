"""Prometheus alerting rules for the prediction server's ``/metrics`` (Alertmanager-ready).

The monitor runner judges windows of the prediction log; these rules let Prometheus
judge the same service-health signals straight from the server's counters, so a team
that already routes Alertmanager pages gets them there too. Thresholds, severities and
runbooks come from the spec: the SLOs (``slos:``) through the default alert rules, or a
rule of the same name in ``alerts:`` that overrides it.

Examples
--------
>>> from steadyml.spec import parse_spec
>>> spec = parse_spec({"service": "churn", "task": "binary_classification",
...                    "data": {"source": {"path": "x.parquet"}, "target": "y"}})
>>> groups = alerting_rules(spec)["groups"]
>>> [r["alert"] for r in groups[0]["rules"]][:3]
['SteadymlErrorRate', 'SteadymlFallbackRate', 'SteadymlNanOutput']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import yaml

from steadyml.core.monitoring import AlertRule, compile_rules
from steadyml.spec import ServiceSpec

__all__ = ["PROMETHEUS_SEVERITY", "alerting_rules", "rules_yaml"]

#: steadyml severity -> the ``severity`` label Alertmanager routes on.
PROMETHEUS_SEVERITY = {"P0": "critical", "P1": "critical", "P2": "warning", "P3": "info"}
_RUNBOOKS = "docs/monitoring.md"


@dataclass(frozen=True)
class _Signal:
    """One alerting rule as data; :func:`_render` turns it into a Prometheus rule.

    ``expr``, ``summary`` and ``description`` are :meth:`str.format` templates. ``expr``
    gets ``{sel}`` (the selector with ``label`` added) and ``{range}``; the texts get
    ``{service}``, ``{value}`` (the threshold), ``{range}`` and the Prometheus template
    snippets of :data:`_SNIPPETS`.
    """

    alert: str
    expr: str
    comparator: str
    threshold: str | float
    """A constant, or the spec attribute holding the default (``"slos.error_rate"``)."""
    duration: str
    severity: str
    summary: str
    description: str
    runbook: str
    label: str = ""
    metric: str | None = None
    """The health metric whose spec rule overrides threshold, severity and runbook."""
    ratio: bool = False
    """Divide ``expr`` by the rate of all records."""
    divisor: float = 1.0
    """The threshold's units per unit of ``expr`` (1000 for milliseconds against seconds)."""


#: Prometheus template snippets the texts name (rendered by Prometheus, not here).
_SNIPPETS = {
    "percent": "{{ $value | humanizePercentage }}",
    "duration": "{{ $value | humanizeDuration }}",
    "count": "{{ $value }}",
    "instance": "{{ $labels.instance }}",
}
#: The rules, in the order of the file.
_SIGNALS = (
    _Signal(
        "SteadymlErrorRate",
        "sum(rate(steadyml_predictions_total{{{sel}}}[{range}]))",
        ">",
        "slos.error_rate",
        duration="2m",
        severity="P2",
        summary="{service}: model errors above {value:.2%} of records",
        description="Share of records that ended in a model error (status=error) over "
        "{range} is {percent}.",
        runbook=f"{_RUNBOOKS}#checks-and-metrics",
        label='status="error"',
        metric="health.error_rate",
        ratio=True,
    ),
    _Signal(
        "SteadymlFallbackRate",
        "sum(rate(steadyml_predictions_total{{{sel}}}[{range}]))",
        ">",
        "slos.fallback_rate",
        duration="5m",
        severity="P2",
        summary="{service}: fallback answers above {value:.2%} of records",
        description="Share of records answered by the fallback over {range} is {percent}.",
        runbook=f"{_RUNBOOKS}#checks-and-metrics",
        label='status="fallback"',
        metric="health.fallback_rate",
        ratio=True,
    ),
    _Signal(
        "SteadymlNanOutput",
        "sum(rate(steadyml_fallbacks_total{{{sel}}}[{range}]))",
        ">",
        "slos.fallback_rate",
        duration="1m",
        severity="P2",
        summary="{service}: the model returns NaN for more than {value:.2%} of records",
        description="NaN outputs (replaced by the fallback) over {range}: {percent} of records.",
        runbook=f"{_RUNBOOKS}#nan-output",
        label='reason="nan_output"',
        metric="health.nan_rate",
        ratio=True,
    ),
    _Signal(
        "SteadymlRejectionRate",
        "sum(rate(steadyml_predictions_total{{{sel}}}[{range}]))",
        ">",
        "slos.rejection_rate",
        duration="2m",
        severity="P2",
        summary="{service}: more than {value:.2%} of records rejected by the contract",
        description="Share of records refused by the data contract over {range} is {percent}; "
        "a schema break upstream?",
        runbook=f"{_RUNBOOKS}#schema-break",
        label='status="rejected"',
        metric="quality.rejection_rate",
        ratio=True,
    ),
    _Signal(
        "SteadymlLatencyP99",
        "histogram_quantile(0.99, sum by (le) (rate("
        "steadyml_request_latency_seconds_bucket{{{sel}}}[{range}])))",
        ">",
        "latency_slo_ms",
        duration="5m",
        severity="P2",
        summary="{service}: p99 latency of /predict above {value:g} ms",
        description="p99 server-side latency of /predict over {range} is {duration}.",
        runbook=f"{_RUNBOOKS}#checks-and-metrics",
        label='endpoint="predict"',
        metric="health.latency_p99_ms",
        divisor=1000.0,
    ),
    _Signal(
        "SteadymlLogDroppedRecords",
        "sum(increase(steadyml_log_dropped_rows_total{{{sel}}}[{range}]))",
        ">",
        0,
        duration="0m",
        severity="P1",
        summary="{service}: the prediction log dropped records",
        description="{count} log rows were dropped (queue full or disk failing); "
        "monitoring is blind to them.",
        runbook=f"{_RUNBOOKS}#guarantees-and-bad-input",
    ),
    _Signal(
        "SteadymlLogWriteErrors",
        "sum(increase(steadyml_log_write_errors_total{{{sel}}}[{range}]))",
        ">",
        0,
        duration="5m",
        severity="P2",
        summary="{service}: prediction log write errors",
        description="{count} log write, fsync or seal errors.",
        runbook=f"{_RUNBOOKS}#guarantees-and-bad-input",
    ),
    _Signal(
        "SteadymlNotReady",
        "max(steadyml_model_version{{{sel}}})",
        "==",
        0,
        duration="2m",
        severity="P1",
        summary="{service}: no model loaded (not ready)",
        description="The server has no model to serve: /health/ready answers 503.",
        runbook="docs/serving.md",
    ),
    _Signal(
        "SteadymlCircuitOpen",
        "max(steadyml_circuit_state{{{sel}}})",
        ">=",
        2,
        duration="1m",
        severity="P1",
        summary="{service}: the model's circuit breaker is open",
        description="Every record gets the fallback while the breaker is open.",
        runbook="docs/serving.md",
    ),
    _Signal(
        "SteadymlDown",
        "up{{{sel}}}",
        "==",
        0,
        duration="1m",
        severity="P1",
        summary="{service}: Prometheus cannot scrape the prediction server",
        description="The target {instance} is down.",
        runbook="docs/serving.md",
    ),
)


def _by_metric(spec: ServiceSpec) -> Mapping[str, AlertRule]:
    """The compiled rule of each health metric (a spec rule overrides the default)."""
    found: dict[str, AlertRule] = {}
    for rule in compile_rules(spec):
        if rule.subject == "" and rule.threshold is not None:
            found[rule.metric] = rule
    return found


def _render(
    signal: _Signal,
    spec: ServiceSpec,
    rules: Mapping[str, AlertRule],
    selector: str,
    range_: str,
) -> dict[str, Any]:
    """The Prometheus rule of one signal, with the spec's threshold, severity and runbook."""
    value: float
    if isinstance(signal.threshold, str):
        value = attrgetter(signal.threshold)(spec)
    else:
        value = signal.threshold
    severity, runbook = signal.severity, signal.runbook
    rule = rules.get(signal.metric) if signal.metric is not None else None
    if rule is not None and rule.threshold is not None:
        value, severity, runbook = rule.threshold, rule.severity, rule.runbook or runbook
    matchers = selector
    if signal.label:
        matchers = f"{selector},{signal.label}" if selector else signal.label
    expr = signal.expr.format(sel=matchers, range=range_)
    if signal.ratio:
        total = f"sum(rate(steadyml_predictions_total{{{selector}}}[{range_}]))"
        expr = f"({expr}) / clamp_min({total}, 1e-9)"
    texts = {"service": spec.service, "value": value, "range": range_, **_SNIPPETS}
    return {
        "alert": signal.alert,
        "expr": f"{expr} {signal.comparator} {value / signal.divisor:g}",
        "for": signal.duration,
        "labels": {
            "severity": PROMETHEUS_SEVERITY.get(severity, "warning"),
            "priority": severity,
            "service": spec.service,
        },
        "annotations": {
            "summary": signal.summary.format(**texts),
            "description": signal.description.format(**texts),
            "runbook_url": runbook,
        },
    }


def alerting_rules(
    spec: ServiceSpec, *, selector: str | None = None, range_: str = "5m"
) -> dict[str, Any]:
    """The rules file as a mapping (``groups`` -> ``rules``), ready for YAML.

    Parameters
    ----------
    spec
        The service: SLOs, alert rules and the latency budget.
    selector
        The label matchers of the server's series, e.g. ``job="churn"`` (default:
        ``job="<service>"``).
    range_
        The rate window of every ratio.

    Raises
    ------
    SpecError
        For a misconfigured alert rule in the spec (the key is named).
    """
    sel = selector if selector is not None else f'job="{spec.service}"'
    rules = _by_metric(spec)
    made = [_render(signal, spec, rules, sel, range_) for signal in _SIGNALS]
    return {"groups": [{"name": f"steadyml-{spec.service}", "rules": made}]}


def rules_yaml(spec: ServiceSpec, *, selector: str | None = None, range_: str = "5m") -> str:
    """The rules file as YAML text (see :func:`alerting_rules`)."""
    header = (
        f"# Prometheus alerting rules for steadyml service {spec.service!r}.\n"
        "# Generated by 'steadyml alerts rules'; load with rule_files: in prometheus.yml.\n"
    )
    body = yaml.safe_dump(
        alerting_rules(spec, selector=selector, range_=range_), sort_keys=False, width=1000
    )
    return header + body
