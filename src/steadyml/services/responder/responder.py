"""The responder: incident events in, policy actions out, each once, audited, undone.

A round (:meth:`Responder.run_once`):

1. takes over actions left ``requested`` by a responder that stopped (crash, or a
   server that does not run that action) once their lease expired;
2. reads the incident events after its persisted cursor; for every ``opened`` event of
   an incident still open, asks each matching policy for its action;
3. stores those actions and moves the cursor in one transaction
   (:meth:`~steadyml.adapters.store.responses.ResponseStore.claim`): inside its
   cooldown an action is stored as ``skipped``; if another responder moved the cursor
   first, nothing is stored and this round stops - so no event acts twice;
4. runs the actions it claimed (``retrain`` on a background thread);
5. reconciles: a fallback mode whose incident has resolved is cleared (its action
   becomes ``undone``, the clearing is audited), and sinks hear of resolved incidents
   that were paged.

Several responders (``steadyml respond``, the one inside ``steadyml monitor``, the
server's fast path) may share one store: they share the cursor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from steadyml.adapters.store.monitor_records import EventRecord
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ActionRecord, ActionRequest, ResponseStore
from steadyml.core.clock import Clock, SystemClock
from steadyml.core.monitoring import Incident
from steadyml.errors import NotFoundError, SteadyError
from steadyml.services.responder.actions import (
    ACTOR,
    FALLBACK,
    ActionOutcome,
    Executors,
    Notifier,
    default_notification,
)
from steadyml.services.responder.policies import ACTIONS, Policy, compile_policies
from steadyml.services.rounds import run_rounds
from steadyml.services.workspace import Workspace

__all__ = ["CONSUMER", "Responder", "RoundReport"]

_log = logging.getLogger("steadyml.responder")

#: The consumer name of the responder's event cursor.
CONSUMER = "responder"
_EVENT_BATCH = 500
_LEASES = {"retrain": timedelta(hours=6)}
_LEASE = timedelta(minutes=1)


@dataclass
class RoundReport:
    """What one responder round did."""

    events: int = 0
    requested: list[ActionRecord] = field(default_factory=list)
    skipped: list[ActionRecord] = field(default_factory=list)
    finished: list[ActionRecord] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    conflict: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "events": self.events,
            "requested": [r.to_dict() for r in self.requested],
            "skipped": [r.to_dict() for r in self.skipped],
            "finished": [r.to_dict() for r in self.finished],
            "cleared_modes_of_incidents": self.cleared,
            "conflict": self.conflict,
        }


def _evidence(incident: Incident, event: EventRecord, policy: Policy) -> dict[str, Any]:
    return {
        "incident": incident.key,
        "type": incident.incident_type,
        "severity": incident.severity,
        "title": incident.title,
        "features": list(incident.features),
        "versions": list(incident.versions),
        "hint": [dict(h) for h in incident.hint][:3],
        "event": {"id": event.id, "kind": event.kind, "at": event.at.isoformat()},
        "policy": {
            "on": policy.on,
            "action": policy.action,
            "cooldown_s": policy.cooldown.total_seconds(),
        },
    }


class Responder:
    """Acts on one service's incidents according to the spec's ``responses:``.

    Parameters
    ----------
    workspace
        The service's registry and store.
    clock
        Decides cooldowns and stamps records (system clock by default).
    notifier
        The sinks dispatcher for ``page`` (and resolved notifications).
    notification_for
        Builds a notification from an incident and an event kind.
    executes
        The actions this responder runs itself; the others are stored as requested
        and left to a responder that runs them (the server runs only the fast ones).

    Raises
    ------
    SpecError
        At construction, for a misconfigured policy (the key is named).
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        notification_for: Callable[[Incident, str], Any] = default_notification,
        executes: Iterable[str] = ACTIONS,
    ) -> None:
        self.workspace = workspace
        self.spec = workspace.spec
        self.service = self.spec.service
        self.policies = compile_policies(self.spec)
        self.clock: Clock = clock or SystemClock()
        self.executes = frozenset(executes)
        self.monitor = MonitorStore(workspace.store, self.clock)
        self.responses = ResponseStore(workspace.store, self.clock)
        self.executors = Executors(
            workspace,
            self.monitor,
            self.responses,
            notifier=notifier,
            notification_for=notification_for,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_workspace(
        cls,
        workspace: Workspace,
        *,
        clock: Clock | None = None,
        executes: Iterable[str] = ACTIONS,
    ) -> Responder:
        """A responder whose ``page`` action reaches the spec's ``sinks:``.

        Raises
        ------
        ConfigError
            When a policy is misconfigured, or a sink's secret variable is missing.
        """
        from steadyml.services.notifications import build_dispatcher, notification_factory

        spec = workspace.spec
        notifier = build_dispatcher(spec, clock=clock) if spec.sinks else None
        return cls(
            workspace,
            clock=clock,
            notifier=notifier,
            notification_for=notification_factory(clock),
            executes=executes,
        )

    # -- a round -----------------------------------------------------------------------

    def run_once(self) -> RoundReport:
        """One round: resume, read events, claim, act, reconcile.

        Raises
        ------
        StoreUnavailable
            When the database cannot be reached (nothing was done twice; retry later).
        """
        report = RoundReport()
        if not self.policies:
            return report
        for record in self._pending():
            self._run(record, report)
        after = self.responses.cursor(CONSUMER, self.service)
        events = self.monitor.events(self.service, after_id=after, limit=_EVENT_BATCH)
        report.events = len(events)
        if events:
            requests = self._requests(events)
            claimed = self.responses.claim(
                CONSUMER,
                self.service,
                expected=after,
                last_event_id=events[-1].id,
                requests=requests,
            )
            if claimed is None:
                report.conflict = True
                return report
            for record in claimed:
                if record.status == "skipped":
                    report.skipped.append(record)
                    _log.info(
                        "%s for incident #%d skipped: cooldown", record.action, record.incident_id
                    )
                    continue
                report.requested.append(record)
                if record.claimed_at is not None:
                    self._run(record, report)
        self._reconcile(report)
        return report

    def _pending(self) -> list[ActionRecord]:
        taken: list[ActionRecord] = []
        for action in sorted(self.executes):
            lease = _LEASES.get(action, _LEASE)
            taken += self.responses.claim_pending(self.service, [action], lease)
        return taken

    def _requests(self, events: list[EventRecord]) -> list[ActionRequest]:
        requests: list[ActionRequest] = []
        incidents: dict[int, Incident | None] = {}
        for event in events:
            if event.kind != "opened":
                continue
            if event.incident_id not in incidents:
                try:
                    incidents[event.incident_id] = self.monitor.incident(event.incident_id)
                except NotFoundError:
                    incidents[event.incident_id] = None
            incident = incidents[event.incident_id]
            if incident is None or not incident.open:
                continue  # resolved before we got to it: nothing left to mitigate
            for policy in self.policies:
                if policy.on != incident.incident_type:
                    continue
                requests.append(
                    ActionRequest(
                        service=self.service,
                        incident_id=event.incident_id,
                        incident_type=incident.incident_type,
                        action=policy.action,
                        event_id=event.id,
                        actor=ACTOR,
                        cooldown_key=policy.cooldown_key(self.service),
                        cooldown=policy.cooldown,
                        evidence=_evidence(incident, event, policy),
                        claim=policy.action in self.executes,
                    )
                )
        return requests

    # -- running actions ---------------------------------------------------------------

    def _policy(self, record: ActionRecord) -> Policy | None:
        for policy in self.policies:
            if policy.on == record.incident_type and policy.action == record.action:
                return policy
        return None

    def _run(self, record: ActionRecord, report: RoundReport) -> None:
        if record.action == "retrain":
            policy = self._policy(record)
            auto = policy.auto_promote if policy is not None else False
            future = self._background().submit(self._retrain, record, auto)
            with self._lock:
                self._running.add(future)
            future.add_done_callback(self._forget)
            return
        finished = self._execute(record, lambda: self._dispatch(record))
        if finished is not None:
            report.finished.append(finished)

    def _dispatch(self, record: ActionRecord) -> ActionOutcome:
        if (
            record.action in ("fallback_mode", "rollback")
            and not self.monitor.incident(record.incident_id).open
        ):
            return "done", {"skipped": "the incident resolved before the action ran"}
        if record.action == "fallback_mode":
            return self.executors.fallback_mode(record)
        if record.action == "rollback":
            return self.executors.rollback(record)
        if record.action == "page":
            return self.executors.page(record)
        return "failed", {"error": f"unknown action {record.action!r}"}

    def _execute(
        self, record: ActionRecord, run: Callable[[], ActionOutcome]
    ) -> ActionRecord | None:
        try:
            status, result = run()
        except SteadyError as exc:  # left requested: retried once its lease expires
            _log.warning(
                "%s for incident #%d failed: %s", record.action, record.incident_id, exc.one_line()
            )
            return None
        except Exception as exc:  # a bug: record it, never let the loop die
            _log.exception("%s for incident #%d crashed", record.action, record.incident_id)
            status, result = "failed", {"error": f"{type(exc).__name__}: {exc}"}
        finished = self.responses.finish(record.id, status, result)
        _log.info("%s for incident #%d: %s", record.action, record.incident_id, status)
        return finished

    def _retrain(self, record: ActionRecord, auto_promote: bool) -> None:
        self._execute(record, lambda: self.executors.retrain(record, auto_promote))

    def _background(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="steadyml-retrain")
        return self._pool

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    # -- undoing -----------------------------------------------------------------------

    def _reconcile(self, report: RoundReport) -> None:
        for mode in self.responses.active_modes(self.service):
            if mode.mode != FALLBACK or mode.actor != ACTOR or mode.incident_id is None:
                continue
            incident = self.monitor.incident(mode.incident_id)
            if incident.open:
                continue
            self.responses.clear_modes(self.service, mode=FALLBACK, incident_id=mode.incident_id)
            for record in self.responses.actions(self.service, incident_id=mode.incident_id):
                if record.action == "fallback_mode" and record.status == "done":
                    self.responses.finish(record.id, "undone", {"cleared": "incident resolved"})
                    self.executors.audit(
                        "fallback_mode_cleared",
                        record,
                        f"incident #{mode.incident_id} resolved",
                        "fallback",
                        {"mode_id": mode.id, "set_at": mode.set_at.isoformat()},
                    )
            report.cleared.append(mode.incident_id)
        for record in self.responses.actions(self.service, status="done"):
            if record.action != "page" or record.result.get("resolved_sent"):
                continue
            incident = self.monitor.incident(record.incident_id)
            if not incident.open:
                self.executors.page_resolved(incident)
                self.responses.finish(record.id, "done", {"resolved_sent": True})

    # -- life cycle --------------------------------------------------------------------

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for background actions (retrain) to finish; True when none is left."""
        with self._lock:
            running = set(self._running)
        if not running:
            return True
        _done, pending = wait(running, timeout=timeout)
        return not pending

    def close(self) -> None:
        """Wait for background actions and stop their thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def watch(
        self,
        interval: float,
        *,
        stop: threading.Event | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        max_rounds: int | None = None,
    ) -> int:
        """Run :meth:`run_once` every ``interval`` seconds until ``stop`` is set.

        A failing round (database down, registry down) is logged, reported to
        ``on_error`` and retried next round. Returns the number of rounds run.
        """
        return run_rounds(
            self.run_once,
            interval,
            log=_log,
            failed="responder round failed",
            stop=stop,
            on_round=on_round,
            on_error=on_error,
            max_rounds=max_rounds,
        )
