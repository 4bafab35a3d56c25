"""Reference profiles of model versions: built at training time, loaded for drift checks.

A version's reference is the profile of the raw input features of its training rows
plus the model's own scores on them as :data:`PREDICTION_COLUMN` (prediction drift):
the probability of the positive class, the regression output, or the predicted class
(categorical) for a multiclass model. A drift check against a version scores the
current rows with the same model, so inputs and outputs are compared alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from steadyml.core.contract import Contract
from steadyml.core.predictor import Predictor
from steadyml.core.profiles import Profile, ProfileView
from steadyml.errors import NotFoundError
from steadyml.spec import Task

if TYPE_CHECKING:  # the registry (MLflow) is imported only when a model is the reference
    from steadyml.services.bundles import ModelBundle
    from steadyml.services.workspace import Workspace

__all__ = [
    "MODEL_ALIASES",
    "PREDICTION_COLUMN",
    "BatchScorer",
    "ModelReference",
    "load_model_reference",
    "model_reference_name",
    "predictions",
    "training_reference",
]

PREDICTION_COLUMN = "__prediction__"
MODEL_ALIASES = ("champion", "candidate", "challenger", "previous")
_VERSION = re.compile(r"^[vV]?(\d+)$")


def predictions(predictor: Predictor, inputs: pl.DataFrame) -> pl.Series:
    """The model's output on raw input rows, as the :data:`PREDICTION_COLUMN` series."""
    scores = predictor.score(inputs)
    if predictor.task is Task.MULTICLASS and scores.ndim == 2 and predictor.classes:
        labels = np.asarray(predictor.classes, dtype=object)[np.argmax(scores, axis=1)]
        return pl.Series(PREDICTION_COLUMN, labels, dtype=pl.String)
    return pl.Series(PREDICTION_COLUMN, np.asarray(scores, dtype=np.float64).reshape(-1))


def training_reference(
    inputs: pl.DataFrame, predictor: Predictor, contract: Contract, *, seed: int = 0
) -> ProfileView:
    """The reference profile of a model version, from its raw training inputs.

    Parameters
    ----------
    inputs
        The raw input features of the training rows (before the feature transform).
    predictor
        The fitted predictor; its scores on ``inputs`` become :data:`PREDICTION_COLUMN`.
    contract
        The input contract: columns it declares categorical are profiled as categories
        even when stored as integer codes.
    seed
        Seed of the row sample.
    """
    frame = inputs.with_columns(predictions(predictor, inputs))
    categorical = [
        rule.name
        for rule in contract.columns
        if rule.kind == "categorical" and rule.name in inputs.columns
    ]
    return Profile.for_reference(frame, frame.columns, categorical=categorical, seed=seed).view()


def model_reference_name(text: str) -> str | int | None:
    """``"champion"``-style aliases and ``"3"`` or ``"v3"`` versions; ``None`` otherwise."""
    if text in MODEL_ALIASES:
        return text
    match = _VERSION.match(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ModelReference:
    """A model version used as the drift reference."""

    version: int
    label: str
    view: ProfileView
    bundle: ModelBundle

    @property
    def features(self) -> tuple[str, ...]:
        """The version's raw input features."""
        return tuple(self.bundle.meta.get("features", ()))


def load_model_reference(workspace: Workspace, which: str | int) -> ModelReference:
    """Load the reference profile of an alias (``champion``) or a version number.

    Raises
    ------
    NotFoundError
        When the alias points nowhere, the version does not exist, or it has no
        reference profile.
    """
    from steadyml.services.bundles import load_bundle

    if isinstance(which, int):
        version, label = which, f"v{which}"
    else:
        found = workspace.registry.alias_version(which)
        if found is None:
            raise NotFoundError(
                "REFERENCE",
                which,
                f"no version of {workspace.spec.model_name} has the alias {which!r}; "
                "train and promote one, or give a version number",
            )
        version, label = found, f"{which} (v{found})"
    bundle = load_bundle(workspace.registry, workspace.model_cache, version)
    return ModelReference(version, label, bundle.reference_profile(), bundle)


class BatchScorer:
    """Adds the model's predictions to current batches, as in the reference.

    Batches that already hold :data:`PREDICTION_COLUMN` are left alone. If the model
    cannot score the rows (a feature missing, a transform failing), scoring stops and
    :attr:`problem` says why; prediction drift is then not checked.
    """

    def __init__(self, reference: ModelReference) -> None:
        self.features = reference.features
        self.predictor = reference.bundle.predictor
        self.problem: str | None = None

    def __call__(self, batch: pa.Table) -> pa.Table:
        """``batch`` with :data:`PREDICTION_COLUMN` appended (when it can be scored)."""
        if self.problem is not None or PREDICTION_COLUMN in batch.column_names:
            return batch
        missing = [c for c in self.features if c not in batch.column_names]
        if missing:
            self.problem = f"the current data lacks model inputs {missing}"
            return batch
        if batch.num_rows == 0:
            return batch
        frame: Any = pl.from_arrow(batch.select(list(self.features)))
        try:
            series = predictions(self.predictor, frame)
        except Exception as exc:  # the model and its transform are user code
            self.problem = (
                f"the model could not score the current rows ({type(exc).__name__}: {exc})"
            )
            return batch
        return batch.append_column(PREDICTION_COLUMN, series.to_arrow())
