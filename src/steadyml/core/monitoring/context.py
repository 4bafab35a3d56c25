"""What checks read: a model version's reference, and one window's summaries.

A :class:`Reference` is what windows of one model version are compared with: the
version's reference profile (input features, plus the model's outputs as
:data:`PREDICTION_COLUMN`), a CBPE estimator and baseline metrics from held-out rows,
and how much each input moves the model's output (for root-cause ranking).
:class:`WindowData` holds one window's merged summaries.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from steadyml.core.monitoring.labelled import LabelSummary, OutcomeSummary
from steadyml.core.monitoring.summary import WindowSummary
from steadyml.core.performance import CBPE, compute_metrics
from steadyml.core.profiles import Profile, ProfileSchema, ProfileSettings, ProfileView
from steadyml.errors import DataError
from steadyml.spec import Task

__all__ = ["PREDICTION_COLUMN", "Reference", "WindowData", "WindowKey"]

#: The model-output column of reference profiles (shared with the drift reports).
PREDICTION_COLUMN = "__prediction__"
ALL_VERSIONS = "*"


@dataclass(frozen=True)
class Reference:
    """What the windows of one model version are compared with.

    Attributes
    ----------
    version
        The model version (as logged, e.g. ``"3"``).
    task
        The model's task.
    profile
        The reference profile: input features, and the model's outputs as
        :data:`PREDICTION_COLUMN` when known.
    features
        The raw input features (columns of ``profile`` compared for feature drift).
    cbpe
        Label-free performance estimator (binary classifiers), fitted on held-out rows.
    baseline
        Metrics of the version on held-out rows, e.g. ``{"roc_auc": 0.86}``.
    importance
        Share of the model's output movement due to each input (sums to 1).
    classes
        Class names in the model's order.
    threshold
        The binary decision threshold.
    """

    version: str
    task: Task
    profile: ProfileView
    features: tuple[str, ...]
    cbpe: CBPE | None = None
    baseline: Mapping[str, float] = field(default_factory=dict)
    importance: Mapping[str, float] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    threshold: float = 0.5

    def __post_init__(self) -> None:
        missing = [f for f in self.features if f not in self.profile.schema]
        if missing:
            raise DataError(
                "reference.features", missing, "profile every input feature in the reference"
            )

    @property
    def has_outputs(self) -> bool:
        """True when the reference profiles the model's outputs."""
        return PREDICTION_COLUMN in self.profile.schema

    def _profile(self, names: Sequence[str], seed: int | None) -> Profile:
        schema = ProfileSchema(tuple(self.profile.schema[n] for n in names))
        settings = ProfileSettings(
            sample_size=0,
            sketch_k=self.profile.settings.sketch_k,
            max_categories=self.profile.settings.max_categories,
        )
        return Profile(schema, settings, seed=seed, threads=1)

    def new_inputs(self, seed: int | None = None) -> Profile:
        """An empty window profile of the input features, on the reference bins."""
        return self._profile(self.features, seed)

    def new_outputs(self, seed: int | None = None) -> Profile | None:
        """An empty window profile of the model outputs (None without a reference)."""
        return self._profile([PREDICTION_COLUMN], seed) if self.has_outputs else None

    @classmethod
    def from_frame(
        cls,
        version: str,
        task: Task | str,
        frame: pl.DataFrame,
        features: Sequence[str],
        *,
        scores: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        classes: Sequence[str] = (),
        importance: Mapping[str, float] | None = None,
        categorical: Sequence[str] = (),
        seed: int = 0,
    ) -> Reference:
        """Build a reference from rows: their inputs, model scores and labels.

        Parameters
        ----------
        frame
            Reference rows holding ``features``.
        scores
            The model's scores on the rows (P(class 1), regression output, or class
            names for multiclass); profiled as :data:`PREDICTION_COLUMN`.
        labels
            True labels (0/1 for binary): fits CBPE and gives the baseline metrics.
        """
        task = Task(task)
        data = frame.select(list(features))
        if scores is not None:
            data = data.with_columns(pl.Series(PREDICTION_COLUMN, scores))
        view = Profile.for_reference(
            data, data.columns, categorical=list(categorical), seed=seed
        ).view()
        cbpe = None
        baseline: dict[str, float] = {}
        if scores is not None and labels is not None and task is not Task.MULTICLASS:
            values = compute_metrics(task, labels, scores)
            baseline = {k: v for k, v in values.items() if np.isfinite(v)}
            if task is Task.BINARY:
                cbpe = CBPE.fit(labels, scores)
        return cls(
            version=str(version),
            task=task,
            profile=view,
            features=tuple(features),
            cbpe=cbpe,
            baseline=baseline,
            importance=dict(importance or {}),
            classes=tuple(classes),
        )


@dataclass(frozen=True)
class WindowKey:
    """Which window: model version (``"*"`` for all), window label and start."""

    version: str
    window: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class WindowData:
    """Everything known about one window (merged over its panes).

    ``complete`` is True once the window has ended and its lateness has passed: no
    record will arrive for it any more (volume is judged on complete windows only).
    ``fingerprint`` names what ``inputs`` and ``outputs`` were merged from (for example
    digests of the stored panes): equal fingerprints mean equal profiles, so checks of
    those profiles can be reused (:class:`~steadyml.core.monitoring.checks.DriftMemo`);
    None when unknown.
    """

    key: WindowKey
    complete: bool
    summary: WindowSummary | None = None
    inputs: ProfileView | None = None
    outputs: ProfileView | None = None
    labels: LabelSummary | None = None
    outcomes: OutcomeSummary | None = None
    fingerprint: Hashable | None = None
