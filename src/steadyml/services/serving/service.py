"""The prediction service: model holder, batcher, scorer, log and metrics, wired together.

:class:`PredictionService` is what the HTTP layer calls. Its request methods take the raw
body and the few headers that matter and return ``(status, JSON body)``; they never
raise. Work per request on the event loop is: decode JSON, check the body's shape,
queue a :class:`~steadyml.services.serving.batcher.Job`, await its answer. Everything
else happens once per micro-batch on the batch thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import orjson

from steadyml.adapters.predlog import Ack
from steadyml.core.clock import Clock, SystemClock
from steadyml.core.durations import parse_duration
from steadyml.errors import SteadyError
from steadyml.services.serving.batcher import Job, MicroBatcher
from steadyml.services.serving.breaker import CircuitBreaker
from steadyml.services.serving.fallback import Fallback, output_range
from steadyml.services.serving.fastpath import FastPath
from steadyml.services.serving.guards import ModelRunner
from steadyml.services.serving.holder import LoadedModel, ModelHolder
from steadyml.services.serving.logsink import LogSink
from steadyml.services.serving.metrics import LogStatsCollector, ServingMetrics
from steadyml.services.serving.outcome import BatchOutcome
from steadyml.services.serving.records import LogRows
from steadyml.services.serving.rendering import Rendered, late_outcome, refused_outcome, render
from steadyml.services.serving.scoring import BatchScorer
from steadyml.spec import ServiceSpec

if TYPE_CHECKING:  # the workspace module imports the metadata store (slow to import)
    from steadyml.services.workspace import Workspace

__all__ = ["LogUnavailable", "NotReady", "PredictionService", "default_worker_id"]

_log = logging.getLogger("steadyml.serving")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO = timedelta(microseconds=1)
_ACK_TIMEOUT = 5.0
_DRAIN_TIMEOUT = 30.0


class NotReady(SteadyError):
    """No model is loaded yet, or the service is shutting down."""

    kind = "not ready"
    http_status = 503


class LogUnavailable(SteadyError):
    """Strict durability: the prediction's record could not be made durable in time."""

    kind = "prediction log unavailable"
    http_status = 503


