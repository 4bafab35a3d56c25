"""Incidents in the model, the traffic and the label feed; and the clean segment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from steadyml.core.durations import parse_duration
from steadyml.services.simulation.incident import Fault, Incident, LabelFeed, Params, Rng
from steadyml.services.simulation.traffic import EVENT_TIME, REQUEST_ID

__all__ = [
    "BadVersion",
    "Clean",
    "ConceptDrift",
    "DelayedLabels",
    "LabelShift",
    "LatencySpike",
    "MissingLabels",
    "NanOutputs",
    "TrafficSurge",
]

_MODEL = frozenset({"nan_output", "fallback", "prediction_drift", "performance_drop", "kpi_drop"})


class NanParams(Params):
    share: float = Field(0.1, gt=0, le=1, description="share of rows answered NaN")


class NanOutputs(Incident):
    """A version that answers NaN for a share of rows is promoted."""

    type = "nan_outputs"
    summary = "a promoted version returns NaN for `share` of the rows"
    expects = frozenset({"nan_output", "fallback"})
    Parameters = NanParams

    def fault(self) -> Fault:
        return Fault("nan_share", {"share": self.params.share})  # type: ignore[attr-defined]


class BadVersionParams(Params):
    mode: Literal["inverted", "noisy"] = "inverted"
    noise: float = Field(0.7, ge=0, le=1, description="noisy: weight of the noise")


class BadVersion(Incident):
    """A bad model version is promoted (inverted or noisy probabilities)."""

    type = "bad_version"
    summary = "a promoted version gives wrong (inverted or noisy) answers"
    expects = _MODEL
    Parameters = BadVersionParams

    def fault(self) -> Fault:
        p: Any = self.params
        return Fault(p.mode, {"noise": p.noise})


class LatencyParams(Params):
    seconds: float = Field(0.2, gt=0, le=30, description="extra seconds per model call")


class LatencySpike(Incident):
    """The model becomes slow (a version that sleeps per call is promoted)."""

    type = "latency_spike"
    summary = "each model call takes `seconds` longer"
    # too slow a model also times requests out: the spike then shows as errors first
    expects = frozenset({"latency", "fallback", "error_rate"})
    Parameters = LatencyParams

    def fault(self) -> Fault:
        return Fault("slow", {"seconds": self.params.seconds})  # type: ignore[attr-defined]


class SurgeParams(Params):
    factor: float = Field(5.0, gt=0, le=100, description="request rate multiplier")


class TrafficSurge(Incident):
    """The request rate jumps by ``factor``."""

    type = "traffic_surge"
    summary = "requests arrive `factor` times faster"
    expects = frozenset({"traffic", "latency", "fallback"})
    Parameters = SurgeParams

    def rate_factor(self, progress: float) -> float:
        factor: float = self.params.factor  # type: ignore[attr-defined]
        return 1.0 + (factor - 1.0) * progress


class LabelShiftParams(Params):
    points: float = Field(20.0, gt=-100, le=100, description="change of the positive share")
    positive: str = Field("1", description="the positive class value")


class LabelShift(Incident):
    """The share of the positive class changes (P(y) moves, P(x|y) stays)."""

    type = "label_shift"
    summary = "the positive class share moves by `points` percentage points"
    expects = frozenset({"prediction_drift", "feature_drift", "performance_drop", "kpi_drop"})
    Parameters = LabelShiftParams

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        if not self.target or progress <= 0 or frame.height == 0:
            return frame
        labels = frame.get_column(self.target).cast(pl.String).to_numpy()
        gaining = labels == p.positive if p.points > 0 else labels != p.positive
        donors = np.flatnonzero(gaining)
        others = np.flatnonzero(~gaining)
        if donors.size == 0 or others.size == 0:
            return frame
        share = min(1.0, abs(p.points) / 100.0 * progress / (others.size / frame.height))
        chosen = others[rng.random(others.size) < share]
        index = np.arange(frame.height)
        index[chosen] = rng.choice(donors, chosen.size)
        # rows are replaced, requests are not: ids and event times stay where they were
        keep = [frame.get_column(c) for c in (REQUEST_ID, EVENT_TIME) if c in frame.columns]
        return frame[index].with_columns(keep)


class ConceptParams(Params):
    share: float = Field(0.4, gt=0, le=1, description="share of labels flipped in the group")


class ConceptDrift(Incident):
    """The relation between features and label changes: labels flip in a group.

    With a feature: the group is the rows above its median (numeric) or in its most
    frequent category; without one, every row.
    """

    type = "concept_drift"
    summary = "labels flip for `share` of a group of rows"
    feature_kind = "any"
    expects = frozenset({"performance_drop", "kpi_drop"})
    Parameters = ConceptParams

    def bind(self, data: pl.DataFrame) -> None:
        self.group: tuple[str, Any] | None = None
        if self.feature is None:
            return
        column = data.get_column(self.feature)
        if column.dtype.is_numeric():
            self.group = ("above", float(column.median() or 0.0))  # type: ignore[arg-type]
        else:
            top = column.drop_nulls().value_counts(sort=True).get_column(self.feature)
            self.group = ("equals", top[0])

    def labels(
        self, frame: pl.DataFrame, labels: np.ndarray[Any, Any], progress: float, rng: Rng
    ) -> np.ndarray[Any, Any]:
        share = self.params.share * progress  # type: ignore[attr-defined]
        member = np.ones(labels.size, dtype=bool)
        if self.group is not None and self.feature is not None:
            column = frame.get_column(self.feature)
            how, value = self.group
            test = column.cast(pl.Float64) > value if how == "above" else column == value
            member = test.fill_null(False).to_numpy()
        flip = member & (rng.random(labels.size) < share)
        flipped = labels.copy()
        flipped[flip] = 1 - flipped[flip]
        return flipped


class DelayParams(Params):
    extra_delay: str = Field("6h", description="extra delay of the labels")

    @property
    def delta(self) -> timedelta:
        return parse_duration(self.extra_delay)


class DelayedLabels(Incident):
    """Labels arrive later than expected."""

    type = "delayed_labels"
    summary = "labels arrive `extra_delay` later"
    expects = frozenset({"label_feed"})
    Parameters = DelayParams

    def label_feed(self, progress: float) -> LabelFeed:
        p: Any = self.params
        return LabelFeed(extra_delay=p.delta if progress > 0 else timedelta(0))


class MissingParams(Params):
    coverage: float = Field(0.0, ge=0, lt=1, description="share of labels still arriving")


class MissingLabels(Incident):
    """Labels stop arriving (or only a share does)."""

    type = "missing_labels"
    summary = "only `coverage` of the labels arrive"
    expects = frozenset({"label_feed"})
    Parameters = MissingParams

    def label_feed(self, progress: float) -> LabelFeed:
        coverage = self.params.coverage  # type: ignore[attr-defined]
        return LabelFeed(coverage=1.0 - (1.0 - coverage) * progress)


class Clean(Incident):
    """No incident: a segment whose alerts are all false alarms."""

    type = "clean"
    summary = "nothing happens; every alert is a false alarm"
