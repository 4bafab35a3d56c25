"""The reference of each model version the monitor sees in the log.

A :class:`ReferenceProvider` answers "what are windows of version ``v`` compared
with?". :class:`BundleReferences` builds it from the version's bundle in the registry:
the reference profile written at training time (inputs and the model's scores), CBPE
and baseline metrics from the held-out rows, and input importance from perturbing
those rows. Each version is built once per process. :class:`StaticReferences` serves
prebuilt references (tests, docs, other serving stacks).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import polars as pl

from steadyml.core.monitoring import Reference
from steadyml.core.monitoring.context import PREDICTION_COLUMN
from steadyml.core.monitoring.importance import input_importance
from steadyml.core.performance import CBPE, compute_metrics
from steadyml.core.profiles import Profile, ProfileView
from steadyml.errors import NotFoundError, SteadyError
from steadyml.services.bundles import ModelBundle, load_bundle
from steadyml.services.evaluation import target_array
from steadyml.services.workspace import Workspace
from steadyml.spec import Task

__all__ = ["BundleReferences", "ReferenceProvider", "StaticReferences", "reference_of_bundle"]

_log = logging.getLogger("steadyml.monitor")
RETRY_SECONDS = 60.0


class ReferenceProvider(Protocol):
    """Gives the reference of a model version, or None when it cannot be had."""

    def get(self, version: str) -> Reference | None:
        """The reference of ``version`` (as logged, e.g. ``"3"``)."""
        ...


class StaticReferences:
    """References given up front, by version."""

    def __init__(self, references: Mapping[str, Reference]) -> None:
        self._references = dict(references)

    def get(self, version: str) -> Reference | None:
        """The reference of ``version``, or None."""
        return self._references.get(version)


def _outputs(bundle: ModelBundle, scores: np.ndarray) -> np.ndarray:
    if bundle.task is Task.MULTICLASS and scores.ndim == 2:
        labels: np.ndarray = np.asarray(bundle.predictor.classes, dtype=object)
        return np.asarray(labels[np.argmax(scores, axis=1)])
    return scores


def reference_of_bundle(bundle: ModelBundle, *, seed: int = 0) -> Reference:
    """Build the monitor's reference of a loaded model version.

    The reference profile comes from the bundle (inputs of the training rows and the
    model's scores on them); a bundle without one is profiled from its held-out rows.
    CBPE (binary) and the baseline metrics are fitted on the held-out rows, and the
    input importance measured on them.
    """
    meta = bundle.meta
    features = tuple(meta.get("features", ()))
    task = bundle.task
    classes = tuple(bundle.predictor.classes)
    holdout = bundle.holdout()
    inputs = holdout.select(list(features))
    scores = np.asarray(bundle.predictor.score(inputs), dtype=np.float64)
    try:
        profile: ProfileView = bundle.reference_profile()
    except NotFoundError:
        frame = inputs.with_columns(pl.Series(PREDICTION_COLUMN, _outputs(bundle, scores)))
        profile = Profile.for_reference(frame, frame.columns, seed=seed).view()
    target = meta.get("target")
    cbpe = None
    baseline: dict[str, float] = {}
    if target in holdout.columns and task is not Task.MULTICLASS:
        y = target_array(holdout.get_column(target), task, classes)
        known = y >= 0 if task.is_classification else np.isfinite(y)
        if known.sum() > 1:
            values = compute_metrics(task, y[known], scores[known])
            baseline = {k: v for k, v in values.items() if math.isfinite(v)}
            if task is Task.BINARY and 0 < y[known].sum() < known.sum():
                cbpe = CBPE.fit(y[known], scores[known])

    def score(frame: pl.DataFrame) -> np.ndarray:
        return np.asarray(bundle.predictor.score(frame), dtype=np.float64)

    importance = input_importance(score, inputs, features, seed=seed)
    return Reference(
        version=str(bundle.version),
        task=task,
        profile=profile,
        features=tuple(f for f in features if f in profile.schema),
        cbpe=cbpe,
        baseline=baseline,
        importance=importance,
        classes=classes,
    )


class BundleReferences:
    """References of the versions in the service's registry, built on first use.

    A version that cannot be loaded (registry down, no bundle) is retried after
    :data:`RETRY_SECONDS`; meanwhile its windows are checked without a reference.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._cache: dict[str, Reference] = {}
        self._failed: dict[str, float] = {}

    def get(self, version: str) -> Reference | None:
        """The reference of ``version`` (None when it cannot be loaded now)."""
        if version in self._cache:
            return self._cache[version]
        if time.monotonic() - self._failed.get(version, -math.inf) < RETRY_SECONDS:
            return None
        try:
            number = int(version)
            workspace = self.workspace
            bundle = load_bundle(workspace.registry, workspace.model_cache, number)
            reference = reference_of_bundle(bundle, seed=workspace.spec.model.seed)
        except (ValueError, SteadyError, OSError) as exc:
            _log.warning("no reference for version %s: %s", version, exc)
            self._failed[version] = time.monotonic()
            return None
        except Exception:  # a broken bundle must not stop monitoring: checked without it
            _log.exception("cannot build the reference of version %s", version)
            self._failed[version] = time.monotonic()
            return None
        self._cache[version] = reference
        return reference
