"""An open MLflow run: parameters, metrics, tags, artifacts and the model file.

:meth:`steadyml.adapters.registry.Registry.start_run` hands one out; MLflow is imported on
first use because importing it takes seconds.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import platform
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
import yaml

from steadyml.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from steadyml.adapters.registry import Registry

__all__ = ["TrainingRun", "mlflow_module", "quiet_logger"]

_SKIPPED_NAN_TAG = "steadyml.skipped_nan_metrics"
_PACKAGE_OF_MODULE = {"sklearn": "scikit-learn"}


def mlflow_module(module: str) -> Any:
    """Import an MLflow module on first use (importing MLflow takes seconds)."""
    with warnings.catch_warnings():
        # MLflow warns about its own type hints when mlflow.pyfunc is first imported.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")
        if module.split(".")[1:2] in (["sklearn"], ["lightgbm"], ["models"]):
            importlib.import_module("mlflow.pyfunc")
        return importlib.import_module(module)


def _to_jsonable(obj: object) -> Any:
    """Plain JSON types (numpy scalars and arrays, datetimes, dataclasses included)."""
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.loads(orjson.dumps(obj, option=option, default=str))


class TrainingRun:
    """An open MLflow run of ``registry``; :meth:`Registry.start_run` makes one."""

    def __init__(self, registry: Registry, run_id: str) -> None:
        self._registry = registry
        self.run_id = run_id

    def _batch(self, kind: Literal["metrics", "params", "tags"], values: list[Any]) -> None:
        for start in range(0, len(values), 100):  # MLflow takes at most 100 params a batch
            lists: dict[str, list[Any]] = {"metrics": [], "params": [], "tags": []}
            lists[kind] = values[start : start + 100]
            with self._registry.translate(kind, None):
                client = self._registry.client
                client.log_batch(self.run_id, lists["metrics"], lists["params"], lists["tags"])

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log parameters; values are stored as their ``str()``."""
        param = mlflow_module("mlflow.entities").Param
        self._batch("params", [param(str(k), str(v)) for k, v in params.items()])

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Log metrics at step 0; NaN values are skipped and named in a run tag."""
        metric = mlflow_module("mlflow.entities").Metric
        now = int(time.time() * 1000)
        values, skipped = [], []
        for key, raw in metrics.items():
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"metrics.{key}", raw, "log a real number") from None
            if math.isnan(value):
                skipped.append(str(key))
            else:
                values.append(metric(str(key), value, now, 0))
        self._batch("metrics", values)
        if skipped:
            previous = self._registry.run(self.run_id).tags.get(_SKIPPED_NAN_TAG, "")
            names = sorted({*filter(None, previous.split(",")), *skipped})
            self.set_tags({_SKIPPED_NAN_TAG: ",".join(names)})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set run tags."""
        tag = mlflow_module("mlflow.entities").RunTag
        self._batch("tags", [tag(str(k), str(v)) for k, v in tags.items()])

    def log_dict(self, obj: object, artifact_file: str) -> None:
        """Log ``obj`` as JSON (``.json``) or YAML (``.yaml``/``.yml``) at ``artifact_file``."""
        plain = _to_jsonable(obj)
        suffix = Path(artifact_file).suffix.lower()
        if suffix == ".json":
            text = orjson.dumps(plain, option=orjson.OPT_INDENT_2).decode() + "\n"
        elif suffix in (".yaml", ".yml"):
            text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)
        else:
            raise ConfigError("artifact_file", artifact_file, "end the name in .json or .yaml")
        self.log_text(text, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Log ``text`` as the artifact ``artifact_file`` (a run-relative posix path)."""
        with self._registry.translate("artifact_file", artifact_file):
            self._registry.client.log_text(self.run_id, text, artifact_file)

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None:
        """Copy every file under ``local_dir`` into the run's artifacts."""
        if not Path(local_dir).is_dir():
            raise NotFoundError("local_dir", str(local_dir), "pass an existing directory")
        with self._registry.translate("artifact_path", artifact_path):
            self._registry.client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def log_model(
        self,
        estimator: object,
        flavor: Literal["lightgbm", "sklearn"],
        name: str = "model",
    ) -> str:
        """Save ``estimator`` as an MLflow model in the run; return the URI to register.

        ``"sklearn"`` suits any scikit-learn-API estimator (``LGBMClassifier`` included;
        stored with cloudpickle), ``"lightgbm"`` a raw ``lightgbm.Booster``. No input
        example, no signature, pinned requirements: it takes milliseconds.
        """
        if flavor not in ("sklearn", "lightgbm"):
            raise ConfigError("flavor", flavor, "use 'sklearn' or 'lightgbm'")
        saver = mlflow_module(f"mlflow.{flavor}")
        extra = {"serialization_format": "cloudpickle"} if flavor == "sklearn" else {}
        with tempfile.TemporaryDirectory(prefix="steadyml-model-") as tmp:
            local = Path(tmp) / name
            with quiet_logger("mlflow.sklearn"):
                saver.save_model(estimator, str(local), conda_env=_conda_env(estimator), **extra)
            self.log_artifacts(local, name)
        return f"runs:/{self.run_id}/{name}"


def _conda_env(estimator: object) -> dict[str, Any]:
    """Pinned requirements; spelled out so MLflow does not probe the environment."""
    packages = ["mlflow", "cloudpickle", "scikit-learn"]
    top = type(estimator).__module__.split(".", 1)[0]
    packages.append(_PACKAGE_OF_MODULE.get(top, top))
    pins: list[str] = []
    for package in dict.fromkeys(packages):
        with suppress(importlib.metadata.PackageNotFoundError):
            pins.append(f"{package}=={importlib.metadata.version(package)}")
    return {
        "name": "steadyml-model",
        "channels": ["conda-forge"],
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pins}],
    }


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Silence one MLflow logger (e.g. its warning about pickled models) for a moment."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
