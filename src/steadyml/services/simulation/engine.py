"""The replay engine: a simulated clock driving traffic, labels, the monitor and responder.

Time moves in ticks of ``monitor_every``. Per tick: the tick's rows are drawn, changed
by the active incidents, sent — over HTTP to the real server near and during incidents,
at log level on clean stretches — their labels scheduled (delay, coverage) and, with an
``outcome:`` section, their business outcomes made from the service's answers
(:mod:`~steadyml.services.simulation.outcomes`) and scheduled likewise; the labels and
outcomes now due are fed back, then the clock moves to the tick's end and the monitor
runs one round exactly as in production (``Monitor.for_workspace``, which also runs the
responder after the round when the spec has ``responses:``). Ctrl-C stops the server
and leaves a partial result.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from steadyml.core.clock import ManualClock
from steadyml.datasets import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from steadyml.services.bundles import load_bundle
from steadyml.services.monitoring import Monitor, log_root
from steadyml.services.serving.holder import LoadedModel
from steadyml.services.simulation.faulty_versions import (
    ACTOR,
    promote_version,
    register_fault,
)
from steadyml.services.simulation.incident import Incident
from steadyml.services.simulation.library import build_incidents, check_features
from steadyml.services.simulation.outcomes import Answers, check_outcome_column, outcome_values
from steadyml.services.simulation.project import (
    Project,
    census_schema,
    prepare_project,
    replay_rows,
)
from steadyml.services.simulation.result import Action, SimulationResult, Tick
from steadyml.services.simulation.scenario import Scenario
from steadyml.services.simulation.server import SimulationServer
from steadyml.services.simulation.traffic import EVENT_TIME, REQUEST_ID, Traffic
from steadyml.services.simulation.transport import HttpTransport, LogTransport
from steadyml.services.workspace import Workspace

__all__ = ["HTTP", "LOG", "Simulation"]

_log = logging.getLogger("steadyml.simulation")
HTTP = "http"
LOG = "log"
#: Wall seconds for every server worker to load a promoted version (the project's
#: reload interval is 1 s): without the wait, a tick of simulated minutes would still be
#: answered by the old champion and time-to-detect would count the reload.
RELOAD_WAIT = 1.5
#: Outcome draws come from their own stream of the scenario's seed, so that adding an
#: ``outcome:`` section changes none of the other draws (incidents, label coverage).
_OUTCOME_STREAM = 1
_CENSUS_KINDS = {
    **dict.fromkeys(NUMERIC_FEATURES, "numeric"),
    **dict.fromkeys(CATEGORICAL_FEATURES, "categorical"),
}


@dataclass
class _Pending:
    """Labels waiting for their arrival time."""

    frames: list[pl.DataFrame] = field(default_factory=list)

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.frames.append(frame)

    def due(self, until: datetime) -> pl.DataFrame | None:
        if not self.frames:
            return None
        every = pl.concat(self.frames)
        mask = every.get_column("event_time") <= until
        ready, rest = every.filter(mask), every.filter(~mask)
        self.frames = [rest] if rest.height else []
        return ready if ready.height else None


class Simulation:
    """One run of a scenario.

    Parameters
    ----------
    scenario
        The checked scenario.
    out_dir
        Where the project copy, the server log and the reports go.
    progress
        Called with a line of text as the run advances.
    on_tick
        Called after every tick with the tick, the result so far (its ``actions``) and
        the workspace (to read incidents, for a live display).
    """

    def __init__(
        self,
        scenario: Scenario,
        out_dir: Path,
        progress: Callable[[str], None] = lambda _: None,
        on_tick: Callable[[Tick, SimulationResult, Workspace], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.on_tick = on_tick
        self.rng = np.random.default_rng(scenario.seed)
        if scenario.data.spec is None and scenario.data.path is None:
            check_features(scenario, _CENSUS_KINDS)  # refused before anything starts
            check_outcome_column(scenario.outcome, census_schema())

    # -- set-up ----------------------------------------------------------------------

    def _windows(self, incidents: list[Incident]) -> list[tuple[datetime, datetime]]:
        http = self.scenario.http
        if not http.enabled:
            return []
        if http.always:
            return [(self.scenario.start, self.scenario.end)]
        from steadyml.core.durations import parse_duration

        before, after = parse_duration(http.before), parse_duration(http.after)
        return [
            (i.onset - before, (i.end or self.scenario.end) + after)
            for i in incidents
            if i.type != "clean"
        ]

    def run(self) -> SimulationResult:
        """Prepare, replay and measure; returns the result (``partial`` after Ctrl-C)."""
        scenario = self.scenario
        self.out_dir.mkdir(parents=True, exist_ok=True)
        project = prepare_project(scenario, self.out_dir, self.progress)
        with Workspace.open(project.spec) as workspace:
            return self._run(project, workspace)

    def _run(self, project: Project, workspace: Workspace) -> SimulationResult:
        scenario, spec = self.scenario, project.spec
        registry = workspace.registry
        champion = registry.alias_version("champion")
        if champion is None:
            from steadyml.errors import NotFoundError

            raise NotFoundError("champion", None, "promote a model in the project first")
        clock = ManualClock(scenario.start)
        models: dict[int, LoadedModel] = {}

        def model_of(version: int) -> LoadedModel:
            if version not in models:
                bundle = load_bundle(registry, workspace.model_cache, version)
                models[version] = LoadedModel.build(bundle, "registry", clock.now())
            return models[version]

        model = model_of(champion)
        kinds = {rule.name: str(rule.kind) for rule in model.contract.columns}
        check_features(scenario, kinds)
        features = list(model.contract.names)
        data = replay_rows(scenario, spec, features)
        incidents = build_incidents(scenario, spec.data.target)
        for incident in incidents:
            incident.bind(data)
        faults: dict[int, int] = {}
        for index, incident in enumerate(incidents):
            fault = incident.fault()
            if fault is not None:
                self.progress(f"registering the faulty version for {incident.name}")
                faults[index] = register_fault(workspace, fault)
        traffic = Traffic(data, f"{scenario.name}-{int(time.time())}", scenario.seed)
        outcome = scenario.outcome
        outcome_rng = np.random.default_rng([_OUTCOME_STREAM, scenario.seed])
        later = _Pending()  # outcomes waiting for their arrival time
        result = SimulationResult(scenario, incidents, champion=champion, project=project.directory)
        monitor = Monitor.for_workspace(workspace, clock=clock)
        logger = LogTransport(
            log_root(workspace), spec.service, clock, spec.deployment.fallback.value or 0.0
        )
        server = SimulationServer(
            project.spec_path, scenario.http.workers, self.out_dir / "server.log"
        )
        http: HttpTransport | None = None
        windows = self._windows(incidents)
        pending = _Pending()
        seen_actions = {entry.id for entry in workspace.store.audit_log(spec.service, limit=1000)}
        started_wall = time.perf_counter()
        at = scenario.start
        step = scenario.step
        try:
            while at < scenario.end:
                stop = min(at + step, scenario.end)
                middle = at + (stop - at) / 2
                mode = HTTP if any(a < stop and at < b for a, b in windows) else LOG
                if mode == HTTP and http is None:
                    workers = scenario.http.workers
                    self.progress(f"{at:%Y-%m-%d %H:%M}: starting the server ({workers} workers)")
                    server.start(at)
                    http = HttpTransport(
                        server.url, scenario.http.batch, scenario.http.concurrency,
                        workspace.settings.token,
                    )  # fmt: skip
                elif mode == LOG and http is not None:
                    http.close()
                    http = None
                    server.stop()
                for index, version in faults.items():
                    incident = incidents[index]
                    if incident.progress(middle) > 0 and not result.promoted.get(index):
                        promote_version(
                            workspace, version, f"simulated incident: {incident.name}", middle
                        )
                        result.promoted[index] = True
                        if mode == HTTP:  # the faulty version serves from the onset on
                            time.sleep(RELOAD_WAIT)
                    elif (
                        incident.end is not None
                        and stop > incident.end
                        and result.promoted.get(index)
                    ):
                        if registry.alias_version("champion") == version:
                            promote_version(workspace, champion, "simulated incident over", stop)
                        result.promoted[index] = False
                progress = [i.progress(middle) for i in incidents]
                rate = scenario.rate / 86_400.0
                for incident, p in zip(incidents, progress, strict=True):
                    rate *= incident.rate_factor(p)
                rows = traffic.count(rate, (stop - at).total_seconds())
                frame = traffic.take(rows, at, stop)
                for incident, p in zip(incidents, progress, strict=True):
                    if p > 0:
                        frame = incident.apply(frame, p, self.rng)
                serving = model_of(registry.alias_version("champion") or champion)
                sender = http if mode == HTTP else logger
                statuses, answers = self._send(
                    frame, features, incidents, progress, sender, serving
                )
                scheduled, truth = self._labels(frame, spec.data.target, incidents, progress)
                pending.add(scheduled)
                value = None
                if outcome is not None:
                    values = outcome_values(outcome, answers, frame, truth, outcome_rng)
                    value = float(np.nansum(values))
                    later.add(_schedule(frame, values, outcome.delay_delta, outcome.coverage,
                                        outcome_rng))  # fmt: skip
                due = [
                    (pending.due(stop), "label", spec.data.target),
                    (later.due(stop), "outcome", outcome.name if outcome else ""),
                ]
                fed = {kind: 0 if d is None else d.height for d, kind, _ in due}
                arrived = [(d, kind, name) for d, kind, name in due if d is not None]
                if arrived and http is not None:
                    events = [e for d, kind, name in arrived for e in _events(d, kind, name)]
                    http.feedback(events, stop.timestamp())
                elif arrived:
                    logger.feedback(
                        pl.concat([_feedback_frame(d, kind, name) for d, kind, name in arrived])
                    )
                clock.set(stop)
                report = monitor.run_once()
                # one read: a background retrain may add an entry between two reads
                fresh = [
                    e
                    for e in workspace.store.audit_log(spec.service, limit=50)
                    if e.id not in seen_actions
                ]
                seen_actions.update(e.id for e in fresh)
                actions = [
                    Action(e.at, e.action, e.actor, e.reason, e.target, e.incident_id)
                    for e in fresh
                ]
                result.ticks.append(
                    Tick(at, stop, mode, frame.height, dict(statuses), fed["label"],
                         [f"{a.rule}:{a.subject}" if a.subject else a.rule for a in report.fired],
                         answered=int(answers.answered.sum()), outcomes=fed["outcome"],
                         outcome_value=value)
                )  # fmt: skip
                result.actions.extend(sorted(actions, key=lambda a: a.action))
                if self.on_tick is not None:
                    self.on_tick(result.ticks[-1], result, workspace)
                at = stop
                if len(result.ticks) % 10 == 0:
                    self.progress(
                        f"{stop:%Y-%m-%d %H:%M} {mode:4} {frame.height} requests, "
                        f"{len(report.fired)} alerts fired this pass"
                    )
        except KeyboardInterrupt:
            result.partial = True
            self.progress("interrupted: stopping the server, writing a partial report")
        finally:
            if http is not None:
                http.close()
            server.stop()
        result.wall_seconds = time.perf_counter() - started_wall
        self._settle(monitor, workspace, result, seen_actions)
        result.collect(workspace, monitor.store, ACTOR)
        return result

    def _settle(
        self, monitor: Monitor, workspace: Workspace, result: SimulationResult, seen: set[int]
    ) -> None:
        """Let background responses (a retrain) finish, and record their audit entries."""
        responder = getattr(monitor.after_run, "__self__", None)
        wait_idle = getattr(responder, "wait_idle", None)
        if wait_idle is None or result.partial:
            return
        self.progress("waiting for background responses (retrain) to finish")
        try:
            wait_idle(600.0)
        except KeyboardInterrupt:
            result.partial = True
            return
        service = workspace.spec.service
        result.actions.extend(
            Action(result.end, e.action, e.actor, e.reason, e.target, e.incident_id)
            for e in workspace.store.audit_log(service, limit=50)
            if e.id not in seen
        )

    def _send(  # noqa: PLR0917 - one call site
        self,
        frame: pl.DataFrame,
        features: list[str],
        incidents: list[Incident],
        progress: list[float],
        sender: HttpTransport | LogTransport | None,
        model: LoadedModel,
    ) -> tuple[Counter[int], Answers]:
        if frame.height == 0:
            return Counter(), Answers.none(0)
        ids = frame.get_column(REQUEST_ID).to_list()
        times = frame.get_column(EVENT_TIME)
        if isinstance(sender, HttpTransport):
            records = frame.select(features).to_dicts()
            for incident, p in zip(incidents, progress, strict=True):
                if p > 0:
                    records = incident.edit_records(records, p, self.rng)
            seconds = (times.dt.epoch("us") / 1e6).to_list()
            return sender.predict(records, ids, seconds)
        if sender is None:  # pragma: no cover - the server is started before HTTP ticks
            return Counter(), Answers.none(frame.height)
        answers = sender.predict(model, frame.select(features), ids, times)
        return Counter({200: frame.height}), answers

    def _labels(self, frame: pl.DataFrame, target: str, incidents: list[Incident],
                progress: list[float]) -> tuple[pl.DataFrame, NDArray[np.float64]]:  # fmt: skip
        """The labels to feed back (arrival time, coverage), and every row's true label."""
        labels = frame.get_column(target).cast(pl.Float64).to_numpy().copy()
        delay = timedelta(seconds=_seconds(self.scenario.labels.delay))
        coverage = self.scenario.labels.coverage
        for incident, p in zip(incidents, progress, strict=True):
            if p > 0:
                labels = incident.labels(frame, labels, p, self.rng)
                feed = incident.label_feed(p)
                delay += feed.extra_delay
                coverage *= feed.coverage
        keep = self.rng.random(frame.height) < coverage
        arrival = frame.get_column(EVENT_TIME) + delay
        scheduled = pl.DataFrame(
            {
                "request_id": frame.get_column(REQUEST_ID),
                "event_time": arrival,
                "value": labels,
            }
        ).filter(pl.Series(keep))
        return scheduled, labels


