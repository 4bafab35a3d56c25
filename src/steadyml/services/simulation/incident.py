"""The shape every injected incident shares: when it is active, and the hooks it has.

An incident acts through one or more hooks, all no-ops by default:

* :meth:`Incident.apply` changes the request records of a tick (a Polars frame of the
  replayed rows, with the target column) — drift, schema breaks, label shift;
* :meth:`Incident.rate_factor` scales the request rate (a traffic surge);
* :meth:`Incident.fault` names a misbehaving model to promote at the onset (NaN
  outputs, a bad version, a latency spike);
* :meth:`Incident.labels` and :meth:`Incident.label_feed` change the labels that come
  back and when (concept drift, delayed or missing labels).

``progress`` is 0 before the onset and after the end, and grows from 0 to 1 over the
ramp (1 at once for a sudden incident).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

__all__ = ["Fault", "FeatureKind", "Incident", "LabelFeed", "Params"]

FeatureKind = Literal["numeric", "categorical", "any"]
Rng = np.random.Generator


class Params(BaseModel):
    """Base of every incident's parameters (frozen, unknown keys refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Fault:
    """A misbehaving model version: the wrapper's class name and its arguments."""

    wrapper: str
    options: dict[str, float]


@dataclass(frozen=True)
class LabelFeed:
    """How labels of a tick come back: extra delay and the share that comes at all."""

    extra_delay: timedelta = timedelta(0)
    coverage: float = 1.0


class Incident:
    """One injected incident (a subclass per type).

    Parameters
    ----------
    name
        The label shown in the report.
    onset, end
        When it starts and stops (``end`` None: at the scenario end).
    ramp
        Time to full strength.
    feature
        The target feature, when the type has one.
    params
        The type's validated parameters.
    """

    type: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    feature_kind: ClassVar[FeatureKind | None] = None
    expects: ClassVar[frozenset[str]] = frozenset()
    by_feature: ClassVar[bool] = False
    Parameters: ClassVar[builtins.type[Params]] = Params
    target: str = ""

    def __init__(
        self,
        name: str,
        *,
        onset: datetime,
        end: datetime | None,
        ramp: timedelta,
        feature: str | None,
        params: Params,
    ) -> None:
        self.name = name
        self.onset = onset
        self.end = end
        self.ramp = ramp
        self.feature = feature
        self.params = params

    def progress(self, at: datetime) -> float:
        """Strength at ``at``: 0 outside the incident, ramping to 1."""
        if at < self.onset or (self.end is not None and at >= self.end):
            return 0.0
        if self.ramp <= timedelta(0):
            return 1.0
        return min(1.0, (at - self.onset) / self.ramp)

    def active(self, start: datetime, stop: datetime) -> bool:
        """True when the incident overlaps ``[start, stop)``."""
        return stop > self.onset and (self.end is None or start < self.end)

    # -- hooks -----------------------------------------------------------------------

    def bind(self, data: pl.DataFrame) -> None:
        """See the whole replayed data once before the run (for its statistics)."""

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        """The records of a tick as the incident changes them."""
        return frame

    def edit_records(
        self, records: list[dict[str, Any]], progress: float, rng: Rng
    ) -> list[dict[str, Any]]:
        """The JSON records of a tick as sent over HTTP (schema breaks act here)."""
        return records

    def rate_factor(self, progress: float) -> float:
        """Multiplier of the request rate."""
        return 1.0

    def fault(self) -> Fault | None:
        """A misbehaving model to promote at the onset, if any."""
        return None

    def labels(
        self, frame: pl.DataFrame, labels: np.ndarray[Any, Any], progress: float, rng: Rng
    ) -> np.ndarray[Any, Any]:
        """The labels that come back for the records of a tick."""
        return labels

    def label_feed(self, progress: float) -> LabelFeed:
        """Extra delay and coverage of the labels of a tick."""
        return LabelFeed()

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for the report."""
        return {
            "name": self.name,
            "type": self.type,
            "feature": self.feature,
            "onset": self.onset.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "ramp_s": self.ramp.total_seconds(),
            "params": self.params.model_dump(),
            "expected_incidents": sorted(self.expects),
        }
