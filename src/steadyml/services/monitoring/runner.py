"""The monitor runner: ``steadyml monitor`` once, or ``--watch``.

A *pass* reads the prediction and feedback segments sealed since the stored cursors
(at most ``monitors.max_segments`` each), builds per-pane partial summaries and
profiles outside any transaction, then, in one transaction: locks the cursors and
checks that no other runner moved them meanwhile (else the pass is discarded and
redone), merges the partials into the stored panes, evaluates the due windows, stores
their metrics, evaluates the alert rules, updates alerts and incidents, and moves the
cursors. A crash at any point leaves either the whole pass or none of it; two runners
of one service take turns. Unreadable segments are skipped and counted; a failing
check is logged and counted; the watch loop survives a database that is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from steadyml.adapters.predlog import FEEDBACK, PREDICTIONS, SegmentCursor
from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorConflict, MonitorStore
from steadyml.core.clock import Clock, SystemClock
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import Alert, WindowSpec, compile_rules, parse_windows
from steadyml.core.monitoring.checks import DriftMemo
from steadyml.errors import SpecError, SteadyError
from steadyml.services.monitoring.alerting import Alerting
from steadyml.services.monitoring.foreign import ForeignLog
from steadyml.services.monitoring.partials import feedback_partials, prediction_partials
from steadyml.services.monitoring.references import BundleReferences, ReferenceProvider
from steadyml.services.monitoring.segments import LogBatch, RequestIndex, index_rows, read_new
from steadyml.services.monitoring.windowing import Windowing
from steadyml.services.rounds import run_rounds
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec

__all__ = ["Monitor", "PassReport", "log_root"]

_log = logging.getLogger("steadyml.monitor")
MAX_ATTEMPTS = 5
RECENT_SKIPS = 20


def log_root(workspace: Workspace) -> Path:
    """The prediction log directory of a workspace (``<state dir>/predlog``)."""
    return workspace.settings.state_dir / "predlog"


@dataclass
class PassReport:
    """What one or more passes did."""

    passes: int = 0
    segments: int = 0
    rows: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    feedback_segments: int = 0
    feedback_rows: int = 0
    labels_matched: int = 0
    feedback_unmatched: int = 0
    windows: int = 0
    check_errors: list[str] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    incidents_opened: list[str] = field(default_factory=list)
    incidents_resolved: list[str] = field(default_factory=list)
    conflicts: int = 0
    seconds: float = 0.0
    caught_up: bool = True

    def add(self, other: PassReport) -> None:
        """Accumulate another pass into this report."""
        for name in ("passes", "segments", "rows", "feedback_segments", "feedback_rows",
                     "labels_matched", "feedback_unmatched", "windows", "conflicts"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("skipped", "check_errors", "fired", "resolved", "incidents_opened",
                     "incidents_resolved"):  # fmt: skip
            getattr(self, name).extend(getattr(other, name))
        self.seconds += other.seconds
        self.caught_up = other.caught_up

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "passes": self.passes,
            "segments": self.segments,
            "rows": self.rows,
            "skipped_segments": [{"path": p, "reason": r} for p, r in self.skipped],
            "feedback_segments": self.feedback_segments,
            "feedback_rows": self.feedback_rows,
            "labels_matched": self.labels_matched,
            "feedback_unmatched": self.feedback_unmatched,
            "windows": self.windows,
            "check_errors": self.check_errors,
            "alerts_fired": [f"{a.rule} {a.model_version} {a.subject}".strip() for a in self.fired],
            "alerts_resolved": [
                f"{a.rule} {a.model_version} {a.subject}".strip() for a in self.resolved
            ],
            "incidents_opened": self.incidents_opened,
            "incidents_resolved": self.incidents_resolved,
            "conflicts": self.conflicts,
            "seconds": round(self.seconds, 3),
            "caught_up": self.caught_up,
        }


def _time_range(frames: Sequence[pl.DataFrame], column: str, *, first: bool = False) -> int | None:
    """The newest (or, with ``first``, the oldest) time in ``column``, µs since the epoch."""
    values = []
    for frame in frames:
        if column in frame.columns:
            micros = frame.get_column(column).dt.epoch("us").cast(pl.Int64)
            values.append(micros.min() if first else micros.max())
    found = [int(v) for v in values if isinstance(v, int)]
    if not found:
        return None
    return min(found) if first else max(found)


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


class Monitor:
    """Monitors one service's prediction log into the metadata store.

    Parameters
    ----------
    spec
        The service spec (windows, rules, objectives, labels, KPI).
    store
        The metadata store.
    log_root
        The prediction log directory (holding ``predictions/`` and ``feedback/``).
    references
        The reference of each model version.
    clock
        Event-time clock (system clock by default; a manual clock in simulations).

    Raises
    ------
    SpecError
        At construction, for a misconfigured rule, window or KPI (the key is named).
    """

    def __init__(
        self,
        spec: ServiceSpec,
        store: Store,
        log_root: Path,
        references: ReferenceProvider,
        *,
        clock: Clock | None = None,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.clock: Clock = clock or SystemClock()
        self.windows: tuple[WindowSpec, ...] = parse_windows(spec.monitors.windows)
        self.rules = compile_rules(spec)
        kpi = spec.monitors.kpi
        if kpi is not None and WindowSpec.parse(kpi.window) not in self.windows:
            labels = [w.label for w in self.windows]
            raise SpecError(
                "monitors.kpi.window", kpi.window, f"monitor it too; windows are {labels}"
            )
        self.lateness = parse_duration(spec.monitors.lateness)
        self.join_interval = parse_duration(spec.labels.join_interval)
        self.store = MonitorStore(store, self.clock)
        self.log_root = Path(log_root)
        self.references = references
        self.seed = seed
        #: Another server's prediction table, read instead of the log (``monitors.source``).
        self.foreign = ForeignLog(spec, references) if spec.monitors.source else None
        #: Hashed request ids of the prediction segments read, for the feedback join:
        #: room for the label window (``labels.max_delay``) at the expected rate.
        self.request_index = RequestIndex(
            index_rows(
                spec.deployment.expected_throughput_rps,
                parse_duration(spec.labels.max_delay).total_seconds(),
            )
        )
        #: Drift measurements of windows whose profiles did not change since checked.
        self.drift_memo: DriftMemo | None = DriftMemo()
        #: Runs after every :meth:`run_once` (the responder); its failure is logged only.
        self.after_run: Callable[[], object] | None = None

    @classmethod
    def for_workspace(cls, workspace: Workspace, *, clock: Clock | None = None) -> Monitor:
        """A monitor of the workspace's service: its store, log and registry.

        With ``responses:`` in the spec, the responder runs after every
        :meth:`run_once` (a misconfigured policy is refused here, its key named).
        """
        monitor = cls(
            workspace.spec,
            workspace.store,
            log_root(workspace),
            BundleReferences(workspace),
            clock=clock,
            seed=workspace.spec.model.seed,
        )
        if workspace.spec.responses:
            from steadyml.services.responder import Responder

            monitor.after_run = Responder.for_workspace(workspace, clock=clock).run_once
        return monitor

    # -- passes --------------------------------------------------------------------

    def run_once(self, max_passes: int = 1000) -> PassReport:
        """Passes until every sealed segment is read (or ``max_passes``)."""
        report = PassReport()
        for _ in range(max_passes):
            one = self.run_pass()
            report.add(one)
            if one.caught_up:
                break
        if self.after_run is not None:
            try:
                self.after_run()
            except SteadyError as exc:
                _log.warning("responder round failed: %s", exc.one_line())
            except Exception:  # the responder never stops monitoring
                _log.exception("responder round failed")
        return report

    def run_pass(self) -> PassReport:
        """One pass; redone (up to 5 times) when another runner moved the cursors first."""
        conflicts = 0
        for _ in range(MAX_ATTEMPTS):
            try:
                report = self._pass()
            except MonitorConflict:
                conflicts += 1
                continue
            report.conflicts = conflicts
            return report
        raise MonitorConflict(
            "monitor", self.spec.service, "other runners kept moving the cursors; run one runner"
        )

    def _pass(self) -> PassReport:
        started = time.perf_counter()
        service, limit = self.spec.service, self.spec.monitors.max_segments
        planned = {log: self.store.cursor(service, log) for log in (PREDICTIONS, FEEDBACK)}
        now = self.clock.now()
        joined_at = planned[FEEDBACK].stats.get("joined_at")
        join = joined_at is None or now - datetime.fromisoformat(joined_at) >= self.join_interval
        logs = (PREDICTIONS, FEEDBACK) if join else (PREDICTIONS,)
        batches: dict[str, LogBatch] = {FEEDBACK: LogBatch()}
        for log in logs:
            if log == PREDICTIONS and self.foreign is not None:  # another server's table
                batches[log] = self.foreign.read(planned[log].positions, now)
                continue
            cursor = SegmentCursor(planned[log].positions)
            batches[log] = read_new(
                self.log_root, service, log, cursor, limit, index=self.request_index
            )
        frames = batches[PREDICTIONS].frames()
        partials = prediction_partials(frames, self.spec, self.references, self.seed)
        feedback = feedback_partials(
            batches[FEEDBACK].frames(),
            self.spec,
            self.references,
            self.log_root,
            self.foreign.lookup if self.foreign is not None else None,
            index=self.request_index,
        )
        for key, payload in feedback.partials.items.items():
            partials.add(key, payload)
        stats = dict(planned[PREDICTIONS].stats)
        last_event = _max(stats.get("last_event_us"), _time_range(frames, "event_time"))
        first_event = _min(
            stats.get("first_event_us"), _time_range(frames, "event_time", first=True)
        )
        last_received = _max(stats.get("last_received_us"), _time_range(frames, "received_at"))
        report = PassReport(
            passes=1,
            segments=len(batches[PREDICTIONS].segments),
            rows=batches[PREDICTIONS].rows,
            skipped=batches[PREDICTIONS].skipped + batches[FEEDBACK].skipped,
            feedback_segments=len(batches[FEEDBACK].segments),
            feedback_rows=batches[FEEDBACK].rows,
            labels_matched=feedback.matched,
            feedback_unmatched=feedback.unmatched,
            caught_up=all(len(b.segments) < limit and not b.more for b in batches.values()),
        )
        skipped_total = int(stats.get("skipped_segments", 0)) + len(report.skipped)
        unmatched_total = int(stats.get("unmatched_feedback", 0)) + report.feedback_unmatched
        last_label = _max(  # the label feed's freshness (log.label_gap_seconds)
            planned[FEEDBACK].stats.get("last_label_us"),
            _time_range(batches[FEEDBACK].frames(), "received_at"),
        )
        watermark = now - self.lateness
        with self.store.transaction(service) as tx:
            for log in (PREDICTIONS, FEEDBACK):
                if tx.cursor(log).generation != planned[log].generation:
                    raise MonitorConflict("monitor", service, "another runner moved the cursor")
            windowing = Windowing(
                tx,
                self.spec,
                self.windows,
                self.references,
                now=now,
                watermark=watermark,
                drift_memo=self.drift_memo,
            )
            windowing.merge(partials)
            evaluated = windowing.evaluate(
                partials,
                {
                    "first_event_us": first_event,
                    "last_event_us": last_event,
                    "last_received_us": last_received,
                    "skipped_segments": skipped_total,
                    "unmatched_feedback": unmatched_total,
                    "last_label_us": last_label,
                },
            )
            alerting = Alerting(
                tx,
                self.spec,
                self.windows,
                self.rules,
                self.references,
                now=now,
                watermark=watermark,
            )
            changes = alerting.run()
            stats.update(
                first_event_us=first_event,
                last_event_us=last_event,
                last_received_us=last_received,
                passes=int(stats.get("passes", 0)) + 1,
                segments=int(stats.get("segments", 0)) + report.segments,
                rows=int(stats.get("rows", 0)) + report.rows,
                skipped_segments=skipped_total,
                recent_skips=(list(stats.get("recent_skips", [])) + report.skipped)[-RECENT_SKIPS:],
                feedback_rows=int(stats.get("feedback_rows", 0)) + report.feedback_rows,
                unmatched_feedback=unmatched_total,
                check_errors=int(stats.get("check_errors", 0)) + len(evaluated.errors),
                last_pass_at=now.isoformat(),
            )
            for name, count in batches[PREDICTIONS].counters.items():
                stats[name] = int(stats.get(name, 0)) + count
            feedback_stats = dict(planned[FEEDBACK].stats)
            feedback_stats["last_label_us"] = last_label
            if join:
                feedback_stats["joined_at"] = now.isoformat()
            for log in (PREDICTIONS, FEEDBACK):
                positions = batches[log].advance(planned[log].positions)
                tx.save_cursor(log, positions, stats if log == PREDICTIONS else feedback_stats)
        for path, reason in report.skipped:
            _log.warning("skipped unreadable segment %s: %s", path, reason)
        report.windows = evaluated.windows
        report.check_errors = evaluated.errors
        report.fired, report.resolved = changes.fired, changes.resolved
        report.incidents_opened, report.incidents_resolved = changes.opened, changes.closed
        report.seconds = time.perf_counter() - started
        return report

    # -- watching --------------------------------------------------------------------

    def watch(
        self,
        interval: float,
        *,
        stop: threading.Event | None = None,
        on_pass: Callable[[PassReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        max_rounds: int | None = None,
    ) -> int:
        """Run :meth:`run_once` every ``interval`` seconds until ``stop`` is set.

        A failing round (database down, registry down, a bug) is logged, reported to
        ``on_error`` and retried at the next round: monitoring never stops silently.
        Returns the number of rounds run.
        """
        return run_rounds(
            self.run_once,
            interval,
            log=_log,
            failed="monitor round failed",
            stop=stop,
            on_round=on_pass,
            on_error=on_error,
            max_rounds=max_rounds,
        )
