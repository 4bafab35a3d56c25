"""Alert rules: a metric, a threshold or a calibrated decision, k of the last n windows.

A rule from the spec (``alerts:``) is compiled once into an :class:`AlertRule`, checked
against the metric catalog (a misconfigured rule refuses to start, naming its key). The
defaults (:func:`default_rules`) cover the classic failures; a spec rule with the same
name replaces a default.

:func:`evaluate` applies a rule to one series - one model version, one subject, the
latest windows - with hysteresis: it *fires* when at least ``k`` of the last ``n``
windows breach, and it has *cleared* once the last ``resolve_after`` complete windows
did not breach.

Examples
--------
>>> from steadyml.spec import AlertRuleSpec
>>> rule = AlertRule.compile(AlertRuleSpec(name="nan", metric="health.nan_rate",
...                                        threshold=0.01), ("5m",))
>>> rule.incident, rule.triage
('nan_output', 'model')
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from steadyml.core.durations import parse_duration
from steadyml.core.monitoring.catalog import METRICS, MetricInfo, triage_of
from steadyml.core.monitoring.checks.labels import label_gap_threshold
from steadyml.core.monitoring.measurements import Measurement, status_rank
from steadyml.core.monitoring.windows import WindowSpec, parse_windows
from steadyml.errors import SpecError
from steadyml.spec import AlertRuleSpec, ServiceSpec, Task

__all__ = ["AlertRule", "RuleState", "compile_rules", "default_rules", "evaluate"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
ANY = "*"
#: A window's traffic this many times the expected rate (its lower bound) is a surge.
TRAFFIC_SURGE = 2.0
#: Labels whose median delay exceeds this many expected delays come late.
LATE_LABELS = 2.0


def _split(pattern: str) -> tuple[str, str | None]:
    metric, sep, subject = pattern.partition(":")
    return metric, (subject if sep else None)


def _impossible(info: MetricInfo, comparator: str, threshold: float) -> bool:
    low, high = info.low, info.high
    if comparator == ">":
        return high is not None and threshold >= high
    if comparator == ">=":
        return high is not None and threshold > high
    if comparator == "<":
        return low is not None and threshold <= low
    return low is not None and threshold < low


@dataclass(frozen=True)
class AlertRule:
    """A compiled alert rule (see :class:`~steadyml.spec.AlertRuleSpec` for the fields).

    ``subject`` is ``""`` (the window-level or overall value), ``"*"`` (every feature
    or slice) or one name.
    """

    name: str
    metric: str
    subject: str
    comparator: str
    threshold: float | None
    decision: str | None
    bound: str
    window: str
    k: int
    n: int
    severity: str
    runbook: str
    incident: str
    triage: str
    min_rows: int = 0

    @classmethod
    def compile(cls, spec: AlertRuleSpec, windows: Sequence[str], key: str = "alerts") -> AlertRule:
        """Check ``spec`` against the catalog and the monitored ``windows``.

        Raises
        ------
        SpecError
            Naming ``<key>.metric``, ``.window``, ``.decision`` or ``.threshold``.
        """
        metric, subject = _split(spec.metric)
        info = METRICS.get(metric)
        if info is None:
            close = difflib.get_close_matches(metric, list(METRICS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see docs/monitoring.md"
            raise SpecError(f"{key}.metric", spec.metric, f"unknown metric; {hint}")
        if subject is not None and info.subjects == "none":
            raise SpecError(
                f"{key}.metric", spec.metric, f"{metric} is not per feature; drop ':{subject}'"
            )
        if subject is None:
            subject = ANY if info.subjects == "required" else ""
        label = WindowSpec.parse(spec.window).label
        known = [WindowSpec.parse(w).label for w in windows]
        if label not in known:
            raise SpecError(
                f"{key}.window",
                spec.window,
                f"not a monitored window; use one of {known} or add it to monitors.windows",
            )
        if spec.decision is not None and not info.decided:
            raise SpecError(
                f"{key}.decision",
                spec.decision,
                f"{metric} has no calibrated decision; use a threshold",
            )
        if spec.threshold is not None and _impossible(info, spec.comparator, spec.threshold):
            span = f"[{info.low}, {info.high}]"
            raise SpecError(
                f"{key}.threshold",
                spec.threshold,
                f"{metric} takes values in {span}, so '{spec.comparator} {spec.threshold}' "
                "can never fire; choose a threshold inside that range",
            )
        incident = spec.incident or info.incident
        return cls(
            name=spec.name,
            metric=metric,
            subject=subject,
            comparator=spec.comparator,
            threshold=spec.threshold,
            decision=spec.decision,
            bound=spec.bound,
            window=label,
            k=spec.k,
            n=spec.n,
            severity=spec.severity,
            runbook=spec.runbook,
            incident=incident,
            triage=triage_of(incident),
            min_rows=spec.min_rows,
        )

    def matches(self, measurement: Measurement) -> bool:
        """True when the rule applies to ``measurement``."""
        if measurement.metric != self.metric:
            return False
        if self.subject == ANY:
            return measurement.subject != ""
        return measurement.subject == self.subject

    def breached(self, measurement: Measurement | None) -> bool:
        """True when ``measurement`` meets the rule's condition in its window."""
        if measurement is None or measurement.n < self.min_rows:
            return False
        if self.threshold is not None:
            value = measurement.bound(self.bound)
            if value is None or not _COMPARE[self.comparator](value, self.threshold):
                return False
        if self.decision is not None:
            return status_rank(measurement.status) >= status_rank(self.decision)
        return True

    def describe(self) -> str:
        """The condition in words, for alert evidence."""
        parts = []
        if self.threshold is not None:
            what = "value" if self.bound == "value" else f"{self.bound} bound"
            parts.append(f"{self.metric} {what} {self.comparator} {self.threshold:g}")
        if self.decision is not None:
            parts.append(f"calibrated status >= {self.decision}")
        return f"{' and '.join(parts)} in {self.k} of {self.n} {self.window} windows"


