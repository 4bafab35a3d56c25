"""The crash-safe prediction log: durable segments of predictions and feedback.

Writers (one per worker process) append record batches off the hot path into append-only
Arrow IPC files, fsynced per commit, and seal them into Hive-partitioned Parquet by atomic
rename::

    <root>/predictions/service=<name>/date=YYYY-MM-DD/hour=HH/<worker>-<seq>.parquet
    <root>/feedback/service=<name>/date=YYYY-MM-DD/hour=HH/<worker>-<seq>.parquet

Readers see sealed segments only. ``docs/prediction-log.md`` publishes the schema so
that other servers can write the same log.
"""

from steadyml.adapters.predlog.acks import Ack
from steadyml.adapters.predlog.batches import DeferredRows, Item
from steadyml.adapters.predlog.feedback import (
    FeedbackLogWriter,
    join_feedback,
    latest_feedback,
    read_feedback,
)
from steadyml.adapters.predlog.layout import FEEDBACK, PREDICTIONS, Segment
from steadyml.adapters.predlog.reader import (
    SegmentCursor,
    list_segments,
    read_predictions,
    read_segments,
)
from steadyml.adapters.predlog.recovery import RecoveryReport, recover
from steadyml.adapters.predlog.schema import (
    FALLBACK_REASONS,
    FEEDBACK_SCHEMA,
    STATUSES,
    LogSchemaError,
    fixed_prediction_schema,
    prediction_schema,
    truncate_raw_request,
)
from steadyml.adapters.predlog.writer import (
    PredictionLogError,
    PredictionLogWriter,
    SegmentWriter,
    WriterStats,
)

__all__ = [
    "FALLBACK_REASONS",
    "FEEDBACK",
    "FEEDBACK_SCHEMA",
    "PREDICTIONS",
    "STATUSES",
    "Ack",
    "DeferredRows",
    "FeedbackLogWriter",
    "Item",
    "LogSchemaError",
    "PredictionLogError",
    "PredictionLogWriter",
    "RecoveryReport",
    "Segment",
    "SegmentCursor",
    "SegmentWriter",
    "WriterStats",
    "fixed_prediction_schema",
    "join_feedback",
    "latest_feedback",
    "list_segments",
    "prediction_schema",
    "read_feedback",
    "read_predictions",
    "read_segments",
    "recover",
    "truncate_raw_request",
]
