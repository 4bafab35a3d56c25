"""Feedback events: labels and business outcomes, keyed by the request id they are about.

They go through the same machinery as predictions (queue, open segments, seals) into
``<root>/feedback/service=<service>/date=.../hour=.../<worker>-<seq>.parquet``, partitioned
by the event time of the feedback itself. The same request may get several events (a
label corrected later); :func:`latest_feedback` keeps the last one received.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import polars as pl

from steadyml.adapters.predlog.layout import FEEDBACK
from steadyml.adapters.predlog.reader import read_table
from steadyml.adapters.predlog.schema import FEEDBACK_KINDS, FEEDBACK_SCHEMA
from steadyml.adapters.predlog.writer import SegmentWriter
from steadyml.core.clock import Clock
from steadyml.errors import DataError

__all__ = ["FeedbackLogWriter", "join_feedback", "latest_feedback", "read_feedback"]


class FeedbackLogWriter(SegmentWriter):
    """Append feedback events of one worker to ``<root>/feedback``.

    Takes the same options as :class:`~steadyml.adapters.predlog.PredictionLogWriter`;
    the schema is always :data:`~steadyml.adapters.predlog.FEEDBACK_SCHEMA`. Batches
    may leave out ``service`` and ``worker`` (filled in) and the nullable columns.
    """

    def __init__(
        self,
        root: Path,
        service: str,
        worker: str,
        *,
        durability: Literal["strict", "relaxed"] = "relaxed",
        flush_interval: float = 1.0,
        max_queue_rows: int = 200_000,
        segment_max_rows: int = 250_000,
        segment_max_age: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            Path(root) / FEEDBACK,
            service,
            worker,
            FEEDBACK_SCHEMA,
            durability=durability,
            flush_interval=flush_interval,
            max_queue_rows=max_queue_rows,
            segment_max_rows=segment_max_rows,
            segment_max_age=segment_max_age,
            clock=clock,
        )
        self.root = Path(root)


def read_feedback(
    root: Path, service: str, start: datetime | None = None, end: datetime | None = None
) -> pl.LazyFrame:
    """Feedback events with ``start <= event_time < end``, as a Polars LazyFrame.

    Parameters
    ----------
    root
        The log directory (holding ``feedback/``).
    service
        The service.
    start, end
        The half-open range of the events' own time; None for no bound.
    """
    return read_table(Path(root) / FEEDBACK, service, start, end, empty_schema=FEEDBACK_SCHEMA)


def latest_feedback(
    feedback: pl.LazyFrame, name: str, kind: Literal["label", "outcome"] = "label"
) -> pl.LazyFrame:
    """The last event received per request for one label or outcome ``name``.

    Returns
    -------
    polars.LazyFrame
        Columns ``request_id``, ``value``, ``value_str``, ``feedback_time`` (its event
        time) and ``feedback_received_at``; one row per request id.

    Raises
    ------
    DataError
        When ``kind`` is not ``label`` or ``outcome``.
    """
    if kind not in FEEDBACK_KINDS:
        raise DataError("kind", kind, f"use one of {', '.join(FEEDBACK_KINDS)}")
    return (
        feedback.filter((pl.col("kind") == kind) & (pl.col("name") == name))
        .sort("received_at", maintain_order=True)
        .group_by("request_id", maintain_order=True)
        .last()
        .select(
            "request_id",
            "value",
            "value_str",
            pl.col("event_time").alias("feedback_time"),
            pl.col("received_at").alias("feedback_received_at"),
        )
    )


def join_feedback(
    predictions: pl.LazyFrame,
    feedback: pl.LazyFrame,
    name: str,
    kind: Literal["label", "outcome"] = "label",
) -> pl.LazyFrame:
    """Predictions with their latest ``name`` feedback joined by ``request_id`` (left join).

    Adds the columns of :func:`latest_feedback`; predictions without feedback get nulls.
    """
    return predictions.join(latest_feedback(feedback, name, kind), on="request_id", how="left")