@dataclass(frozen=True)
class RuleState:
    """The outcome of one rule on one series (model version, subject).

    ``firing`` per k of n; ``clear`` once the last ``resolve_after`` complete windows
    did not breach; ``breaches`` are the starts of the breaching windows among the last
    ``n``; ``latest`` the newest measurement.
    """

    rule: AlertRule
    version: str
    subject: str
    firing: bool
    clear: bool
    breaches: tuple[datetime, ...]
    latest: Measurement | None
    latest_start: datetime


Point = tuple[datetime, Measurement | None, bool]


def evaluate(
    rule: AlertRule, version: str, subject: str, history: Sequence[Point], resolve_after: int
) -> RuleState:
    """Apply ``rule`` to the newest windows of one series.

    Parameters
    ----------
    history
        ``(window start, measurement or None, window complete)``, oldest first, ending
        with the newest evaluated window; windows without data carry None.
    resolve_after
        Complete windows without a breach needed to call the series clear.
    """
    points = sorted(history, key=lambda p: p[0])
    recent = points[-rule.n :]
    breaches = tuple(start for start, m, _ in recent if rule.breached(m))
    streak = 0
    for _, measurement, complete in reversed(points):
        if rule.breached(measurement):
            break
        if complete:
            streak += 1
    latest = points[-1] if points else None
    return RuleState(
        rule=rule,
        version=version,
        subject=subject,
        firing=len(breaches) >= rule.k,
        clear=not breaches and streak >= resolve_after,
        breaches=breaches,
        latest=latest[1] if latest else None,
        latest_start=latest[0] if latest else datetime.min,
    )


def _fast_and_slow(spec: ServiceSpec) -> tuple[str, str]:
    windows = parse_windows(spec.monitors.windows)
    fast = min(windows, key=lambda w: (w.step, w.size)).label
    labels = [w.label for w in windows]
    slow = "1h" if "1h" in labels else max(windows, key=lambda w: w.size).label
    return fast, slow


