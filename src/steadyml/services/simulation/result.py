"""What a run measured: per injected incident detection, timing, triage and mitigation.

An injected incident is *detected* by the first monitor incident that opened at or after
its onset with a type the injected type expects (``Incident.expects``: a NaN-output
version expects ``nan_output`` or ``fallback``; a feature shift expects
``feature_drift``, ``data_quality``, ``prediction_drift`` or ``schema_break``) and, for
incidents on a feature, that names the feature (or names no feature at all, as a
rejection-rate schema break does). Time-to-detect is the simulated time from the onset
to the first alert of that incident; time-to-mitigate, to the first action in the audit
log on that incident by anyone but the simulator. Every monitor incident that matches
no injected one is a false alarm; false alarms per simulated day are counted over clean
time (outside every incident and the hour after it).

With an ``outcome:`` section each tick carries its KPI: the outcome value of its answered
requests per answered request (every outcome, before delay and coverage: what the
business got from that tick's traffic). A mitigated incident's ``kpi_impact_avoided``
is the outcome value the mitigation saved (see
:meth:`SimulationResult.kpi_impact_avoided`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.monitoring import Alert
from steadyml.core.monitoring import Incident as MonitorIncident
from steadyml.services.simulation.incident import Incident
from steadyml.services.simulation.scenario import Scenario
from steadyml.services.workspace import Workspace

__all__ = ["SETTLE", "Action", "Detection", "SimulationResult", "Tick"]

SETTLE = timedelta(hours=1)  # after an incident ends, alerts still belong to it


#: Incident types whose named feature is the cause (not a symptom of drift elsewhere).
BROKEN = frozenset({"schema_break", "data_quality"})


@dataclass(frozen=True)
class Tick:
    """One tick of the replay."""

    start: datetime
    stop: datetime
    mode: str
    requests: int
    statuses: dict[int, int]
    labels: int
    fired: list[str]
    answered: int = 0
    outcomes: int = 0
    outcome_value: float | None = None

    @property
    def middle(self) -> datetime:
        """Halfway through the tick."""
        return self.start + (self.stop - self.start) / 2

    @property
    def kpi(self) -> float | None:
        """Outcome value per answered request of this tick's traffic (None without outcomes)."""
        if self.outcome_value is None or self.answered == 0:
            return None
        return self.outcome_value / self.answered

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat(),
            "mode": self.mode,
            "requests": self.requests,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "labels": self.labels,
            "fired": self.fired,
            "answered": self.answered,
            "outcomes": self.outcomes,
            "outcome_value": self.outcome_value,
            "kpi": self.kpi,
        }


@dataclass(frozen=True)
class Action:
    """An audited action, stamped with the simulated time it was taken (its audit entry's)."""

    at: datetime
    action: str
    actor: str
    reason: str
    target: str
    incident_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "at": self.at.isoformat()}


@dataclass(frozen=True)
class Detection:
    """The measurement of one injected incident."""

    name: str
    type: str
    feature: str | None
    onset: datetime
    detected: bool
    time_to_detect_s: float | None = None
    alert: str | None = None
    incident_type: str | None = None
    triage: str | None = None
    severity: str | None = None
    root_cause: str | None = None
    time_to_mitigate_s: float | None = None
    mitigation: str | None = None
    kpi_impact_avoided: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "onset": self.onset.isoformat()}


def _matches(injected: Incident, found: MonitorIncident, alerts: list[Alert]) -> bool:
    if found.incident_type not in injected.expects:
        return False
    if not injected.by_feature or injected.feature is None:
        return True
    named = set(found.features) | {a.subject for a in alerts if a.subject}
    named |= {str(h.get("feature")) for h in found.hint}
    return not named or injected.feature in named


def _first_naming(
    candidates: list[MonitorIncident], injected: Incident, tick: timedelta
) -> MonitorIncident | None:
    """The first candidate; one that names the injected feature if it opened in the same
    monitor pass (a shift opens its feature's incident and the prediction drift it causes
    together, and the feature's is the one that explains it)."""
    if not candidates:
        return None
    first = candidates[0]
    if injected.feature is None:
        return first
    for found in candidates:
        if found.opened_at > first.opened_at + tick:
            break
        if injected.feature in found.features:
            return found
    return first


