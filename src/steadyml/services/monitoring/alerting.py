"""Inside a pass: evaluate alert rules on the stored series, then update alerts and incidents.

Each rule is applied to every series (model version x subject) with points in its
window size, and to the series of its active alerts (so that an alert can clear when
its data stops). The history ends at the newest window whose last pane has begun -
except for metrics that depend on labels or outcomes, which arrive late: their history
ends at the newest window that has such a point, and a window counts as complete once
``labels.expected_delay`` has passed after its end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from steadyml.adapters.store.monitor_records import MetricPoint
from steadyml.adapters.store.monitor_tx import MonitorTx
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import (
    Alert,
    AlertRule,
    IncidentBook,
    IncidentEvent,
    Measurement,
    RuleState,
    WindowSpec,
    evaluate,
    root_cause_hint,
    status_rank,
)
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.services.monitoring.windowing import head_start
from steadyml.spec import ServiceSpec

__all__ = ["Alerting", "IncidentChanges", "is_late"]

HINT_LOOKBACK = 48


def is_late(metric: str) -> bool:
    """True for metrics computed from labels or outcomes (they arrive late)."""
    family = metric.split(".", maxsplit=1)[0]
    return family == "kpi" or (family == "performance" and ".estimated_" not in metric)


def _measurement(point: MetricPoint) -> Measurement:
    return Measurement(
        point.metric,
        point.value,
        point.subject,
        low=point.low,
        high=point.high,
        status=point.status,
        n=point.n,
    )


@dataclass
class IncidentChanges:
    """What a pass changed: alerts fired and resolved, incidents opened and resolved."""

    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    events: list[IncidentEvent] = field(default_factory=list)


class Alerting:
    """Rules, alerts and incidents of one pass, on top of a transaction."""

    def __init__(
        self,
        tx: MonitorTx,
        spec: ServiceSpec,
        windows: Sequence[WindowSpec],
        rules: Sequence[AlertRule],
        references: ReferenceProvider,
        *,
        now: datetime,
        watermark: datetime,
    ) -> None:
        self.tx = tx
        self.spec = spec
        self.windows = {w.label: w for w in windows}
        self.rules = tuple(rules)
        self.references = references
        self.now = now
        self.watermark = watermark
        self.resolve_after = spec.monitors.resolve_after
        self.label_delay = parse_duration(spec.labels.expected_delay)
        self.max_delay = parse_duration(spec.labels.max_delay)
        #: Points as measurements by their key (version, window, start, metric, subject).
        self._measurements: dict[tuple[str, str, datetime, str, str], Measurement] = {}

    def _measured(self, point: MetricPoint) -> Measurement:
        """The point as a measurement (converted once: several rules read one point)."""
        found = self._measurements.get(point.key)
        if found is None:
            found = self._measurements[point.key] = _measurement(point)
        return found

    def states(self, active: Sequence[Alert]) -> list[RuleState]:
        """Every rule on every series it applies to."""
        states: list[RuleState] = []
        groups = [(label, late) for label in self.windows for late in (False, True)]
        for label, late in groups:
            window = self.windows[label]
            rules = [r for r in self.rules if r.window == label and is_late(r.metric) == late]
            if not rules:
                continue
            head = head_start(window, self.now)
            # the newest windows that hold nothing yet are skipped: load a few more
            lookback = (
                max([r.n for r in rules] + [self.resolve_after]) + window.panes_per_window + 2
            )
            if late:  # labels and outcomes land up to max_delay after their window
                lookback += math.ceil(self.max_delay / window.step)
            first = head - (lookback - 1) * window.step
            points = self.tx.series(label, {r.metric for r in rules}, first, head)
            index: dict[tuple[str, str, str], dict[datetime, MetricPoint]] = {}
            by_metric: dict[str, set[tuple[str, str]]] = {}
            for point in points:
                index.setdefault((point.metric, point.model_version, point.subject), {})[
                    point.window_start
                ] = point
                by_metric.setdefault(point.metric, set()).add((point.model_version, point.subject))
            for rule in rules:
                series = {
                    (version, subject)
                    for version, subject in by_metric.get(rule.metric, ())
                    if rule.matches(Measurement(rule.metric, None, subject))
                }
                series |= {(a.model_version, a.subject) for a in active if a.rule == rule.name}
                for version, subject in sorted(series):
                    found = index.get((rule.metric, version, subject), {})
                    states.append(self._state(rule, window, head, (version, subject), found))
        return states

    def _state(
        self,
        rule: AlertRule,
        window: WindowSpec,
        head: datetime,
        series: tuple[str, str],
        found: dict[datetime, MetricPoint],
    ) -> RuleState:
        version, subject = series
        late = is_late(rule.metric)
        anchor = head
        if late and found:
            anchor = max(found)
        else:  # windows that just began and hold nothing yet do not count
            oldest = head - window.size - window.step
            while anchor not in found and not window.is_complete(anchor, self.watermark):
                anchor -= window.step
                if anchor < oldest:
                    anchor = head
                    break
        history = []
        for start in window.previous(anchor, max(rule.n, self.resolve_after)):
            point = found.get(start)
            if late:
                complete = window.end(start) + self.label_delay <= self.now
            else:
                complete = window.is_complete(start, self.watermark)
            history.append((start, None if point is None else self._measured(point), complete))
        return evaluate(rule, version, subject, history, self.resolve_after)

    def run(self) -> IncidentChanges:
        """Evaluate the rules and write the changed alerts, incidents and events."""
        active = self.tx.active_alerts()
        book = IncidentBook(self.spec.service, active, self.tx.open_incidents(), self.now)
        book.apply(self.states(active))
        for incident in book.changed_incidents:
            if incident.open and incident.triage in ("data", "model"):
                book.set_hint(incident.key, self._hint(incident.versions))
        incidents = book.changed_incidents
        self.tx.apply(incidents, book.changed_alerts, book.events)
        changes = IncidentChanges(events=list(book.events))
        for alert in book.changed_alerts:
            if alert.id is None:
                changes.fired.append(alert)
            if alert.status == "resolved":
                changes.resolved.append(alert)
        for event in book.events:
            if event.kind == "opened":
                changes.opened.append(event.incident_key)
            elif event.kind == "resolved":
                changes.closed.append(event.incident_key)
        return changes

    def _hint(self, versions: Sequence[str]) -> list[dict[str, object]]:
        fast = min(self.windows.values(), key=lambda w: (w.step, w.size))
        head = head_start(fast, self.now)
        first = head - (HINT_LOOKBACK - 1) * fast.step
        points = self.tx.series(fast.label, ["drift.effect"], first, head, list(versions) or None)
        hints: list[dict[str, object]] = []
        for version in sorted({p.model_version for p in points}):
            mine = [p for p in points if p.model_version == version]
            latest = max(p.window_start for p in mine)
            since: dict[str, datetime] = {}
            for subject in {p.subject for p in mine}:
                streak = sorted(
                    (p for p in mine if p.subject == subject), key=lambda p: p.window_start
                )
                start = None
                for p in reversed(streak):
                    if status_rank(p.status) < 2:
                        break
                    start = p.window_start
                if start is not None:
                    since[subject] = start
            reference = self.references.get(version)
            importance = reference.importance if reference is not None else {}
            now_points = [_measurement(p) for p in mine if p.window_start == latest]
            for item in root_cause_hint(now_points, importance, since):
                hints.append({**item, "version": version})
        hints.sort(key=lambda h: -float(h["score"]))  # type: ignore[arg-type]
        return hints[:5]
