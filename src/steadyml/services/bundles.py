"""A model version as steadyml uses it: predictor, contract, metadata and hold-out rows.

Training writes a bundle folder beside the MLflow model; the gate, the server and the
simulator load it back (from the registry, or from the local last-good copy when the
registry cannot be reached).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from steadyml.adapters.model_files import (
    BUNDLE_DIR,
    MODEL_DIR,
    fetch_version,
    load_estimator,
    local_copy,
)
from steadyml.adapters.plugins import load_function
from steadyml.adapters.registry import Registry
from steadyml.core.contract import Contract
from steadyml.core.encoding import FeatureEncoder
from steadyml.core.predictor import Predictor
from steadyml.core.profiles import ProfileView
from steadyml.core.transforms import FeatureTransform
from steadyml.errors import DataError, NotFoundError, RegistryUnavailable
from steadyml.spec import Task

__all__ = ["ModelBundle", "load_bundle", "read_bundle_dir", "write_bundle_dir"]

META = "meta.json"
CONTRACT = "contract.json"
TRANSFORMS = "transforms.py"
HOLDOUT = "holdout.parquet"
REFERENCE_PROFILE = "reference_profile.bin"


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model version."""

    version: int
    predictor: Predictor
    contract: Contract
    meta: dict[str, Any]
    directory: Path

    @property
    def task(self) -> Task:
        """What the model predicts."""
        return self.predictor.task

    def holdout(self) -> pl.DataFrame:
        """The test rows this version was evaluated on (raw inputs and target)."""
        return pl.read_parquet(self._holdout_path())

    def holdout_schema(self) -> pl.Schema:
        """The column types of :meth:`holdout`, read from the Parquet footer only."""
        return pl.scan_parquet(self._holdout_path()).collect_schema()

    def _holdout_path(self) -> Path:
        path = self.directory / BUNDLE_DIR / HOLDOUT
        if not path.exists():
            raise NotFoundError(str(path), fix="this version was logged without hold-out rows")
        return path

    def reference_profile(self) -> ProfileView:
        """The profile of the training rows this version learned from (drift reference).

        It holds the raw input features and the model's scores on the training rows as
        the ``__prediction__`` column (for prediction drift), on fixed reference bins.

        Raises
        ------
        NotFoundError
            When the version was logged without a reference profile.
        """
        path = self.directory / BUNDLE_DIR / REFERENCE_PROFILE
        if not path.exists():
            raise NotFoundError(
                str(path), fix="this version has no reference profile; train it again"
            )
        return ProfileView.from_bytes(path.read_bytes())

    def artifact(self, name: str) -> Path:
        """Path of a file in the bundle folder."""
        return self.directory / BUNDLE_DIR / name


def write_bundle_dir(
    directory: Path,
    *,
    meta: dict[str, Any],
    contract: Contract,
    transform_source: str | None,
    files: dict[str, str],
    frames: dict[str, pl.DataFrame],
) -> Path:
    """Write the bundle folder that training logs as the ``steadyml`` artifact."""
    bundle = directory / BUNDLE_DIR
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / META).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    (bundle / CONTRACT).write_text(contract.to_json(), encoding="utf-8")
    if transform_source is not None:
        (bundle / TRANSFORMS).write_text(transform_source, encoding="utf-8")
    for name, text in files.items():
        (bundle / name).write_text(text, encoding="utf-8")
    for name, frame in frames.items():
        frame.write_parquet(bundle / name, compression="zstd")
    return bundle


def read_bundle_dir(directory: Path, version: int) -> ModelBundle:
    """Load a bundle from a complete local copy (``model/`` and ``steadyml/``)."""
    bundle = directory / BUNDLE_DIR
    try:
        meta = json.loads((bundle / META).read_text(encoding="utf-8"))
        contract = Contract.from_json((bundle / CONTRACT).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(str(bundle), fix=f"the model bundle is unreadable ({exc})") from None
    transform_meta = meta.get("transform") or {}
    function = None
    if transform_meta.get("function") and (bundle / TRANSFORMS).exists():
        function = load_function(TRANSFORMS, transform_meta["function"], bundle)
    transform = FeatureTransform(function, name=transform_meta.get("name", "identity"))
    predictor = Predictor(
        task=Task(meta["task"]),
        transform=transform,
        encoder=FeatureEncoder.from_dict(meta["encoder"]),
        estimator=load_estimator(directory / MODEL_DIR),
        classes=tuple(meta.get("classes", ())),
    )
    return ModelBundle(
        version=version, predictor=predictor, contract=contract, meta=meta, directory=directory
    )


def load_bundle(registry: Registry, cache_root: Path, version: int) -> ModelBundle:
    """Load a version, from the registry or, if it cannot be reached, the local copy."""
    try:
        directory = fetch_version(cache_root, registry, version)
    except RegistryUnavailable:
        cached = local_copy(cache_root, registry.model_name, version)
        if cached is None:
            raise
        directory = cached
    return read_bundle_dir(directory, version)
