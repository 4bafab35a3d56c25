"""Per-pane partial payloads from the records one pass read.

Prediction records become, per model version and pane: a
:class:`~steadyml.core.monitoring.WindowSummary`, an input profile and an output profile
on the version's reference bins. Feedback records are joined to their predictions by
request id (predictions are looked up in the log hours that can hold them) and become
label and outcome summaries of the *prediction's* pane. Everything is vectorized per
group of rows (Polars, Arrow, NumPy); groups are model versions x panes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from steadyml.core.clock import utc
from steadyml.core.durations import format_duration, parse_duration
from steadyml.core.monitoring import (
    PREDICTION_COLUMN,
    OutcomeSummary,
    Reference,
    label_summary,
    pane_start_expr,
    parse_windows,
    summarize,
)
from steadyml.core.monitoring.payloads import Payload, merge
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.services.monitoring.segments import RequestIndex, read_range
from steadyml.spec import ServiceSpec, Task

__all__ = [
    "UNKNOWN_VERSION",
    "FeedbackResult",
    "Lookup",
    "Partials",
    "feedback_partials",
    "pane_steps",
    "prediction_partials",
]

UNKNOWN_VERSION = "unknown"
ANSWERED = ("ok", "fallback")
Key = tuple[str, str, datetime, str]
#: ``(start, end, request_ids) -> prediction records``: predictions kept outside the log.
Lookup = Callable[[datetime, datetime, Sequence[str]], pl.DataFrame]


@dataclass
class Partials:
    """Payloads to merge into stored panes, by ``(version, pane label, pane start, kind)``."""

    items: dict[Key, Payload] = field(default_factory=dict)

    def add(self, key: Key, payload: Payload) -> None:
        """Add ``payload`` (merged with what the key already holds)."""
        held = self.items.get(key)
        self.items[key] = payload if held is None else merge(held, payload)

    def panes(self, label: str) -> set[datetime]:
        """Pane starts of one pane size that received records."""
        return {key[2] for key in self.items if key[1] == label}

    def versions(self) -> set[str]:
        """Model versions that received records."""
        return {key[0] for key in self.items}


def _groups(frame: pl.DataFrame, step: timedelta) -> list[tuple[str, datetime, pl.DataFrame]]:
    keyed = frame.with_columns(
        pl.col("model_version").cast(pl.String).fill_null(UNKNOWN_VERSION).alias("_version")
        if "model_version" in frame.columns
        else pl.lit(UNKNOWN_VERSION).alias("_version"),
        pane_start_expr("event_time", step).alias("_pane"),
    )
    out = []
    for (version, pane), group in keyed.partition_by(["_version", "_pane"], as_dict=True).items():
        out.append((str(version), utc(pane), group))
    return out


def _inputs(group: pl.DataFrame) -> pl.DataFrame | None:
    if "inputs" not in group.columns:
        return None
    accepted = group.filter(pl.col("inputs").is_not_null())
    if accepted.height == 0:
        return None
    return accepted.select(pl.col("inputs")).unnest("inputs")


def _outputs(group: pl.DataFrame, task: Task) -> pl.DataFrame | None:
    column = "label_class" if task is Task.MULTICLASS else "prediction"
    if column not in group.columns or "status" not in group.columns:
        return None
    answered = group.filter(pl.col("status").is_in(ANSWERED) & pl.col(column).is_not_null())
    if answered.height == 0:
        return None
    return answered.select(pl.col(column).alias(PREDICTION_COLUMN))


def pane_steps(spec: ServiceSpec) -> list[timedelta]:
    """The distinct pane sizes of the spec's windows."""
    return sorted({w.step for w in parse_windows(spec.monitors.windows)})


def _payloads(
    group: pl.DataFrame,
    version: str,
    spec: ServiceSpec,
    references: ReferenceProvider,
    seed: int,
) -> list[tuple[str, Payload]]:
    """``(kind, payload)`` of one group of prediction records."""
    out: list[tuple[str, Payload]] = [
        ("summary", summarize(group, scores=spec.task is Task.BINARY))
    ]
    reference: Reference | None = references.get(version)
    if reference is None:
        return out
    inputs = _inputs(group)
    if inputs is not None:
        out.append(("inputs", reference.new_inputs(seed=seed).update(inputs).view()))
    outputs = _outputs(group, spec.task)
    accumulator = reference.new_outputs(seed=seed)
    if outputs is not None and accumulator is not None:
        out.append(("outputs", accumulator.update(outputs).view()))
    return out


@dataclass(frozen=True)
class _Group:
    """One version x pane group of a frame, with its payloads."""

    version: str
    pane: datetime
    rows: int
    payloads: list[tuple[str, Payload]]


def _same_rows(
    finer: Sequence[_Group], version: str, pane: datetime, step: timedelta, rows: int
) -> list[tuple[str, Payload]] | None:
    """The payloads of the one finer group that holds exactly these rows, else None."""
    inside = [g for g in finer if g.version == version and pane <= g.pane < pane + step]
    return inside[0].payloads if len(inside) == 1 and inside[0].rows == rows else None