def _first_alert(alerts: list[Alert], injected: Incident) -> Alert:
    """The alert that detected ``injected``: the incident's first one, except that a
    feature's incident is detected by the first alert naming that feature (or naming no
    feature, as prediction drift does), not by an earlier one about another feature that
    the monitor grouped into the same incident."""
    about = alerts
    if injected.by_feature and injected.feature is not None:
        about = [a for a in alerts if a.subject in ("", injected.feature)] or alerts
    return min(about, key=lambda a: a.opened_at)


@dataclass
class SimulationResult:
    """Everything a run measured."""

    scenario: Scenario
    incidents: list[Incident]
    champion: int
    project: Path
    ticks: list[Tick] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    promoted: dict[int, bool] = field(default_factory=dict)
    detections: list[Detection] = field(default_factory=list)
    monitor_incidents: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)
    clean_days: float = 0.0
    partial: bool = False
    wall_seconds: float = 0.0

    @property
    def end(self) -> datetime:
        """The simulated time reached."""
        return self.ticks[-1].stop if self.ticks else self.scenario.start

    @property
    def false_alarms_per_day(self) -> float | None:
        """False alarms (incidents) per simulated day of clean time."""
        return None if self.clean_days <= 0 else len(self.false_alarms) / self.clean_days

    def _clean_days(self) -> float:
        busy = timedelta(0)
        spans = sorted(
            (i.onset, min(self.end, (i.end or self.end) + SETTLE))
            for i in self.incidents
            if i.type != "clean"
        )
        cursor = self.scenario.start
        for begin, finish in spans:
            first = max(begin, cursor)
            if finish > first:
                busy += finish - first
                cursor = finish
        total = self.end - self.scenario.start
        return max(0.0, (total - busy) / timedelta(days=1))

    def _kpi(self, ticks: list[Tick]) -> tuple[float, int] | None:
        """Outcome value per answered request over ``ticks``, and the answered count."""
        answered = sum(t.answered for t in ticks)
        value = sum(t.outcome_value or 0.0 for t in ticks)
        return None if answered == 0 else (value / answered, answered)

    def kpi_impact_avoided(self, injected: Incident, mitigated_at: datetime) -> float | None:
        """Outcome value the mitigation of ``injected`` at ``mitigated_at`` avoided losing.

        With ``b`` the pre-onset baseline KPI (outcome value per answered request over the
        ticks before the onset that overlap no other injected incident), ``k`` the KPI
        observed from the onset to the mitigation, and ``A`` the requests answered from
        the mitigation to the incident's end (the end of the run for an incident without
        one)::

            kpi_impact_avoided = max(0, b - k) x A

        the outcome value those requests would have lost had the incident run
        unmitigated, at the loss rate seen before the mitigation. Ticks belong to a
        period by their middle. None without an ``outcome:`` section, without a tick
        before the onset, or without one between the onset and the mitigation (a
        mitigation within a tick observes ``k`` over that whole tick).
        """
        if self.scenario.outcome is None:
            return None
        end = min(injected.end or self.end, self.end)
        others = [
            (i.onset, i.end or self.end)
            for i in self.incidents
            if i is not injected and i.type != "clean"
        ]
        before = [
            t
            for t in self.ticks
            if t.stop <= injected.onset
            and not any(t.start < hi and lo < t.stop for lo, hi in others)
        ]
        during = [t for t in self.ticks if injected.onset <= t.middle < mitigated_at] or [
            # mitigated within its first tick (the fast path takes seconds): that tick
            t
            for t in self.ticks
            if t.start < mitigated_at and injected.onset < t.stop
        ]
        after = [t for t in self.ticks if mitigated_at <= t.middle < end]
        baseline, observed = self._kpi(before), self._kpi(during)
        if baseline is None or observed is None:
            return None
        saved = sum(t.answered for t in after)
        return max(0.0, baseline[0] - observed[0]) * saved

    def collect(self, workspace: Workspace, store: MonitorStore, simulator: str) -> None:
        """Match the monitor's incidents and the audit log against the injected incidents."""
        service = workspace.spec.service
        found = sorted(store.incidents(service, status="all"), key=lambda i: i.opened_at)
        alerts: dict[int | None, list[Alert]] = {
            i.id: store.alerts(i.id) for i in found if i.id is not None
        }
        used: set[int | None] = set()
        self.detections = []
        for injected in self.incidents:
            if injected.type == "clean":
                continue
            candidates = [
                f
                for f in found
                if f.opened_at >= injected.onset and _matches(injected, f, alerts[f.id])
            ]
            match = _first_naming(candidates, injected, self.scenario.step)
            if match is None:
                self.detections.append(
                    Detection(injected.name, injected.type, injected.feature, injected.onset, False)
                )
                continue
            used.add(match.id)
            first = _first_alert(alerts[match.id], injected)
            mitigation = next(
                (
                    a
                    for a in sorted(self.actions, key=lambda a: a.at)
                    if a.actor != simulator and a.at >= injected.onset
                    and a.incident_id == match.id  # an action on this incident
                ),
                None,
            )  # fmt: skip
            hint = match.hint[0].get("feature") if match.hint else None
            if len(match.features) == 1 and (hint is None or match.incident_type in BROKEN):
                # a schema break or a quality incident names the feature that broke: that
                # is its cause, whatever else drifts in the same window
                hint = match.features[0]
            self.detections.append(
                Detection(
                    injected.name,
                    injected.type,
                    injected.feature,
                    injected.onset,
                    True,
                    (first.opened_at - injected.onset).total_seconds(),
                    f"{first.rule}:{first.subject}" if first.subject else first.rule,
                    match.incident_type,
                    match.triage,
                    match.severity,
                    None if hint is None else str(hint),
                    None
                    if mitigation is None
                    else (mitigation.at - injected.onset).total_seconds(),
                    None if mitigation is None else f"{mitigation.action} ({mitigation.actor})",
                    None
                    if mitigation is None
                    else self.kpi_impact_avoided(injected, mitigation.at),
                )
            )
        busy = [
            (i.onset, (i.end or self.end) + SETTLE) for i in self.incidents if i.type != "clean"
        ]
        self.monitor_incidents = [
            {
                "id": f.id,
                "type": f.incident_type,
                "triage": f.triage,
                "severity": f.severity,
                "title": f.title,
                "opened_at": f.opened_at.isoformat(),
                "status": f.status,
                "alerts": [a.rule + (f":{a.subject}" if a.subject else "") for a in alerts[f.id]],
            }
            for f in found
        ]
        self.false_alarms = [
            item
            for f, item in zip(found, self.monitor_incidents, strict=True)
            if f.id not in used and not any(lo <= f.opened_at < hi for lo, hi in busy)
        ]
        self.clean_days = self._clean_days()

    def modes(self) -> list[dict[str, Any]]:
        """Stretches of consecutive ticks replayed the same way."""
        stretches: list[dict[str, Any]] = []
        for tick in self.ticks:
            if stretches and stretches[-1]["mode"] == tick.mode:
                stretches[-1]["stop"] = tick.stop.isoformat()
                stretches[-1]["requests"] += tick.requests
            else:
                stretches.append(
                    {"mode": tick.mode, "start": tick.start.isoformat(),
                     "stop": tick.stop.isoformat(), "requests": tick.requests}
                )  # fmt: skip
        return stretches

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "partial": self.partial,
            "simulated_until": self.end.isoformat(),
            "wall_seconds": round(self.wall_seconds, 1),
            "requests": sum(t.requests for t in self.ticks),
            "champion": self.champion,
            "injected": [i.describe() for i in self.incidents],
            "detections": [d.to_dict() for d in self.detections],
            "false_alarms": self.false_alarms,
            "clean_days": round(self.clean_days, 4),
            "false_alarms_per_day": self.false_alarms_per_day,
            "stretches": self.modes(),
            "monitor_incidents": self.monitor_incidents,
            "actions": [a.to_dict() for a in self.actions],
            "ticks": [t.to_dict() for t in self.ticks],
        }