def _schedule(
    frame: pl.DataFrame,
    values: NDArray[np.float64],
    delay: timedelta,
    coverage: float,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Outcome events of a tick: the answered requests', a share ``coverage``, after ``delay``."""
    keep = np.isfinite(values) & (rng.random(frame.height) < coverage)
    return pl.DataFrame(
        {
            "request_id": frame.get_column(REQUEST_ID),
            "event_time": frame.get_column(EVENT_TIME) + delay,
            "value": values,
        }
    ).filter(pl.Series(keep))


def _seconds(text: str) -> float:
    from steadyml.core.durations import parse_duration

    return parse_duration(text).total_seconds()


def _events(due: pl.DataFrame, kind: str, name: str) -> list[dict[str, Any]]:
    """``/feedback`` events; a label's name is left to the server (the spec's target)."""
    times = (due.get_column("event_time").dt.epoch("us") / 1e6).to_list()
    extra = {"kind": kind, "name": name} if kind != "label" else {}
    return [
        {"request_id": rid, "value": value, "event_time": when, **extra}
        for rid, value, when in zip(
            due.get_column("request_id").to_list(),
            due.get_column("value").to_list(),
            times,
            strict=True,
        )
    ]


def _feedback_frame(due: pl.DataFrame, kind: str, name: str) -> pl.DataFrame:
    n = due.height
    return pl.DataFrame(
        {
            "request_id": due.get_column("request_id"),
            "event_time": due.get_column("event_time"),
            "received_at": due.get_column("event_time"),
            "kind": [kind] * n,
            "name": [name] * n,
            "value": due.get_column("value"),
            "value_str": pl.Series([None] * n, dtype=pl.String),
        }
    )
