"""The in-server fast path: loud signals every few seconds, without waiting for the monitor.

Per micro-batch the batch thread adds a handful of counts to a one-second bucket
(:meth:`FastCounters.observe`: a few NumPy reductions, no allocation per record). Every
``monitors.fast_path.interval`` (default 5 s) :meth:`FastPath.tick`, run in a thread,
sums the buckets of the last ``window`` (default 30 s) and checks the loud signals
against the spec's objectives, once the window holds ``min_rows`` records:

=====================  ===================================  ===============  ==========
rule                   signal                               threshold        incident
=====================  ===================================  ===============  ==========
``fast_nan_output``    NaN / out-of-range guard fallbacks   slos.fallback    nan_output
``fast_error_rate``    model errors and timeouts            slos.error_rate  error_rate
``fast_rejection``     refused records                      slos.rejection   schema_break
``fast_schema_break``  records refused for one feature      fast_path.null   schema_break
``fast_latency_p99``   p99 server latency (ms)              latency SLO      latency
=====================  ===================================  ===============  ==========

A rate breaches when the lower bound of its 95 % Wilson interval reaches the threshold
(as the default monitor rules do). On a breach it writes an alert into the metadata
store through the same :class:`~steadyml.core.monitoring.IncidentBook` and transaction
the monitor runner uses (holding the runner's cursor lock), so the fast path and the
runner share one incident per cause. Then it runs the responder at once (fallback mode
and rollback; other actions are left to ``steadyml respond``/``monitor``) and polls the
service mode, switching the scorer into and out of fallback mode. A fast-path alert
resolves once its signal stayed clear for ``clear_after``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from steadyml.adapters.predlog import FALLBACK_REASONS
from steadyml.core.clock import Clock
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import (
    Alert,
    AlertRule,
    IncidentBook,
    Measurement,
    RuleState,
    triage_of,
    wilson_interval,
)
from steadyml.errors import SteadyError
from steadyml.services.serving.outcome import REJECTED, BatchOutcome
from steadyml.spec import ServiceSpec

if TYPE_CHECKING:  # the store and the responder import SQLAlchemy (slow to import)
    from steadyml.services.responder import Responder
    from steadyml.services.workspace import Workspace

__all__ = ["FastCounters", "FastPath", "Signal", "TickReport"]

_log = logging.getLogger("steadyml.serving.fastpath")

#: Latency histogram edges (ms); p99 is read at the upper edge of its bucket.
LATENCY_EDGES_MS = np.array(
    [1, 2, 3, 5, 7.5, 10, 15, 20, 25, 35, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000],
    dtype=np.float64,
)
_GUARD = np.array(
    [FALLBACK_REASONS.index("nan_output"), FALLBACK_REASONS.index("out_of_range")], dtype=np.intp
)
_ERROR = np.array(
    [FALLBACK_REASONS.index("model_error"), FALLBACK_REASONS.index("timeout")], dtype=np.intp
)
_SCHEMA_KINDS = frozenset({"missing", "null", "wrong_type", "not_finite"})
_PREFIX = "fast_"
#: How often (wall seconds) the loop looks at the clock to see whether a tick is due.
WAKE_SECONDS = 0.1
_LOCK_LOG = "predictions"  # the runner's cursor: locking it serialises with the runner


class _Bucket:
    __slots__ = ("error", "features", "guard", "latency", "rejected", "rows")

    def __init__(self) -> None:
        self.rows = 0
        self.guard = 0
        self.error = 0
        self.rejected = 0
        self.features: dict[str, int] = {}
        self.latency = np.zeros(len(LATENCY_EDGES_MS) + 1, dtype=np.int64)


@dataclass
class Totals:
    """The counts of one window."""

    rows: int = 0
    guard: int = 0
    error: int = 0
    rejected: int = 0
    features: dict[str, int] = field(default_factory=dict)
    latency: np.ndarray[Any, np.dtype[np.int64]] = field(
        default_factory=lambda: np.zeros(len(LATENCY_EDGES_MS) + 1, dtype=np.int64)
    )

    @property
    def accepted(self) -> int:
        """Records that reached the model (or its guard)."""
        return self.rows - self.rejected

    def p99_ms(self) -> float | None:
        """The 99th latency percentile (upper edge of its bucket), None without records."""
        total = int(self.latency.sum())
        if total == 0:
            return None
        index = int(np.searchsorted(np.cumsum(self.latency), 0.99 * total))
        edges = LATENCY_EDGES_MS
        return float(edges[index]) if index < len(edges) else float(edges[-1]) * 2


class FastCounters:
    """Counts per one-second bucket over a sliding window; thread-safe.

    Parameters
    ----------
    window
        How much history :meth:`totals` sums (older buckets are dropped).
    """

    def __init__(self, window: timedelta) -> None:
        self.window_s = max(1, int(window.total_seconds()))
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def observe(self, outcome: BatchOutcome, second: int) -> None:
        """Add one micro-batch's counts to the bucket of ``second`` (epoch seconds)."""
        rows = outcome.rows
        if rows == 0:
            return
        reasons = np.bincount(
            outcome.reasons[outcome.reasons >= 0], minlength=len(FALLBACK_REASONS)
        )
        rejected = int(np.count_nonzero(outcome.status == REJECTED))
        latency = outcome.latency_ms
        hist = (
            np.bincount(
                np.searchsorted(LATENCY_EDGES_MS, latency), minlength=len(LATENCY_EDGES_MS) + 1
            )
            if latency.size
            else None
        )
        features: dict[str, int] = {}
        if outcome.rejected:
            for violations in outcome.rejected.values():
                for name in {v.field for v in violations if v.kind.value in _SCHEMA_KINDS}:
                    features[name] = features.get(name, 0) + 1
        with self._lock:
            bucket = self._buckets.get(second)
            if bucket is None:
                bucket = self._buckets[second] = _Bucket()
                if len(self._buckets) > 2 * self.window_s:
                    self._drop(second)
            bucket.rows += rows
            bucket.guard += int(reasons[_GUARD].sum())
            bucket.error += int(reasons[_ERROR].sum())
            bucket.rejected += rejected
            if hist is not None:
                bucket.latency += hist
            for name, count in features.items():
                bucket.features[name] = bucket.features.get(name, 0) + count

    def _drop(self, second: int) -> None:
        for key in [k for k in self._buckets if k <= second - self.window_s]:
            del self._buckets[key]

    def totals(self, second: int) -> Totals:
        """The sums over ``(second - window, second]``."""
        totals = Totals()
        with self._lock:
            self._drop(second)
            buckets = [b for k, b in self._buckets.items() if k <= second]
            for bucket in buckets:
                totals.rows += bucket.rows
                totals.guard += bucket.guard
                totals.error += bucket.error
                totals.rejected += bucket.rejected
                totals.latency += bucket.latency
                for name, count in bucket.features.items():
                    totals.features[name] = totals.features.get(name, 0) + count
        return totals