def default_worker_id() -> str:
    """``<hostname>-<pid>``, reduced to the characters log file names allow."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()).strip("-._") or "host"
    return f"{host[:64]}-{os.getpid()}"


class PredictionService:
    """One service's serving runtime; :meth:`start` and :meth:`stop` run on the event loop.

    Parameters
    ----------
    spec
        The service spec (deployment section: budget, batching, fallback, durability).
    workspace
        Settings, registry and model cache; opened from ``spec`` when None.
    clock
        The event-time clock (system clock by default).
    worker_id
        This process's log writer id; ``<hostname>-<pid>`` by default.
    breaker
        The circuit breaker (one with default thresholds on ``clock`` when None).
    """

    def __init__(
        self,
        spec: ServiceSpec,
        *,
        workspace: Workspace | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.spec = spec
        self._owns_workspace = workspace is None
        if workspace is None:
            from steadyml.services.workspace import Workspace

            workspace = Workspace.open(spec)
        self.workspace = workspace
        self.clock = clock or SystemClock()
        self.worker = worker_id or default_worker_id()
        deployment = spec.deployment
        self.metrics = ServingMetrics(spec.service, enabled=deployment.metrics)
        self.log_enabled = deployment.prediction_log  # off only to measure the log's cost
        self.sink = LogSink(
            self.workspace.settings.state_dir / "predlog",
            spec.service,
            self.worker,
            durability=deployment.durability,
            flush_interval=parse_duration(deployment.flush_interval).total_seconds(),
            clock=self.clock,
            seal_interval=parse_duration(deployment.seal_interval).total_seconds(),
        )
        self.metrics.registry.register(LogStatsCollector(self.sink.stats))
        self.holder = ModelHolder(
            self.workspace,
            track_previous=deployment.fallback.strategy == "previous_model",
            clock=self.clock,
            on_load=self._prepare,
        )
        self.valid_range = output_range(spec)
        self.fallback = Fallback(
            deployment.fallback,
            spec.task,
            self.valid_range,
            spec.base_dir,
            previous=self.holder.previous_predictor,
        )
        self.breaker = breaker or CircuitBreaker(self.clock)
        self.runner = ModelRunner()
        self.scorer = BatchScorer(
            policy=deployment.violations,
            fallback=self.fallback,
            breaker=self.breaker,
            runner=self.runner,
            valid_range=self.valid_range,
        )
        self.batcher = MicroBatcher(
            self._process,
            self._done,
            max_batch_size=deployment.max_batch_size,
            max_wait_ms=deployment.max_wait_ms,
        )
        budget = deployment.latency_budget_ms / 1000.0
        self.soft_deadline = 0.8 * budget
        self.hard_deadline = max(2.0 * budget, budget + 1.0)
        self.max_body_bytes = deployment.max_body_bytes
        self.token = self.workspace.settings.token
        self.strict = deployment.durability == "strict"
        self.draining = False
        self.started = False
        self._tasks: list[asyncio.Task[None]] = []
        self._settling: set[asyncio.Task[None]] = set()
        self._claims = threading.Lock()  # the batch thread and the watchdog claim jobs
        self.fastpath: FastPath | None = None

    # -- life cycle ------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when a model is loaded and the service is not shutting down."""
        return self.holder.current is not None and not self.draining and self.started

    def _prepare(self, model: LoadedModel) -> None:
        self.sink.prepare(model.log_schema)
        self.metrics.set_model(model.version)
        self.metrics.reloads.labels("loaded").inc()

    async def start(self) -> None:
        """Recover the log, load the model, start the reload poller and the watchdog."""
        await asyncio.to_thread(self.sink.start)
        await asyncio.to_thread(self.holder.refresh)
        if self.holder.current is None:
            _log.warning("no model loaded yet (%s); polling", self.holder.last_error)
        interval = self.spec.reload_interval.total_seconds()
        self._tasks = [
            asyncio.create_task(self._poll(interval)),
            asyncio.create_task(self._watchdog(max(0.005, self.soft_deadline / 4))),
        ]
        self.fastpath = await asyncio.to_thread(
            FastPath.for_server,
            self.spec,
            self.workspace,
            clock=self.clock,
            version=self._serving_version,
        )
        if self.fastpath is not None:
            self._tasks.append(asyncio.create_task(self.fastpath.loop(self.scorer)))
        self.started = True

    def _serving_version(self) -> str | None:
        model = self.holder.current
        return None if model is None else str(model.version)

    async def stop(self) -> None:
        """Stop accepting, drain queued and running batches, flush and seal the log."""
        self.draining = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        drained = await self.batcher.drain(_DRAIN_TIMEOUT)
        if self._settling:
            await asyncio.wait(self._settling, timeout=_DRAIN_TIMEOUT)
        if not drained:
            _log.warning("shutdown: batches still running after %ss", _DRAIN_TIMEOUT)
        await asyncio.to_thread(self.sink.close)
        self.batcher.close()
        self.runner.close()
        if self._owns_workspace:
            self.workspace.close()

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.holder.refresh)
            except Exception:  # the poller must survive anything
                _log.exception("model reload check failed")
                self.metrics.reloads.labels("failed").inc()

    async def _watchdog(self, tick: float) -> None:
        while True:
            await asyncio.sleep(tick)
            now = time.perf_counter()
            candidates = [*self.batcher.inflight, *self.batcher.queued_jobs()]
            with self._claims:
                late = [
                    job
                    for job in candidates
                    if not job.claimed and now - job.start > self.hard_deadline
                ]
                for job in late:
                    job.claimed = True
            if late:
                self.batcher.discard(late)
                self._answer_late(late)

    # -- requests --------------------------------------------------------------------

    def now_micros(self) -> int:
        """The serving clock's time, in microseconds since the epoch."""
        if type(self.clock) is SystemClock:
            return time.time_ns() // 1000
        return (self.clock.now() - _EPOCH) // _ONE_MICRO

    def submit(self, job: Job) -> None:
        """Queue a parsed request for the next micro-batch."""
        self.batcher.submit(job)

    def current_or_error(self) -> LoadedModel:
        """The serving model.

        Raises
        ------
        NotReady
            When no model is loaded or the service is shutting down.
        """
        model = self.holder.current
        if model is None or self.draining:
            reason = "shutting down" if self.draining else "no model is loaded yet"
            raise NotReady("model", self.spec.model_name, f"{reason}; retry shortly")
        return model

    def refuse(self, body: bytes, error: SteadyError, request_id: str | None) -> Ack | None:
        """Log a /predict request refused as a whole (bad JSON, bad shape, too large)."""
        self.metrics.reject(error.kind.replace(" ", "_"))
        model = self.holder.current
        if model is None or not self.log_enabled:
            return None
        outcome = refused_outcome(body, error, request_id, model, self.now_micros())
        return self.sink.append(LogRows(outcome, model.log_schema), model.log_schema)

    # -- the batch thread ------------------------------------------------------------

    def _process(self, jobs: list[Job]) -> Rendered:
        model = self.holder.current
        if model is None:  # pragma: no cover - requests are refused before a model loads
            raise RuntimeError("no model")
        outcome = self.scorer.score(jobs, model)
        rendered = render(jobs, outcome, model, log=self.log_enabled)
        if self.log_enabled:
            rendered = self._log_batch(jobs, rendered)
        self.metrics.observe_batch(
            outcome.rows, outcome.counts(), outcome.reason_counts(), outcome.rejection_counts()
        )
        for kind, count in _errors(outcome).items():
            self.metrics.error(kind, count)
        if self.fastpath is not None:
            self.fastpath.observe(outcome)
        return rendered

    def _log_batch(self, jobs: list[Job], rendered: Rendered) -> Rendered:
        """Claim the jobs the watchdog has not answered and queue their log rows.

        Runs on the batch thread, so that building the writer's queue entry costs the
        event loop nothing; a job the watchdog claimed first is logged by the watchdog.
        """
        with self._claims:
            keep = [not job.claimed for job in jobs]
            for job in jobs:
                job.claimed = True
        rows = rendered.rows
        if rows is not None and not all(keep):
            mask = np.repeat(keep, [job.size for job in jobs])
            rows = LogRows(rows.outcome, rows.schema, mask)
        return self._queue_log(rendered, rows)

    def _queue_log(self, rendered: Rendered, rows: LogRows | None) -> Rendered:
        """Queue ``rows`` (the batch's log rows to keep); ``rendered`` with its receipt.

        The writer builds the Arrow rows of many batches at once, off this thread: a
        second of batches when relaxed; when strict it journals each commit's batches
        in their own form first and builds their rows in bulk later. Building them here
        instead, so that the batch thread would work while the writer fsyncs, cost
        strict mode 12-30 % of its throughput: the batch thread is the busier of the two.
        """
        count = 0 if rows is None else rows.num_rows
        ack = None
        if rows is not None and count:
            ack = self.sink.append(rows, rendered.schema)
        if ack is None and count:
            self.metrics.error("log", count)
        return Rendered(rendered.responses, rows, rendered.schema, ack)

    # -- back on the event loop ------------------------------------------------------

    def _done(
        self, jobs: list[Job], rendered: Rendered | None, error: BaseException | None
    ) -> None:
        if rendered is None:
            _log.error("batch failed", exc_info=error)
            self.metrics.error("internal", len(jobs))
            body = orjson.dumps(
                SteadyError(
                    "request", fix="the server failed on this batch; retry (and report it)"
                ).to_dict()
            )
            for job in jobs:
                if not job.answered and not job.future.done():
                    job.answered = True
                    job.future.set_result((500, body))
            return
        self._settle(jobs, rendered)

    def _answer_late(self, jobs: list[Job]) -> None:
        model = self.holder.current
        if model is None:
            return
        self.metrics.error("timeout", sum(job.size for job in jobs))
        outcome = late_outcome(jobs, model, self.fallback.constant)
        rendered = render(jobs, outcome, model, log=self.log_enabled)
        if self.log_enabled:  # rare: a few rows, queued from the loop
            rendered = self._queue_log(rendered, rendered.rows)
        self._settle(jobs, rendered)

    def _settle(self, jobs: list[Job], rendered: Rendered) -> None:
        """Answer the jobs (in strict mode once their log rows are durable)."""
        if not self.log_enabled or not self.strict:
            _resolve(jobs, rendered.responses)
            return
        task = asyncio.get_running_loop().create_task(
            self._settle_strict(jobs, rendered, rendered.ack)
        )
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle_strict(self, jobs: list[Job], rendered: Rendered, ack: Ack | None) -> None:
        durable = ack is not None and await ack.wait_async(_ACK_TIMEOUT)
        if durable:
            _resolve(jobs, rendered.responses)
            return
        self.metrics.error("log", sum(job.size for job in jobs))
        error = LogUnavailable(
            "durability",
            "strict",
            "the prediction could not be recorded durably; retry, and check the disk",
        )
        body = orjson.dumps(error.to_dict())
        _resolve(jobs, [(503, body)] * len(jobs))


def _resolve(jobs: list[Job], responses: list[tuple[int, bytes]]) -> None:
    for job, response in zip(jobs, responses, strict=True):
        if job.answered:
            continue
        job.answered = True
        if not job.future.done():
            job.future.set_result(response)


def _errors(outcome: BatchOutcome) -> dict[str, int]:
    counts = outcome.reason_counts()
    return {kind: counts[kind] for kind in ("model_error", "timeout") if kind in counts}
