"""How a tick's requests and labels reach the system: over HTTP, or at log level.

:class:`HttpTransport` posts to the real server — ``/predict`` with an envelope of
records, their request ids and event times, ``/feedback`` with labels — each request
carrying ``X-Simulated-Time``, several in flight. :class:`LogTransport` is for long
clean stretches: the same model scores the records, and the rows go through the same
:class:`~steadyml.adapters.predlog.PredictionLogWriter` (and the feedback writer)
that the server uses, without HTTP. Both hand back the service's answer to every record
(:class:`~steadyml.services.simulation.outcomes.Answers`), which business outcomes
depend on.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import polars as pl

from steadyml.adapters.predlog import FeedbackLogWriter, PredictionLogWriter
from steadyml.core.clock import Clock
from steadyml.services.serving.holder import LoadedModel
from steadyml.services.simulation.outcomes import Answers

__all__ = ["HttpTransport", "LogTransport"]

_FEEDBACK_CHUNK = 2000


class HttpTransport:
    """Requests to the real server on 127.0.0.1.

    Parameters
    ----------
    url
        The server's base URL.
    batch
        Records per ``/predict`` request.
    concurrency
        Requests in flight.
    token
        Bearer token for ``/feedback`` when the service has one.
    """

    def __init__(self, url: str, batch: int, concurrency: int, token: str | None) -> None:
        self.url = url
        self.batch = batch
        self.concurrency = concurrency
        self.headers = {"content-type": "application/json"}
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        self._runner = asyncio.Runner()
        self._client: httpx.AsyncClient | None = None

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=self.concurrency)
            self._client = httpx.AsyncClient(base_url=self.url, timeout=60.0, limits=limits)
        return self._client

    async def _post(self, path: str, body: object, at: float) -> tuple[int, bytes]:
        client = await self._http()
        headers = {**self.headers, "x-simulated-time": f"{at:.6f}"}
        try:
            response = await client.post(path, content=orjson.dumps(body), headers=headers)
        except httpx.HTTPError:
            return 0, b""
        return response.status_code, response.content

    async def _predict(
        self, records: list[dict[str, Any]], ids: list[str], times: list[float]
    ) -> tuple[Counter[int], dict[str, tuple[float, bool]]]:
        gate = asyncio.Semaphore(self.concurrency)
        statuses: Counter[int] = Counter()
        answers: dict[str, tuple[float, bool]] = {}

        async def one(lo: int) -> None:
            hi = min(lo + self.batch, len(records))
            body = {"records": records[lo:hi], "request_id": ids[lo:hi], "event_time": times[lo:hi]}
            async with gate:
                status, content = await self._post("/predict", body, times[hi - 1])
            statuses[status] += 1
            if status == 200:
                answers.update(_answers(content))

        await asyncio.gather(*(one(lo) for lo in range(0, len(records), self.batch)))
        return statuses, answers

    def predict(
        self, records: list[dict[str, Any]], ids: list[str], times: list[float]
    ) -> tuple[Counter[int], Answers]:
        """Send records (epoch-second event times, in order).

        Returns the HTTP status counts (0: no answer) and the answer to each record.
        """
        statuses, found = self._runner.run(self._predict(records, ids, times))
        missing = (float("nan"), False)
        pairs = [found.get(rid, missing) for rid in ids]
        prediction = np.fromiter((p for p, _ in pairs), dtype=np.float64, count=len(ids))
        fallback = np.fromiter((f for _, f in pairs), dtype=np.bool_, count=len(ids))
        return statuses, Answers(prediction, fallback)

    def feedback(self, events: list[dict[str, Any]], at: float) -> Counter[int]:
        """Send feedback events (labels, outcomes) at simulated time ``at``; status counts."""

        async def send() -> Counter[int]:
            statuses: Counter[int] = Counter()
            for lo in range(0, len(events), _FEEDBACK_CHUNK):
                chunk = {"events": events[lo : lo + _FEEDBACK_CHUNK]}
                status, _ = await self._post("/feedback", chunk, at)
                statuses[status] += 1
            return statuses

        return self._runner.run(send())

    def close(self) -> None:
        """Close the connections and the event loop."""
        if self._client is not None:
            self._runner.run(self._client.aclose())
            self._client = None
        self._runner.close()


def _answers(content: bytes) -> dict[str, tuple[float, bool]]:
    """``{request_id: (prediction, fallback)}`` of the answered records of a response."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    items = body.get("predictions") if isinstance(body, dict) else None
    found: dict[str, tuple[float, bool]] = {}
    for item in items if isinstance(items, list) else ():
        value = item.get("prediction") if isinstance(item, dict) else None
        if isinstance(value, int | float) and item.get("status") in ("ok", "fallback"):
            found[str(item.get("request_id"))] = (float(value), bool(item.get("fallback")))
    return found


class LogTransport:
    """Log-level replay: score with the served model, write through the log writers.

    Parameters
    ----------
    root
        The prediction log directory of the project.
    service
        The service name.
    clock
        The simulation clock (segments are cut by it).
    fallback_value
        The constant answered for non-finite outputs (as the server's guard does).
    """

    def __init__(self, root: Path, service: str, clock: Clock, fallback_value: float) -> None:
        self.root = root
        self.service = service
        self.clock = clock
        self.fallback_value = fallback_value
        self.rng = np.random.default_rng(7)

    def predict(self, model: LoadedModel, frame: pl.DataFrame, ids: Sequence[str],
                times: pl.Series) -> Answers:  # fmt: skip
        """Score and log ``frame`` (the model's input columns); the answer to every row."""
        if frame.height == 0:
            return Answers.none(0)
        names = list(model.contract.names)
        schema = model.contract.polars_schema()
        raw = frame.select(pl.col(n).cast(schema[n]) for n in names)
        started = time.perf_counter()
        scores = np.asarray(model.predictor.score(raw), dtype=np.float64)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if scores.ndim > 1:  # multiclass: log the top class probability
            scores = scores.max(axis=1)
        bad = ~np.isfinite(scores)
        answer = np.where(bad, self.fallback_value, scores)
        n = frame.height
        columns: dict[str, Any] = {
            "request_id": list(ids),
            "model_version": [str(model.version)] * n,
            "event_time": times,
            "received_at": times,
            "latency_ms": elapsed_ms / max(1, n) * 64 + self.rng.gamma(2.0, 1.5, n),
            "status": np.where(bad, "fallback", "ok"),
            "fallback": bad,
            "fallback_reason": ["nan_output" if b else None for b in bad.tolist()],
            "prediction": answer,
            "raw_prediction": scores,
            "inputs": raw.to_struct(),
        }
        if model.task.value != "regression" and model.predictor.classes:
            columns["label_class"] = model.predictor.predict_labels(answer)
        if "features" in model.log_schema.names:
            columns["features"] = model.predictor.features(raw).to_struct()
        table = pl.DataFrame(columns).with_columns(
            pl.col("fallback_reason").cast(pl.String), pl.col("status").cast(pl.String)
        )
        writer = PredictionLogWriter(
            self.root, self.service, "simulator-log", model.log_schema, clock=self.clock
        )
        writer.start()
        try:
            writer.append(table)
        finally:
            writer.close()
        return Answers(answer.astype(np.float64), bad)

    def feedback(self, events: pl.DataFrame) -> int:
        """Write feedback events (feedback-log columns: labels, outcomes); the rows written."""
        if events.height == 0:
            return 0
        writer = FeedbackLogWriter(self.root, self.service, "simulator-feedback", clock=self.clock)
        writer.start()
        try:
            writer.append(events)
        finally:
            writer.close()
        return events.height
