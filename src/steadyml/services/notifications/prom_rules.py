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
from typing import Any

import yaml

from steadyml.core.monitoring import AlertRule, compile_rules
from steadyml.spec import ServiceSpec

__all__ = ["PROMETHEUS_SEVERITY", "alerting_rules", "rules_yaml"]

#: steadyml severity -> the ``severity`` label Alertmanager routes on.
PROMETHEUS_SEVERITY = {"P0": "critical", "P1": "critical", "P2": "warning", "P3": "info"}
_RUNBOOKS = "docs/monitoring.md"


def _ratio(selector: str, part: str, range_: str) -> str:
    total = f"sum(rate(steadyml_predictions_total{{{selector}}}[{range_}]))"
    return f"({part}) / clamp_min({total}, 1e-9)"


def _rule(
    name: str,
    expr: str,
    *,
    duration: str,
    severity: str,
    summary: str,
    description: str,
    runbook: str,
    service: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {
            "severity": PROMETHEUS_SEVERITY.get(severity, "warning"),
            "priority": severity,
            "service": service,
        },
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": runbook,
        },
    }


def _by_metric(spec: ServiceSpec) -> Mapping[str, AlertRule]:
    """The compiled rule of each health metric (a spec rule overrides the default)."""
    found: dict[str, AlertRule] = {}
    for rule in compile_rules(spec):
        if rule.subject == "" and rule.threshold is not None:
            found[rule.metric] = rule
    return found


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
    service = spec.service
    sel = selector if selector is not None else f'job="{service}"'
    slos = spec.slos
    rules = _by_metric(spec)

    def threshold(metric: str, default: float) -> tuple[float, str, str]:
        rule = rules.get(metric)
        if rule is None or rule.threshold is None:
            return default, "P2", ""
        return rule.threshold, rule.severity, rule.runbook

    def status(name: str) -> str:
        inner = f'{sel},status="{name}"' if sel else f'status="{name}"'
        return f"sum(rate(steadyml_predictions_total{{{inner}}}[{range_}]))"

    made: list[dict[str, Any]] = []
    common = {"service": service}
    value, severity, runbook = threshold("health.error_rate", slos.error_rate)
    made.append(
        _rule(
            "SteadymlErrorRate",
            f"{_ratio(sel, status('error'), range_)} > {value:g}",
            duration="2m",
            severity=severity,
            summary=f"{service}: model errors above {value:.2%} of records",
            description="Share of records that ended in a model error (status=error) over "
            f"{range_} is {{{{ $value | humanizePercentage }}}}.",
            runbook=runbook or f"{_RUNBOOKS}#checks-and-metrics",
            **common,
        )
    )
    value, severity, runbook = threshold("health.fallback_rate", slos.fallback_rate)
    made.append(
        _rule(
            "SteadymlFallbackRate",
            f"{_ratio(sel, status('fallback'), range_)} > {value:g}",
            duration="5m",
            severity=severity,
            summary=f"{service}: fallback answers above {value:.2%} of records",
            description="Share of records answered by the fallback over "
            f"{range_} is {{{{ $value | humanizePercentage }}}}.",
            runbook=runbook or f"{_RUNBOOKS}#checks-and-metrics",
            **common,
        )
    )
    value, severity, runbook = threshold("health.nan_rate", slos.fallback_rate)
    nan_sel = f'{sel},reason="nan_output"' if sel else 'reason="nan_output"'
    made.append(
        _rule(
            "SteadymlNanOutput",
            _ratio(sel, f"sum(rate(steadyml_fallbacks_total{{{nan_sel}}}[{range_}]))", range_)
            + f" > {value:g}",
            duration="1m",
            severity=severity,
            summary=f"{service}: the model returns NaN for more than {value:.2%} of records",
            description="NaN outputs (replaced by the fallback) over "
            f"{range_}: {{{{ $value | humanizePercentage }}}} of records.",
            runbook=runbook or f"{_RUNBOOKS}#nan-output",
            **common,
        )
    )
    value, severity, runbook = threshold("quality.rejection_rate", slos.rejection_rate)
    made.append(
        _rule(
            "SteadymlRejectionRate",
            f"{_ratio(sel, status('rejected'), range_)} > {value:g}",
            duration="2m",
            severity=severity,
            summary=f"{service}: more than {value:.2%} of records rejected by the contract",
            description="Share of records refused by the data contract over "
            f"{range_} is {{{{ $value | humanizePercentage }}}}; a schema break upstream?",
            runbook=runbook or f"{_RUNBOOKS}#schema-break",
            **common,
        )
    )
    seconds, severity, runbook = threshold("health.latency_p99_ms", spec.latency_slo_ms)
    predict = f'{sel},endpoint="predict"' if sel else 'endpoint="predict"'
    made.append(
        _rule(
            "SteadymlLatencyP99",
            "histogram_quantile(0.99, sum by (le) (rate("
            f"steadyml_request_latency_seconds_bucket{{{predict}}}[{range_}]))) "
            f"> {seconds / 1000.0:g}",
            duration="5m",
            severity=severity,
            summary=f"{service}: p99 latency of /predict above {seconds:g} ms",
            description="p99 server-side latency of /predict over "
            f"{range_} is {{{{ $value | humanizeDuration }}}}.",
            runbook=runbook or f"{_RUNBOOKS}#checks-and-metrics",
            **common,
        )
    )
    made.append(
        _rule(
            "SteadymlLogDroppedRecords",
            f"sum(increase(steadyml_log_dropped_rows_total{{{sel}}}[{range_}])) > 0",
            duration="0m",
            severity="P1",
            summary=f"{service}: the prediction log dropped records",
            description="{{ $value }} log rows were dropped (queue full or disk failing); "
            "monitoring is blind to them.",
            runbook=f"{_RUNBOOKS}#guarantees-and-bad-input",
            **common,
        )
    )
    made.append(
        _rule(
            "SteadymlLogWriteErrors",
            f"sum(increase(steadyml_log_write_errors_total{{{sel}}}[{range_}])) > 0",
            duration="5m",
            severity="P2",
            summary=f"{service}: prediction log write errors",
            description="{{ $value }} log write, fsync or seal errors.",
            runbook=f"{_RUNBOOKS}#guarantees-and-bad-input",
            **common,
        )
    )
    made.append(
        _rule(
            "SteadymlNotReady",
            f"max(steadyml_model_version{{{sel}}}) == 0",
            duration="2m",
            severity="P1",
            summary=f"{service}: no model loaded (not ready)",
            description="The server has no model to serve: /health/ready answers 503.",
            runbook="docs/serving.md",
            **common,
        )
    )
    made.append(
        _rule(
            "SteadymlCircuitOpen",
            f"max(steadyml_circuit_state{{{sel}}}) >= 2",
            duration="1m",
            severity="P1",
            summary=f"{service}: the model's circuit breaker is open",
            description="Every record gets the fallback while the breaker is open.",
            runbook="docs/serving.md",
            **common,
        )
    )
    made.append(
        _rule(
            "SteadymlDown",
            f"up{{{sel}}} == 0",
            duration="1m",
            severity="P1",
            summary=f"{service}: Prometheus cannot scrape the prediction server",
            description="The target {{ $labels.instance }} is down.",
            runbook="docs/serving.md",
            **common,
        )
    )
    return {"groups": [{"name": f"steadyml-{service}", "rules": made}]}


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
