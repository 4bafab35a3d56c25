"""The serving side of the prediction log: one writer per log schema, plus feedback.

A worker writes under its own worker id (``<host>-<pid>`` by default), so several worker
processes share ``<state>/predlog`` without collisions. The log schema follows the
served model's contract; when a hot reload brings a contract with other columns, a new
writer (worker id ``<worker>.g2``, ``.g3``, ...) is started *before* the model is swapped
and the oldest one is closed (sealed) once two are open. At start-up, open segments
left by crashed workers of the service are recovered (sealed) first, and their strict-mode
journals replayed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import fields
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa

from steadyml.adapters.predlog import (
    Ack,
    FeedbackLogWriter,
    Item,
    PredictionLogWriter,
    SegmentWriter,
    WriterStats,
    recover,
)
from steadyml.core.clock import Clock
from steadyml.errors import SteadyError
from steadyml.services.serving.records import LogRows

__all__ = ["JOURNAL_CODECS", "LogSink"]

#: Readers of the serving log's strict-mode journal records, for replay after a crash.
JOURNAL_CODECS = {LogRows.journal_tag: LogRows}

_log = logging.getLogger("steadyml.serving")
_KEEP = 2


class LogSink:
    """Prediction and feedback writers of one worker process.

    Parameters
    ----------
    root
        The log directory (``<state>/predlog``).
    service, worker
        Names in paths; ``worker`` must be unique among live processes.
    durability, flush_interval
        As for :class:`~steadyml.adapters.predlog.PredictionLogWriter`.
    seal_interval
        Seconds of event time after which a segment is sealed (visible to the monitor).
    clock
        The serving clock.
    max_queue_rows
        The bound of each writer's queue.
    """

    def __init__(
        self,
        root: Path,
        service: str,
        worker: str,
        *,
        durability: Literal["strict", "relaxed"],
        flush_interval: float,
        clock: Clock,
        max_queue_rows: int = 200_000,
        seal_interval: float = 30.0,
    ) -> None:
        self.root = Path(root)
        self.service = service
        self.worker = worker
        self.durability = durability
        self._options = {
            "durability": durability,
            "flush_interval": flush_interval,
            "clock": clock,
            "max_queue_rows": max_queue_rows,
            "segment_max_age": seal_interval,
            "codecs": JOURNAL_CODECS,
        }
        self._lock = threading.Lock()
        self._writers: list[tuple[pa.Schema, PredictionLogWriter]] = []
        self._by_schema: dict[int, PredictionLogWriter] = {}
        self._retired: list[WriterStats] = []
        self._generation = 0
        self.feedback = FeedbackLogWriter(
            self.root,
            service,
            worker,
            durability=durability,
            flush_interval=flush_interval,
            clock=clock,
            max_queue_rows=max_queue_rows,
            segment_max_age=seal_interval,
        )
        self.closed = False

    def start(self) -> None:
        """Recover crashed workers' open segments, then start the feedback writer."""
        report = recover(self.root, self.service, codecs=JOURNAL_CODECS)
        if report.sealed or report.replayed:
            _log.info(
                "recovered %d rows left by crashed workers",
                report.recovered_rows + report.replayed_rows,
            )
        self.feedback.start()

    def prepare(self, schema: pa.Schema) -> None:
        """Make sure a started writer takes batches of ``schema`` (blocking; off the loop)."""
        with self._lock:
            for known, writer in self._writers:
                if known.equals(schema):
                    self._by_schema[id(schema)] = writer
                    return
            self._generation += 1
            worker = self.worker if self._generation == 1 else f"{self.worker}.g{self._generation}"
            writer = PredictionLogWriter(self.root, self.service, worker, schema, **self._options)  # type: ignore[arg-type]
            writer.start()
            self._writers.append((schema, writer))
            self._by_schema[id(schema)] = writer
            retire = self._writers[:-_KEEP]
            self._writers = self._writers[-_KEEP:]
            self._by_schema = {
                key: kept
                for key, kept in self._by_schema.items()
                if any(kept is w for _, w in self._writers)
            }
        for _, old in retire:
            old.close()
            self._retired.append(old.stats)

    def append(self, rows: Item, schema: pa.Schema) -> Ack | None:
        """Queue a batch of log rows written for ``schema``; None when it cannot be."""
        writer = self._by_schema.get(id(schema))
        if writer is None:
            return None
        try:
            return writer.append(rows)
        except SteadyError as exc:
            _log.warning("prediction log append failed: %s", exc.one_line())
            return None

    def append_feedback(self, frame: pl.DataFrame) -> Ack | None:
        """Queue feedback events; None when the writer is closed."""
        try:
            return self.feedback.append(frame)
        except SteadyError as exc:
            _log.warning("feedback log append failed: %s", exc.one_line())
            return None

    def stats(self) -> dict[str, WriterStats]:
        """Writer statistics per table (prediction writers summed)."""
        with self._lock:
            parts = [writer.stats for _, writer in self._writers] + self._retired
        return {"predictions": _sum(parts), "feedback": self.feedback.stats}

    def writers(self) -> list[SegmentWriter]:
        """The open prediction writers and the feedback writer."""
        with self._lock:
            return [writer for _, writer in self._writers] + [self.feedback]

    def flush(self, timeout: float) -> bool:
        """Make everything appended so far durable; False on timeout."""
        return all(writer.flush(timeout) for writer in self.writers())

    def close(self, timeout: float = 30.0) -> None:
        """Drain, fsync and seal every writer."""
        if self.closed:
            return
        self.closed = True
        for writer in self.writers():
            writer.close(timeout)


def _sum(parts: list[WriterStats]) -> WriterStats:
    if not parts:
        return WriterStats(0, 0, 0, 0, 0.0, 0, 0, 0, None)
    totals: dict[str, object] = {}
    for item in fields(WriterStats):
        values = [getattr(part, item.name) for part in parts]
        if item.name == "last_error":
            totals[item.name] = next((v for v in reversed(values) if v), None)
        elif item.name == "last_fsync_ms":
            totals[item.name] = max(values)
        else:
            totals[item.name] = sum(values)
    return WriterStats(**totals)  # type: ignore[arg-type]