@dataclass(frozen=True)
class Signal:
    """One evaluated loud signal."""

    rule: AlertRule
    subject: str
    measurement: Measurement
    breached: bool


@dataclass
class TickReport:
    """What one fast-path tick did."""

    signals: list[Signal] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    fallback: str | None = None
    actions: int = 0


def _rule(
    name: str,
    metric: str,
    *,
    threshold: float,
    incident: str,
    severity: str,
    label: str,
    n: int,
) -> AlertRule:
    return AlertRule(
        name=name,
        metric=metric,
        subject="*" if metric == "quality.null_rate" else "",
        comparator=">=",
        threshold=threshold,
        decision=None,
        bound="low" if metric != "health.latency_p99_ms" else "value",
        window=label,
        k=1,
        n=1,
        severity=severity,
        runbook=f"docs/responses.md#fast-path ({incident.replace('_', ' ')})",
        incident=incident,
        triage=triage_of(incident),
        min_rows=n,
    )


class FastPath:
    """Loud-signal checks inside the server, writing alerts and incidents to the store.

    Parameters
    ----------
    spec
        The service spec (``monitors.fast_path``, ``slos``, latency budget).
    workspace
        The store (and, for the responder, the registry).
    clock
        Buckets, windows and alert times are read from it.
    version
        The serving model version now (None without a model).
    responder
        Run right after an incident was opened (None: leave it to other responders).
    """

    def __init__(
        self,
        spec: ServiceSpec,
        workspace: Workspace,
        *,
        clock: Clock,
        version: Callable[[], str | None],
        responder: Responder | None = None,
    ) -> None:
        settings = spec.monitors.fast_path
        self.spec = spec
        self.workspace = workspace
        self.clock = clock
        self.version = version
        self.responder = responder
        self.interval = parse_duration(settings.interval).total_seconds()
        self.window = parse_duration(settings.window)
        self.clear_after = parse_duration(settings.clear_after)
        self.min_rows = settings.min_rows
        self.counters = FastCounters(self.window)
        label = f"fast/{settings.window}"[:32]
        slos, n = spec.slos, self.min_rows
        self.rules: dict[str, AlertRule] = {
            key: _rule(name, metric, threshold=threshold, incident=incident,
                       severity=severity, label=label, n=n)
            for key, name, metric, threshold, incident, severity in (
                ("nan", "fast_nan_output", "health.nan_rate", slos.fallback_rate,
                 "nan_output", "P1"),
                ("error", "fast_error_rate", "health.error_rate", slos.error_rate,
                 "error_rate", "P1"),
                ("rejection", "fast_rejection", "quality.rejection_rate", slos.rejection_rate,
                 "schema_break", "P1"),
                ("schema", "fast_schema_break", "quality.null_rate", settings.null_rate,
                 "schema_break", "P1"),
                ("latency", "fast_latency_p99", "health.latency_p99_ms", spec.latency_slo_ms,
                 "latency", "P2"),
            )
        }  # fmt: skip
        self.started = clock.now()
        self._last_breach: dict[tuple[str, str], datetime] = {}
        self._active: set[tuple[str, str, str]] | None = None  # unknown until the first tick
        self._forced_by_us: str | None = None
        # the next tick is due at this clock time (epoch seconds); the batch thread wakes
        # the loop when traffic carries the clock past it (see :meth:`loop`)
        self._due_at = self.started.timestamp() + self.interval
        self._wake: Callable[[], None] | None = None

    @classmethod
    def for_server(
        cls,
        spec: ServiceSpec,
        workspace: Workspace,
        *,
        clock: Clock,
        version: Callable[[], str | None],
    ) -> FastPath | None:
        """The fast path of a server (None when ``monitors.fast_path.enabled`` is off).

        Opens the store and, with ``responses:`` in the spec, a responder that runs the
        fast actions (``fallback_mode``, ``rollback``).

        Raises
        ------
        SpecError
            For a misconfigured response policy (the key is named).
        """
        if not spec.monitors.fast_path.enabled:
            return None
        responder = None
        if spec.responses:
            from steadyml.services.responder import Responder

            responder = Responder.for_workspace(
                workspace, clock=clock, executes=("fallback_mode", "rollback")
            )
        workspace.store  # noqa: B018 - open (and migrate) the store now, not on the first breach
        return cls(spec, workspace, clock=clock, version=version, responder=responder)

    # -- the hot path ------------------------------------------------------------------

    def observe(self, outcome: BatchOutcome) -> None:
        """Count one micro-batch (batch thread); wake the loop when a tick is due."""
        now = self.clock.now().timestamp()
        self.counters.observe(outcome, int(now))
        wake = self._wake
        if now >= self._due_at and wake is not None:
            self._due_at = now + self.interval  # one wake-up per due tick
            wake()

    # -- evaluation --------------------------------------------------------------------

    def signals(self, now: datetime) -> list[Signal]:
        """Every loud signal over the window ending at ``now``."""
        totals = self.counters.totals(int(now.timestamp()))
        found: list[Signal] = []
        accepted = totals.accepted
        rates: list[tuple[str, str, int, int]] = [
            ("nan", "", totals.guard, accepted),
            ("error", "", totals.error, accepted),
            ("rejection", "", totals.rejected, totals.rows),
        ]
        rates += [("schema", name, count, totals.rows) for name, count in totals.features.items()]
        for key, subject, count, rows in rates:
            rule = self.rules[key]
            rate = count / rows if rows else None
            low, high = wilson_interval(count, rows) if rows else (None, None)
            measurement = Measurement(rule.metric, rate, subject, low=low, high=high, n=rows)
            found.append(Signal(rule, subject, measurement, rule.breached(measurement)))
        rule = self.rules["latency"]
        latency = Measurement(rule.metric, totals.p99_ms(), "", n=totals.rows)
        found.append(Signal(rule, "", latency, rule.breached(latency)))
        return found

    def _states(self, signals: Sequence[Signal], now: datetime, version: str) -> list[RuleState]:
        start = now - self.window
        states: list[RuleState] = []
        seen: set[tuple[str, str, str]] = set()
        for signal in signals:
            series = (signal.rule.name, signal.subject)
            seen.add((signal.rule.name, version, signal.subject))
            if signal.breached:
                self._last_breach[series] = now
            last = self._last_breach.get(series, self.started)
            states.append(
                RuleState(
                    rule=signal.rule,
                    version=version,
                    subject=signal.subject,
                    firing=signal.breached,
                    clear=not signal.breached and now - last >= self.clear_after,
                    breaches=(start,) if signal.breached else (),
                    latest=signal.measurement,
                    latest_start=start,
                )
            )
        by_name = {rule.name: rule for rule in self.rules.values()}
        for name, alert_version, subject in self._active or set():
            if (name, alert_version, subject) in seen or name not in by_name:
                continue  # evaluated above; else (a feature, an old version): clear by time
            last = self._last_breach.get((name, subject), self.started)
            states.append(
                RuleState(
                    rule=by_name[name],
                    version=alert_version,
                    subject=subject,
                    firing=False,
                    clear=now - last >= self.clear_after,
                    breaches=(),
                    latest=None,
                    latest_start=start,
                )
            )
        return states

    def tick(self) -> TickReport:
        """Evaluate, write alerts and incidents, run the responder, poll the service mode.

        Blocking (database I/O): run it in a thread. A store that cannot be reached is
        logged and retried at the next tick.
        """
        now = self.clock.now()
        report = TickReport(signals=self.signals(now))
        version = self.version()
        breached = any(s.breached for s in report.signals)
        if version is not None and (breached or self._active is None or self._active):
            self._write(report, now, version)
        if self.responder is not None and (report.opened or report.resolved):
            round_report = self.responder.run_once()
            report.actions = len(round_report.finished)
        report.fallback = self._poll_mode()
        return report

    def _write(self, report: TickReport, now: datetime, version: str) -> None:
        from steadyml.adapters.store.monitoring import MonitorStore

        monitor = MonitorStore(self.workspace.store, self.clock)
        with monitor.transaction(self.spec.service) as tx:
            tx.cursor(_LOCK_LOG)
            active = tx.active_alerts()
            self._active = {
                (a.rule, a.model_version, a.subject) for a in active if a.rule.startswith(_PREFIX)
            }
            states = self._states(report.signals, now, version)
            if not any(s.firing for s in states) and not self._active:
                return
            book = IncidentBook(self.spec.service, active, tx.open_incidents(), now)
            book.apply(states)
            tx.apply(book.changed_incidents, book.changed_alerts, book.events)
        for alert in book.changed_alerts:
            key = (alert.rule, alert.model_version, alert.subject)
            if not alert.active:
                self._active.discard(key)
                continue
            self._active.add(key)
            if alert.id is None:
                report.fired.append(alert)
                _log.warning(
                    "fast path: %s %s fired (value %s)", alert.rule, alert.subject, alert.value
                )
        report.opened = [e.incident_key for e in book.events if e.kind == "opened"]
        report.resolved = [e.incident_key for e in book.events if e.kind == "resolved"]

    # -- the service mode --------------------------------------------------------------

    def _poll_mode(self) -> str | None:
        from steadyml.adapters.store.responses import ResponseStore

        modes = ResponseStore(self.workspace.store, self.clock).active_modes(self.spec.service)
        fallback = [m for m in modes if m.mode == "fallback"]
        return fallback[0].reason if fallback else None

    def apply_mode(self, scorer: Any, reason: str | None) -> None:
        """Switch ``scorer`` into (``reason``) or out of (None) fallback mode.

        An operator's own fallback mode (``POST /admin/fallback``) is left alone.
        """
        current = scorer.forced
        if current is not None and current != self._forced_by_us:
            return  # set by an operator
        wanted = None if reason is None else f"responder: {reason}"
        if wanted != current:
            scorer.forced = wanted
            _log.warning("fast path: fallback mode %s", "on" if wanted else "off")
        self._forced_by_us = wanted

    async def loop(
        self, scorer: Any, on_error: Callable[[BaseException], None] | None = None
    ) -> None:
        """Tick every ``interval`` of event time (in a thread) and apply the mode; never returns.

        A tick is due once the clock moved ``interval`` past the last one. The loop looks
        at the clock every :data:`WAKE_SECONDS` of wall time (at most ``interval``), and
        the batch thread wakes it as soon as a micro-batch finds a tick due. On the system
        clock that is every ``interval`` seconds either way; in a simulation, whose clock
        is moved by the replayed requests many times faster than the wall, the traffic's
        own event times trigger each tick, so it happens at the simulated moment it would
        have happened in production, whatever the replay's speed.
        """
        wake = min(self.interval, WAKE_SECONDS)
        running = asyncio.get_running_loop()
        sleeper: asyncio.Future[None] = running.create_future()

        def wake_now() -> None:  # on the event loop: by the timer or the batch thread
            if not sleeper.done():
                sleeper.set_result(None)

        def wake_up() -> None:  # from the batch thread
            running.call_soon_threadsafe(wake_now)

        self._wake = wake_up
        last = self.clock.now()
        self._due_at = last.timestamp() + self.interval
        try:
            while True:
                now = self.clock.now()
                if (now - last).total_seconds() < self.interval:
                    # a wake-up that came while a tick ran is not lost: the clock it saw
                    # is read here before sleeping again
                    sleeper = running.create_future()
                    timer = running.call_later(wake, wake_now)
                    try:
                        await sleeper
                    finally:
                        timer.cancel()
                    continue
                last = now
                self._due_at = now.timestamp() + self.interval
                await self._tick_and_apply(scorer, on_error)
        finally:
            self._wake = None

    async def _tick_and_apply(
        self, scorer: Any, on_error: Callable[[BaseException], None] | None
    ) -> None:
        try:
            report = await asyncio.to_thread(self.tick)
        except SteadyError as exc:
            _log.warning("fast path tick failed: %s", exc.one_line())
            if on_error is not None:
                on_error(exc)
            return
        except Exception as exc:  # the loop must survive anything
            _log.exception("fast path tick failed")
            if on_error is not None:
                on_error(exc)
            return
        self.apply_mode(scorer, report.fallback)


def describe(signals: Sequence[Signal]) -> list[Mapping[str, Any]]:
    """Signals as JSON-ready dicts (for ``/admin/status`` and logs)."""
    return [
        {
            "rule": s.rule.name,
            "subject": s.subject,
            "value": s.measurement.value,
            "low": s.measurement.low,
            "n": s.measurement.n,
            "threshold": s.rule.threshold,
            "breached": s.breached,
        }
        for s in signals
    ]