def prediction_partials(
    frames: Sequence[pl.DataFrame],
    spec: ServiceSpec,
    references: ReferenceProvider,
    seed: int = 0,
) -> Partials:
    """Summaries and profiles per model version and pane of the given prediction records.

    Panes of every size are summarised from the same records; a pane whose records
    are exactly those of one pane of the next smaller size (a pass's records usually
    lie in one 5-minute, one hour and one day pane) reuses that pane's payloads
    instead of summarising the same rows again.
    """
    partials = Partials()
    finer: list[list[_Group]] = [[] for _ in frames]
    previous: timedelta | None = None
    for step in pane_steps(spec):
        label = format_duration(step)
        nested = previous is not None and step % previous == timedelta(0)
        for index, frame in enumerate(frames):
            groups: list[_Group] = []
            for version, pane, group in _groups(frame, step):
                payloads = None
                if nested:  # the finer panes lie inside this one
                    payloads = _same_rows(finer[index], version, pane, step, group.height)
                if payloads is None:
                    payloads = _payloads(group, version, spec, references, seed)
                groups.append(_Group(version, pane, group.height, payloads))
                for kind, payload in payloads:
                    partials.add((version, label, pane, kind), payload)
            finer[index] = groups
        previous = step
    return partials


def _latest(feedback: pl.DataFrame, kind: str, name: str) -> pl.DataFrame:
    chosen = feedback.filter((pl.col("kind") == kind) & (pl.col("name") == name))
    return chosen.sort("received_at").unique("request_id", keep="last", maintain_order=True)


@dataclass
class FeedbackResult:
    """Partials from feedback, and what could not be used."""

    partials: Partials
    matched: int = 0
    unmatched: int = 0


def feedback_partials(
    frames: Sequence[pl.DataFrame],
    spec: ServiceSpec,
    references: ReferenceProvider,
    root: Path,
    lookup: Lookup | None = None,
    *,
    index: RequestIndex | None = None,
) -> FeedbackResult:
    """Label and outcome summaries per model version and pane of the predictions they name.

    Predictions are looked up in the log under ``root`` (reading only the segments that
    ``index`` says may hold them), or with ``lookup(start, end, request_ids)`` when the
    predictions live elsewhere (another server's table).
    """
    result = FeedbackResult(Partials())
    label_name = spec.labels.name or spec.data.target
    kpi = spec.monitors.kpi
    max_delay = parse_duration(spec.labels.max_delay)
    slices = [s.column for s in spec.data.slices]
    for feedback in frames:
        if feedback.height == 0:
            continue
        labels = _latest(feedback, "label", label_name)
        outcomes = _latest(feedback, "outcome", kpi.name) if kpi is not None else labels.clear()
        ids = pl.concat([labels.get_column("request_id"), outcomes.get_column("request_id")])
        if ids.is_empty():
            continue
        times = pl.concat([feedback.get_column("event_time"), feedback.get_column("received_at")])
        start = utc(feedback.get_column("event_time").min()) - max_delay  # type: ignore[arg-type]
        end = utc(times.max()) + timedelta(hours=1)  # type: ignore[arg-type]
        columns = [
            "request_id",
            "model_version",
            "event_time",
            "status",
            "prediction",
            "label_class",
            "inputs",
        ]
        if lookup is not None:
            predictions = lookup(start, end, ids.unique().to_list())
        else:
            predictions = read_range(
                root,
                spec.service,
                start=start,
                end=end,
                columns=columns,
                request_ids=ids.unique().to_list(),
                index=index,
            )
        if predictions.height == 0 or "status" not in predictions.columns:
            result.unmatched += ids.n_unique()
            continue
        predictions = predictions.filter(pl.col("status").is_in(ANSWERED)).unique("request_id")
        if "inputs" in predictions.columns:
            fields = predictions.schema["inputs"]
            names = [f.name for f in getattr(fields, "fields", [])]
            predictions = predictions.with_columns(
                pl.col("inputs").struct.field(c).cast(pl.String).alias(c)
                for c in slices
                if c in names
            )
        for kind, chosen in (("labels", labels), ("outcomes", outcomes)):
            if chosen.height == 0:
                continue
            joined = chosen.select(
                "request_id", "value", "value_str", pl.col("received_at").alias("_received")
            ).join(predictions, on="request_id", how="inner")
            result.matched += joined.height
            result.unmatched += chosen.height - joined.height
            delay = (pl.col("_received") - pl.col("event_time")).dt.total_microseconds() / 1e6
            joined = joined.with_columns(delay.alias("delay_s"))
            joined = joined.filter(pl.col("delay_s") <= max_delay.total_seconds())
            _add_feedback(result.partials, joined, kind, spec, references)
    return result


def _add_feedback(
    partials: Partials,
    joined: pl.DataFrame,
    kind: str,
    spec: ServiceSpec,
    references: ReferenceProvider,
) -> None:
    slices = [s.column for s in spec.data.slices]
    for step in pane_steps(spec):
        label = format_duration(step)
        for version, pane, group in _groups(joined, step):
            if kind == "outcomes":
                partials.add(
                    (version, label, pane, kind), OutcomeSummary.of(group.get_column("value"))
                )
                continue
            reference = references.get(version)
            classes = reference.classes if reference is not None else ()
            summary = label_summary(group, spec.task, classes=classes, slices=slices)
            partials.add((version, label, pane, kind), summary)
