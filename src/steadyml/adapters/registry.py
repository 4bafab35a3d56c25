"""MLflow tracking and model registry, embedded by default.

:class:`Registry` is steadyml's only door to MLflow. It uses an ``MlflowClient`` bound to
one URI (never MLflow's process-global tracking URI): a SQLite file under the state
directory by default (no server to start), PostgreSQL (``postgresql+psycopg://...``) or an
``http(s)://`` tracking server. MLflow is imported on first use; before that, this module
sets quiet defaults for MLflow's environment (:data:`MLFLOW_DEFAULTS`: no telemetry, no
logging handler of its own, no progress bars, HTTP retries that give up within about a
minute), which the user's own environment overrides.

Failures become steadyml errors: cannot reach the store → :class:`RegistryUnavailable`;
missing version, run or artifact → :class:`NotFoundError`; an argument MLflow refuses →
:class:`ConfigError`.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from steadyml.adapters.tracking import TrainingRun, mlflow_module
from steadyml.errors import ConfigError, NotFoundError, RegistryUnavailable, SteadyError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

__all__ = ["ModelVersionInfo", "Registry", "RunInfo", "TrainingRun"]

#: MLflow settings applied unless the environment already sets them.
MLFLOW_DEFAULTS: Mapping[str, str] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_CONFIGURE_LOGGING": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}
for _name, _value in MLFLOW_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

_PING_TIMEOUT_S = 3.0
_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}
_REFUSED = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "RESOURCE_ALREADY_EXISTS"}
_NO_RUN = "check the run id (shown by `steadyml lineage` and in the MLflow UI)"
_NO_VERSION = "pick an existing version (`steadyml versions` lists them) or train one"
_NO_ARTIFACT = "give a path relative to the run's artifact root that exists in the run"
_DB_SCHEMES = ("postgresql", "mysql")


def _ms_to_datetime(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000.0, tz=UTC)


def _redact(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered model version, as the registry knows it."""

    version: int
    run_id: str
    source: str
    created_at: datetime
    tags: dict[str, str]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class RunInfo:
    """One tracking run: its parameters, metrics, tags and where its artifacts live."""

    run_id: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifact_uri: str
    start_time: datetime