def default_rules(spec: ServiceSpec) -> list[AlertRuleSpec]:
    """The default rules: the classic failures, tuned to page rarely on clean traffic."""
    fast, slow = _fast_and_slow(spec)
    slos = spec.slos
    primary = spec.primary_metric
    if spec.task is Task.MULTICLASS:
        primary = "accuracy"  # log-loss needs class probabilities the log does not keep
    rule = AlertRuleSpec
    delay = parse_duration(spec.labels.expected_delay)
    join = parse_duration(spec.labels.join_interval)
    rules = [
        rule(name="nan_output", metric="health.nan_rate", threshold=slos.fallback_rate,
             bound="low", window=fast, severity="P1", runbook="docs/monitoring.md#nan-output"),
        rule(name="fallback_rate", metric="health.fallback_rate", threshold=slos.fallback_rate,
             bound="low", window=fast, k=2, n=3, severity="P2"),
        rule(name="error_rate", metric="health.error_rate", threshold=slos.error_rate,
             bound="low", window=fast, severity="P1"),
        rule(name="latency_p99", metric="health.latency_p99_ms", threshold=spec.latency_slo_ms,
             bound="low", window=fast, k=2, n=3, severity="P2"),
        rule(name="schema_break_nulls", metric="quality.null_rate:*", threshold=0.05,
             bound="low", window=fast, severity="P1", runbook="docs/monitoring.md#schema-break"),
        rule(name="schema_break_types", metric="quality.type_error_rate:*", threshold=0.01,
             bound="low", window=fast, severity="P1", runbook="docs/monitoring.md#schema-break"),
        rule(name="rejection_rate", metric="quality.rejection_rate",
             threshold=slos.rejection_rate, bound="low", window=fast, severity="P1"),
        rule(name="unseen_categories", metric="quality.unseen_rate:*", threshold=0.02,
             bound="low", window=fast, k=2, n=3, severity="P3"),
        rule(name="out_of_range", metric="quality.out_of_range_rate:*", threshold=0.02,
             bound="low", window=fast, k=2, n=3, severity="P3"),
        rule(name="feature_drift", metric="drift.psi:*", threshold=0.25, decision="warn",
             window=fast, severity="P2"),
        rule(name="feature_drift_calibrated", metric="drift.effect:*", decision="drift",
             window=fast, k=2, n=3, severity="P3"),
        rule(name="feature_drift_warning", metric="drift.effect:*", decision="warn",
             threshold=spec.monitors.drift_warn, bound="low", window=slow, severity="P3",
             runbook="docs/monitoring.md#feature-drift"),
        rule(name="feature_mean_shift", metric="drift.mean_shift:*",
             threshold=spec.monitors.mean_shift_warn, bound="low", window=fast,
             severity="P3", runbook="docs/monitoring.md#feature-drift"),
        rule(name="prediction_drift", metric="prediction_drift.psi", threshold=0.2,
             decision="warn", window=fast, severity="P2"),
        rule(name="performance_drop", metric=f"performance.{primary}", decision="drift",
             window=slow, severity="P2"),
        rule(name="traffic_drop", metric="volume.ratio", comparator="<=", threshold=0.2,
             bound="high", window=fast, k=2, n=2, severity="P2"),
        rule(name="stale_log", metric="log.freshness_seconds", threshold=900.0, window=fast,
             severity="P3"),
        rule(name="traffic_surge", metric="volume.ratio", threshold=TRAFFIC_SURGE,
             bound="low", window=fast, severity="P3"),
        rule(name="labels_missing", metric="log.label_gap_seconds",
             threshold=label_gap_threshold(delay, join), window=fast, severity="P3"),
        rule(name="labels_late", metric="performance.label_delay_p50_s",
             threshold=LATE_LABELS * delay.total_seconds() + join.total_seconds(),
             window=slow, severity="P3"),
    ]  # fmt: skip
    kpi = spec.monitors.kpi
    if kpi is not None:
        rules.append(
            rule(name="kpi_drop", metric=f"kpi.change:{kpi.name}", decision="drift",
                 window=kpi.window, k=2, n=3, severity="P2")
        )  # fmt: skip
    return rules


def compile_rules(spec: ServiceSpec) -> tuple[AlertRule, ...]:
    """The defaults (unless ``monitors.default_rules`` is off) and the spec's rules.

    Raises
    ------
    SpecError
        For the first misconfigured rule, naming ``alerts.<i>.<field>`` (or
        ``monitors.kpi`` for the default KPI rule).
    """
    windows = spec.monitors.windows
    compiled: dict[str, AlertRule] = {}
    if spec.monitors.default_rules:
        for item in default_rules(spec):
            key = "monitors.kpi" if item.name == "kpi_drop" else f"default rule {item.name}"
            compiled[item.name] = AlertRule.compile(item, windows, key)
    for index, item in enumerate(spec.alerts):
        compiled[item.name] = AlertRule.compile(item, windows, f"alerts.{index}")
    return tuple(compiled.values())
