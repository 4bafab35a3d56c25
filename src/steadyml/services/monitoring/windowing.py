"""Inside a pass: merge partials into stored panes, assemble windows, run checks, store metrics.

A window is evaluated when one of its panes received records in this pass, as long as
its last pane has begun (a window that lies mostly in the future waits). For all model
versions together (``"*"``) the latest complete window is evaluated on every pass too,
so that traffic that stops entirely is still seen (``volume.ratio`` of 0).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from steadyml.adapters.store.monitor_records import MetricPoint
from steadyml.adapters.store.monitor_tx import MonitorTx
from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import (
    ALL_VERSIONS,
    LabelSummary,
    Measurement,
    OutcomeSummary,
    WindowData,
    WindowKey,
    WindowSpec,
    WindowSummary,
    run_checks,
)
from steadyml.core.monitoring.checks import (
    DriftMemo,
    freshness,
    kpi_baseline,
    kpi_correlations,
    label_gap,
)
from steadyml.core.monitoring.payloads import Payload, decode, encode, merge, rows_of
from steadyml.core.monitoring.windows import EPOCH
from steadyml.core.profiles import ProfileView
from steadyml.errors import DataError
from steadyml.services.monitoring.partials import Partials
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.spec import ServiceSpec

__all__ = ["Evaluated", "Windowing", "head_start"]

_log = logging.getLogger("steadyml.monitor")
REEVALUATE_GROWTH = 1.1
RECENT_COMPLETE = 4  # complete windows of all versions re-measured on every pass
KPI_SIGNALS = (
    "health.fallback_rate",
    "health.nan_rate",
    "prediction_drift.effect",
    "performance.estimated_accuracy",
)


def _digest(data: bytes) -> bytes:
    """A digest of a stored payload (equal digests: equal payloads)."""
    return hashlib.blake2b(data, digest_size=16).digest()


def head_start(window: WindowSpec, now: datetime) -> datetime:
    """Start of the newest window whose last pane has begun at ``now``."""
    return window.start_of(now) - (window.panes_per_window - 1) * window.step


@dataclass
class Evaluated:
    """What the checks of one pass measured."""

    points: list[MetricPoint] = field(default_factory=list)
    measurements: dict[tuple[str, str, datetime], list[Measurement]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def windows(self) -> int:
        """Windows evaluated."""
        return len(self.measurements)


class Windowing:
    """Window assembly and checks of one pass, on top of a transaction.

    Parameters
    ----------
    tx
        The pass's transaction.
    spec, windows
        The service spec and its parsed windows.
    references
        Reference of each model version.
    now, watermark
        The clock, and the time before which windows are complete.
    drift_memo
        Drift measurements of windows whose profiles did not change, kept across
        passes (a window re-checked because its labels arrived is not calibrated again).
    """

    def __init__(
        self,
        tx: MonitorTx,
        spec: ServiceSpec,
        windows: Sequence[WindowSpec],
        references: ReferenceProvider,
        *,
        now: datetime,
        watermark: datetime,
        drift_memo: DriftMemo | None = None,
    ) -> None:
        self.tx = tx
        self.spec = spec
        self.windows = tuple(windows)
        self.references = references
        self.now = now
        self.watermark = watermark
        self.drift_memo = drift_memo
        self._decoded: dict[tuple[str, str, datetime, str], Payload] = {}
        self._digests: dict[tuple[str, str, datetime, str], bytes] = {}
        self._fed: set[tuple[str, str, datetime]] = set()

    # -- merging -------------------------------------------------------------------

    def merge(self, partials: Partials) -> None:
        """Merge the pass's partials into the stored panes."""
        stored = self.tx.profiles(partials.items)
        out: dict[tuple[str, str, datetime, str], tuple[int, bytes]] = {}
        for key, payload in partials.items.items():
            merged = payload
            if key in stored:
                try:
                    merged = merge(decode(key[3], stored[key]), payload)
                except DataError as exc:  # bins changed or a corrupt row: start over
                    _log.warning("replacing stored pane %s: %s", key, exc)
            data = encode(merged)
            out[key] = (rows_of(merged), data)
            self._decoded[key] = merged
            self._digests[key] = _digest(data)
        self.tx.put_profiles(out)

    # -- windows -------------------------------------------------------------------

    def due(
        self, partials: Partials, first_event: datetime | None = None
    ) -> list[tuple[WindowSpec, str, datetime]]:
        """``(window, version, start)`` of every window to evaluate in this pass.

        The latest complete windows of all versions are due on every pass once the log
        has records from before their end (``first_event``), so that silence is measured
        even when no pass ran while a window was open.
        """
        found: set[tuple[WindowSpec, str, datetime]] = set()
        newest = max((k[2] for k in partials.items), default=self.now)
        for window in self.windows:
            head = head_start(window, max(self.now, newest))
            for version, label, pane, kind in partials.items:
                if label != window.pane_label:
                    continue
                for start in window.starts_with_pane(pane):
                    if start <= head:
                        found.add((window, version, start))
                        found.add((window, ALL_VERSIONS, start))
                        if kind in ("labels", "outcomes"):
                            self._fed.add((window.label, version, start))
            latest = window.start_of(self.watermark - window.size)
            recent = [
                complete
                for complete in window.previous(latest, RECENT_COMPLETE)
                if first_event is not None and window.end(complete) > first_event
                if (window, ALL_VERSIONS, complete) not in found
            ]
            for complete in sorted(set(recent) - self._measured_complete(window, recent)):
                found.add((window, ALL_VERSIONS, complete))
        order = {w: i for i, w in enumerate(self.windows)}
        return sorted(found, key=lambda t: (order[t[0]], t[2], t[1]))

    def _measured_complete(self, window: WindowSpec, starts: Sequence[datetime]) -> set[datetime]:
        """Starts of complete all-version windows already measured as complete.

        ``volume.rows`` is stored for complete windows only; such a window that got no
        records since is unchanged, and measuring it again at every pass would store
        the same points (one query per window size instead of a check per window).
        """
        if not starts:
            return set()
        points = self.tx.series(
            window.label, ["volume.rows"], min(starts), max(starts), [ALL_VERSIONS]
        )
        return {p.window_start for p in points}

    def _payloads(
        self, window: WindowSpec, start: datetime
    ) -> dict[tuple[str, str, datetime, str], Payload]:
        panes = window.panes(start)
        raw = self.tx.panes(window.pane_label, panes)
        out = {}
        for key, data in raw.items():
            if key not in self._decoded:
                try:
                    self._decoded[key] = decode(key[3], data)
                    self._digests[key] = _digest(data)
                except DataError as exc:
                    _log.warning("unreadable stored pane %s: %s", key, exc)
                    continue
            out[key] = self._decoded[key]
        return out

    def assemble(self, window: WindowSpec, version: str, start: datetime) -> WindowData:
        """The window's data, merged over its panes (all versions' summaries for ``*``)."""
        merged: dict[str, Payload] = {}
        profiled: list[tuple[tuple[str, str, datetime, str], bytes]] = []
        for key, payload in sorted(self._payloads(window, start).items(), key=lambda kv: kv[0][2]):
            if version != ALL_VERSIONS and key[0] != version:
                continue
            if version == ALL_VERSIONS and key[3] != "summary":
                continue
            kind = key[3]
            try:
                merged[kind] = payload if kind not in merged else merge(merged[kind], payload)
            except DataError as exc:
                _log.warning("cannot merge %s of %s: %s", kind, key, exc)
                if kind in ("inputs", "outputs"):
                    profiled.append((key, b"left out"))
                continue
            if kind in ("inputs", "outputs"):  # what the profiles were merged from
                profiled.append((key, self._digests.get(key, b"")))
        window_key = WindowKey(version, window.label, start, window.end(start))
        summary, inputs, outputs = (
            merged.get("summary"),
            merged.get("inputs"),
            merged.get("outputs"),
        )
        labels, outcomes = merged.get("labels"), merged.get("outcomes")
        return WindowData(
            key=window_key,
            complete=window.is_complete(start, self.watermark),
            summary=summary if isinstance(summary, WindowSummary) else None,
            inputs=inputs if isinstance(inputs, ProfileView) else None,
            outputs=outputs if isinstance(outputs, ProfileView) else None,
            labels=labels if isinstance(labels, LabelSummary) else None,
            outcomes=outcomes if isinstance(outcomes, OutcomeSummary) else None,
            fingerprint=tuple(sorted(profiled)) if all(d for _, d in profiled) else None,
        )

    # -- checks --------------------------------------------------------------------

    def evaluate(self, partials: Partials, log: Mapping[str, int | None]) -> Evaluated:
        """Run the checks of every due window and store their metric points.

        ``log`` holds the log's health counters: ``last_event_us``, ``last_received_us``
        (newest event time and arrival) and the totals ``skipped_segments`` and
        ``unmatched_feedback``; they become the pass's ``log.*`` metrics.
        """
        result = Evaluated()
        kpi = self.spec.monitors.kpi
        kpi_label = WindowSpec.parse(kpi.window).label if kpi is not None else None
        first = log.get("first_event_us")
        first_event = None if first is None else EPOCH + timedelta(microseconds=first)
        fast = min(self.windows, key=lambda w: (w.step, w.size))
        for window, version, start in self.due(partials, first_event):
            data = self.assemble(window, version, start)
            if window != fast and self._unchanged(data):
                continue
            reference = self.references.get(version) if version != ALL_VERSIONS else None
            baseline = None
            if kpi is not None and window.label == kpi_label and version != ALL_VERSIONS:
                # the KPI is the service's: a version promoted a minute ago is measured
                # against what the service converted before it, whatever version served
                history = self._service_kpi(window, start, kpi.baseline_windows)
                baseline = kpi_baseline(kpi, history)
            try:
                found = run_checks(
                    data,
                    reference,
                    self.spec,
                    kpi_baseline_value=baseline,
                    drift_memo=self.drift_memo,
                )
                if kpi is not None and window.label == kpi_label and version != ALL_VERSIONS:
                    found.extend(self._correlations(window, version, start, found))
            except Exception as exc:  # a check must never stop the monitor
                message = (
                    f"{window.label} {version} {start.isoformat()}: {type(exc).__name__}: {exc}"
                )
                _log.exception("check failed: %s", message)
                result.errors.append(message)
                continue
            self._record(result, window.label, version, start, found)
        now_us = int(self.now.timestamp() * 1_000_000)
        found = freshness(now_us, log.get("last_event_us"), log.get("last_received_us"))
        delay = parse_duration(self.spec.labels.expected_delay)
        found.extend(label_gap(now_us, log.get("last_label_us"), log.get("first_event_us"), delay))
        for name in ("skipped_segments", "unmatched_feedback"):
            count = log.get(name)
            if count is not None:
                found.append(Measurement(f"log.{name}", float(count), n=int(count)))
        head = head_start(fast, self.now)
        self._record(result, fast.label, ALL_VERSIONS, head, found, extend=True)
        self.tx.put_series(result.points)
        return result

    def _unchanged(self, data: WindowData) -> bool:
        """True for a partial window grown by less than 10 % since its last evaluation.

        Windows longer than the shortest one change little from pass to pass (a day's
        window gains a few hundredths of a percent per 30 s); re-checking them at every
        10 % of growth keeps their cost logarithmic in their length.
        """
        key = data.key
        if key.version == ALL_VERSIONS or data.complete or data.summary is None:
            return False
        if (key.window, key.version, key.start) in self._fed:  # new labels or outcomes
            return False
        points = self.tx.series(
            key.window, ["health.error_rate"], key.start, key.start, [key.version]
        )
        previous = max((p.n for p in points), default=0)
        return previous > 0 and data.summary.rows < previous * REEVALUATE_GROWTH

    def _record(
        self,
        result: Evaluated,
        label: str,
        version: str,
        start: datetime,
        found: Iterable[Measurement],
        *,
        extend: bool = False,
    ) -> None:
        measurements = list(found)
        key = (label, version, start)
        if extend and key in result.measurements:
            result.measurements[key].extend(measurements)
        else:
            result.measurements[key] = measurements
        for m in measurements:
            result.points.append(
                MetricPoint(
                    service=self.spec.service,
                    model_version=version,
                    window=label,
                    window_start=start,
                    metric=m.metric,
                    subject=m.subject,
                    value=m.value,
                    low=m.low,
                    high=m.high,
                    status=m.status,
                    n=m.n,
                )
            )

    def _history(
        self, window: WindowSpec, version: str, metric: str, start: datetime, count: int
    ) -> list[tuple[datetime, float]]:
        first = start - count * window.step
        points = self.tx.series(window.label, [metric], first, start - window.step, [version])
        return [(p.window_start, p.value) for p in points if p.value is not None]

    def _service_kpi(self, window: WindowSpec, start: datetime, count: int) -> list[float]:
        """The KPI of the ``count`` windows before ``start``, over every version (each
        window's versions weighted by their events), oldest first."""
        first = start - count * window.step
        points = self.tx.series(window.label, ["kpi.value"], first, start - window.step)
        sums: dict[datetime, list[float]] = {}
        for p in points:
            if p.value is not None and p.n > 0:
                total = sums.setdefault(p.window_start, [0.0, 0.0])
                total[0] += p.value * p.n
                total[1] += p.n
        return [value / n for _, (value, n) in sorted(sums.items())]

    def _correlations(
        self, window: WindowSpec, version: str, start: datetime, current: Sequence[Measurement]
    ) -> list[Measurement]:
        count = 24
        first = start - count * window.step
        points = self.tx.series(window.label, ["kpi.value", *KPI_SIGNALS], first, start, [version])
        table: dict[str, dict[datetime, float]] = {}
        for p in points:
            if p.value is not None and (p.subject == "" or p.metric == "kpi.value"):
                table.setdefault(p.metric, {})[p.window_start] = p.value
        for m in current:
            if m.value is not None and (m.subject == "" or m.metric == "kpi.value"):
                table.setdefault(m.metric, {})[start] = m.value
        starts = sorted(table.get("kpi.value", {}))
        kpi_values = [table["kpi.value"][s] for s in starts]
        signals = {
            name: [table.get(name, {}).get(s, float("nan")) for s in starts] for name in KPI_SIGNALS
        }
        return kpi_correlations(kpi_values, signals)