class Registry:
    """Tracking runs and registered versions of one model in MLflow.

    Parameters
    ----------
    tracking_uri
        MLflow tracking and registry URI: ``sqlite:///path/mlflow.db`` (the embedded
        default), ``postgresql+psycopg://user@host:5432/db``, or ``http(s)://host:port``.
        Creating a SQLite or PostgreSQL store the first time runs MLflow's own
        migrations, which takes a few seconds.
    model_name
        The registered model name.
    experiment
        The MLflow experiment runs are logged to; created on first use.
    artifact_root
        Where a *new* experiment stores its artifacts (an existing experiment keeps
        its own location).
    """

    def __init__(
        self, tracking_uri: str, model_name: str, experiment: str, artifact_root: Path
    ) -> None:
        for field, value in (("model_name", model_name), ("experiment", experiment)):
            if not value.strip():
                raise ConfigError(f"registry.{field}", value, "give a non-empty name")
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.experiment = experiment
        self.artifact_root = Path(artifact_root)
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    # -- connection --------------------------------------------------------------

    def ping(self) -> None:
        """Check, within a few seconds, that the tracking store can be reached.

        Raises
        ------
        RegistryUnavailable
            Naming the URI (password hidden), the reason and what to check.
        ConfigError
            When the URI is malformed or names a database driver that is not installed.
        """
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        from sqlalchemy.pool import NullPool

        scheme = urlsplit(self.tracking_uri).scheme.lower()
        try:
            if scheme == "sqlite":
                path = make_url(self.tracking_uri).database or ""
                if path not in ("", ":memory:"):
                    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                    with closing(sqlite3.connect(path, timeout=_PING_TIMEOUT_S)) as connection:
                        connection.execute("SELECT 1").fetchall()
            elif scheme.split("+", 1)[0] in _DB_SCHEMES:
                engine = create_engine(
                    self.tracking_uri,
                    poolclass=NullPool,
                    connect_args={"connect_timeout": int(_PING_TIMEOUT_S)},
                )
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                finally:
                    engine.dispose()
            elif scheme in ("http", "https"):
                import httpx

                url = f"{self.tracking_uri.rstrip('/')}/health"
                status = httpx.get(url, timeout=_PING_TIMEOUT_S).status_code
                if status >= 500:
                    raise ConnectionError(f"the tracking server answered HTTP {status}")
        except (ArgumentError, NoSuchModuleError) as exc:
            fix = f"use a valid URI with an installed driver ({_first_line(exc)})"
            raise ConfigError("registry.tracking_uri", _redact(self.tracking_uri), fix) from exc
        except Exception as exc:
            raise self._unavailable(exc) from exc

    @property
    def client(self) -> MlflowClient:
        """The MLflow client, created on first use after a fast :meth:`ping`."""
        if self._client is None:
            self.ping()  # MLflow itself retries an unreachable database for ~100 s
            with self.translate("registry.tracking_uri", None), warnings.catch_warnings():
                # MLflow's own tables use a loader strategy SQLAlchemy 2.x deprecates.
                warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mlflow\.")
                tracking = mlflow_module("mlflow.tracking")
                client: MlflowClient = tracking.MlflowClient(
                    tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
                client.search_experiments(max_results=1)  # creates and migrates the store
            self._client = client
        return self._client

    @contextmanager
    def translate(self, field: str, value: object, missing: str = "") -> Iterator[None]:
        """Translate MLflow, SQLAlchemy and HTTP failures into steadyml errors.

        ``field`` and ``value`` name what the guarded calls are about; ``missing`` is the
        fix suggested when it does not exist.
        """
        try:
            yield
        except SteadyError:
            raise
        except Exception as exc:
            code = str(getattr(exc, "error_code", ""))
            if _is_unreachable(exc):
                raise self._unavailable(exc) from exc
            if code in _NOT_FOUND:
                raise NotFoundError(field, value, missing or _first_line(exc)) from exc
            if code in _REFUSED:
                raise ConfigError(field, value, f"MLflow refused it: {_first_line(exc)}") from exc
            raise

    def _unavailable(self, exc: BaseException) -> RegistryUnavailable:
        scheme = urlsplit(self.tracking_uri).scheme.lower()
        if scheme == "sqlite":
            what = "that the file's directory exists and is writable"
        elif scheme in ("http", "https"):
            what = "that the MLflow tracking server is running and reachable from here"
        else:
            what = "that the database server is running and reachable and the database exists"
        reason = _first_line(exc)
        fix = f"check {what}, or set registry.tracking_uri / STEADYML_TRACKING_URI ({reason})"
        uri = _redact(self.tracking_uri)
        return RegistryUnavailable("registry.tracking_uri", uri, fix, details={"reason": reason})

    # -- runs ----------------------------------------------------------------------

    def _experiment(self) -> str:
        if self._experiment_id is None:
            client, name = self.client, self.experiment
            with self.translate("registry.experiment", name):
                found = client.get_experiment_by_name(name)
                if found is None:
                    # a remote tracking server decides where artifacts go, not this machine
                    remote = urlsplit(self.tracking_uri).scheme.lower() in ("http", "https")
                    location = None if remote else str(self.artifact_root.expanduser().resolve())
                    try:
                        client.create_experiment(name, location)
                    except Exception:  # fine if another process created it meanwhile
                        if client.get_experiment_by_name(name) is None:
                            raise
                    found = client.get_experiment_by_name(name)
            if found is None or found.lifecycle_stage != "active":
                fix = "restore the deleted experiment in MLflow or choose another name"
                raise ConfigError("registry.experiment", name, fix)
            self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    @contextmanager
    def start_run(
        self, run_name: str, tags: Mapping[str, str] | None = None
    ) -> Iterator[TrainingRun]:
        """Open a run in the experiment; it ends FINISHED, or FAILED if the block raises."""
        experiment_id = self._experiment()
        with self.translate("run_name", run_name):
            run = self.client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
        training = TrainingRun(self, run.info.run_id)
        try:
            yield training
        except BaseException as exc:
            status = "FAILED" if isinstance(exc, Exception) else "KILLED"
            with suppress(Exception):
                self.client.set_terminated(run.info.run_id, status)
            raise
        with self.translate("run_id", run.info.run_id):
            self.client.set_terminated(run.info.run_id, "FINISHED")

    def run(self, run_id: str) -> RunInfo:
        """A run's parameters, metrics, tags and artifact location."""
        with self.translate("run_id", run_id, _NO_RUN):
            run = self.client.get_run(run_id)
        return RunInfo(
            run_id=run.info.run_id,
            params=dict(run.data.params),
            metrics={k: float(v) for k, v in run.data.metrics.items()},
            tags=dict(run.data.tags),
            artifact_uri=str(run.info.artifact_uri),
            start_time=_ms_to_datetime(run.info.start_time),
        )

    def download_artifacts(self, run_id: str, artifact_path: str, dst: Path) -> Path:
        """Copy a run's artifact (file or directory) into ``dst``; return the local path."""
        dst = Path(dst)
        dst.mkdir(parents=True, exist_ok=True)
        artifacts = mlflow_module("mlflow.artifacts")
        self.run(run_id)  # a clear NotFoundError for an unknown run
        with self.translate("artifact_path", artifact_path, _NO_ARTIFACT):
            try:
                local = artifacts.download_artifacts(
                    run_id=run_id,
                    artifact_path=artifact_path,
                    dst_path=str(dst),
                    tracking_uri=self.tracking_uri,
                )
            except OSError as exc:
                raise NotFoundError("artifact_path", artifact_path, _NO_ARTIFACT) from exc
        return Path(local)

    # -- model versions and aliases ------------------------------------------------

    def register(self, model_uri: str, run_id: str, tags: Mapping[str, str] | None = None) -> int:
        """Register the model at ``model_uri`` (from :meth:`TrainingRun.log_model`)."""
        source = model_uri
        if model_uri.startswith("runs:/"):
            uri_run, _, path = model_uri.removeprefix("runs:/").partition("/")
            if uri_run != run_id:
                raise ConfigError("model_uri", model_uri, f"use a model logged in run {run_id}")
            source = f"{self.run(run_id).artifact_uri.rstrip('/')}/{path}"
        client = self.client
        with self.translate("model_name", self.model_name):
            try:
                client.get_registered_model(self.model_name)
            except Exception as exc:
                if str(getattr(exc, "error_code", "")) not in _NOT_FOUND:
                    raise
                with suppress(Exception):  # another process may create it meanwhile
                    client.create_registered_model(self.model_name)
        with self.translate("model_uri", model_uri):
            created = client.create_model_version(
                self.model_name, source, run_id=run_id, tags=dict(tags or {})
            )
        return int(created.version)

    def set_alias(self, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (the version must exist)."""
        self.version(version)
        with self.translate("alias", alias):
            self.client.set_registered_model_alias(self.model_name, alias, str(version))

    def delete_alias(self, alias: str) -> None:
        """Remove ``alias``; nothing happens when it is not set."""
        if alias not in self.aliases():
            return
        with self.translate("alias", alias), suppress(NotFoundError):
            self.client.delete_registered_model_alias(self.model_name, alias)

    def alias_version(self, alias: str) -> int | None:
        """The version ``alias`` points at, or ``None``."""
        return self.aliases().get(alias)

    def aliases(self) -> dict[str, int]:
        """Every alias of the model and its version (empty before the first register)."""
        try:
            with self.translate("model_name", self.model_name):
                model = self.client.get_registered_model(self.model_name)
        except NotFoundError:
            return {}
        return {str(alias): int(version) for alias, version in model.aliases.items()}

    def version(self, version: int) -> ModelVersionInfo:
        """One model version; :class:`NotFoundError` when it does not exist."""
        label = f"{self.model_name} v{version}"
        with self.translate("model version", label, _NO_VERSION):
            found = self.client.get_model_version(self.model_name, str(version))
        return self._info(found, self.aliases())

    def versions(self) -> list[ModelVersionInfo]:
        """Every version of the model, newest first."""
        aliases = self.aliases()
        name = self.model_name.replace("'", "\\'")
        found: list[ModelVersion] = []
        token: str | None = None
        with self.translate("model_name", self.model_name):
            while True:
                page = self.client.search_model_versions(f"name = '{name}'", page_token=token)
                found.extend(page)
                token = page.token
                if not token:
                    break
        infos = [self._info(item, aliases) for item in found]
        return sorted(infos, key=lambda info: info.version, reverse=True)

    @staticmethod
    def _info(found: ModelVersion, aliases: Mapping[str, int]) -> ModelVersionInfo:
        number = int(found.version)
        return ModelVersionInfo(
            version=number,
            run_id=str(found.run_id or ""),
            source=str(found.source or ""),
            created_at=_ms_to_datetime(found.creation_timestamp),
            tags={str(k): str(v) for k, v in (found.tags or {}).items()},
            aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
        )

    def model_uri(self, version: int) -> str:
        """The ``models:/`` URI of a version."""
        return f"models:/{self.model_name}/{int(version)}"

    def load_model(self, version: int) -> object:
        """Load a version in its native flavour (a scikit-learn estimator or a Booster)."""
        label = f"{self.model_name} v{version}"
        with self.translate("model version", label, _NO_VERSION):
            source = self.client.get_model_version_download_uri(self.model_name, str(version))
        artifacts = mlflow_module("mlflow.artifacts")
        with tempfile.TemporaryDirectory(prefix="steadyml-load-") as tmp:
            with self.translate("model version", label):
                local = artifacts.download_artifacts(
                    artifact_uri=source, dst_path=tmp, tracking_uri=self.tracking_uri
                )
            flavors = mlflow_module("mlflow.models").Model.load(local).flavors
            for flavor in ("sklearn", "lightgbm"):
                if flavor in flavors:
                    with self.translate("model version", label):
                        return mlflow_module(f"mlflow.{flavor}").load_model(local)
        raise ConfigError(
            "model version", label, f"flavours {sorted(flavors)} are not sklearn or lightgbm"
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or getattr(exc, "message", "") or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def _is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the store cannot be reached."""
    import requests
    from sqlalchemy import exc as sa_exc

    unreachable = (
        ConnectionError,
        TimeoutError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
    )
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, unreachable):
            return True
        code = str(getattr(seen, "error_code", ""))
        text = str(getattr(seen, "message", ""))
        if code == "TEMPORARILY_UNAVAILABLE" or "Max retries exceeded" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
