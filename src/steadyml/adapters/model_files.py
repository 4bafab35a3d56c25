"""Local copies of registered models: download once, keep the last good copy, load offline.

A version's local copy lives in ``<state>/models/<model name>/v<version>/`` with ``model/``
(the MLflow model directory) and ``steadyml/`` (contract, encoder, metadata, transform
source, hold-out rows). A copy is written to a temporary folder and renamed into place, so a
crash never leaves a half copy that looks complete. Worker processes that fetch the same
version at once take turns on a lock file (``.v<version>.lock``): the first downloads, the
others find its complete copy, and nobody replaces a copy another worker is loading from.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from steadyml.adapters.registry import Registry

__all__ = ["BUNDLE_DIR", "MODEL_DIR", "fetch_version", "load_estimator", "local_copy"]

BUNDLE_DIR = "steadyml"
MODEL_DIR = "model"
_COMPLETE = ".complete"


def local_copy(cache_root: Path, model_name: str, version: int) -> Path | None:
    """The complete local copy of a version, or None."""
    path = cache_root / model_name / f"v{version}"
    return path if (path / _COMPLETE).exists() else None


def fetch_version(cache_root: Path, registry: Registry, version: int) -> Path:
    """Download a version's model and bundle into the cache (atomically) and return its path."""
    existing = local_copy(cache_root, registry.model_name, version)
    if existing is not None:
        return existing
    folder = cache_root / registry.model_name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".v{version}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        existing = local_copy(cache_root, registry.model_name, version)
        if existing is not None:  # another worker fetched it while this one waited
            return existing
        return _download(folder / f"v{version}", registry, version)


def _download(target: Path, registry: Registry, version: int) -> Path:
    info = registry.version(version)
    staging = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=target.parent))
    try:
        source = info.source.rstrip("/")
        model_path = source.rsplit("/", 1)[-1] if "/" in source else MODEL_DIR
        model = registry.download_artifacts(info.run_id, model_path, staging / ".model")
        model.rename(staging / MODEL_DIR)
        registry.download_artifacts(info.run_id, BUNDLE_DIR, staging)
        (staging / _COMPLETE).write_text(f"{version}\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def load_estimator(model_dir: Path) -> Any:
    """Load the native (scikit-learn API) estimator from a local MLflow model directory."""
    import mlflow.sklearn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.sklearn.load_model(str(model_dir))
