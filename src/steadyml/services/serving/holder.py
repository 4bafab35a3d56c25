"""The loaded model: champion (and ``previous``), hot-swapped when the alias moves.

:class:`ModelHolder` loads the version under the ``champion`` alias from the registry
(native flavour, through :func:`~steadyml.services.bundles.load_bundle`), warms it up,
and publishes it as :attr:`ModelHolder.current` by a single assignment. A micro-batch
reads :attr:`~ModelHolder.current` once and uses that object to the end, so a swap never
fails a request nor mixes two versions in one response.

The pointer file ``<state>/models/<model>/serving.json`` remembers the last champion
that loaded; when the registry cannot be reached at start-up, the holder loads that
version from the local copy (``<state>/models/<model>/v<N>/``) and keeps polling.
Models are only ever loaded from the registry or that local cache.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from steadyml.adapters.model_files import local_copy
from steadyml.adapters.predlog import prediction_schema
from steadyml.core.clock import Clock, SystemClock
from steadyml.core.contract import Contract
from steadyml.core.predictor import Predictor
from steadyml.errors import RegistryUnavailable, SteadyError
from steadyml.services.bundles import ModelBundle, load_bundle, read_bundle_dir
from steadyml.services.serving.matrix import MatrixEncoder
from steadyml.spec import Task

if TYPE_CHECKING:  # the workspace module imports the metadata store (slow to import)
    from steadyml.services.workspace import Workspace

__all__ = ["POINTER_FILE", "LoadedModel", "ModelHolder", "read_pointer", "write_pointer"]

_log = logging.getLogger("steadyml.serving")

POINTER_FILE = "serving.json"
_STRING_TYPES = (pa.large_string(), pa.string_view())


def _log_type(kind: pa.DataType) -> pa.DataType:
    return pa.string() if kind in _STRING_TYPES else kind


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to serve, with what the server derives from it once.

    Attributes
    ----------
    bundle
        The version's predictor, contract and metadata.
    log_schema
        The prediction-log schema of this version (inputs typed by its contract).
    features_type
        The ``features`` struct logged for this version; None when the transform is the
        identity (the features are the inputs) or could not be derived.
    source
        ``registry`` or ``local copy``.
    loaded_at
        When it was loaded (event time of the serving clock).
    columns
        The contract's column names.
    matrix_encoder
        The encoder with its expressions cached (see :meth:`encode`).
    """

    bundle: ModelBundle
    log_schema: pa.Schema
    features_type: pa.StructType | None
    source: str
    loaded_at: datetime
    columns: frozenset[str] = frozenset()
    matrix_encoder: MatrixEncoder | None = None

    @property
    def version(self) -> int:
        """The registry version."""
        return self.bundle.version

    @property
    def contract(self) -> Contract:
        """The contract requests are validated with."""
        return self.bundle.contract

    @property
    def predictor(self) -> Predictor:
        """Transform, encoder and estimator."""
        return self.bundle.predictor

    @property
    def task(self) -> Task:
        """What the model predicts."""
        return self.bundle.task

    def encode(self, transformed: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The model-input matrix of transformed features (as ``encoder.transform``)."""
        fast = self.matrix_encoder
        if fast is None:
            return self.predictor.encoder.transform(transformed)
        return fast(transformed)

    @property
    def inputs_type(self) -> pa.StructType:
        """The ``inputs`` struct of the log schema."""
        kind: pa.StructType = self.log_schema.field("inputs").type
        return kind

    @classmethod
    def build(cls, bundle: ModelBundle, source: str, loaded_at: datetime) -> LoadedModel:
        """Derive the log schema and warm the model up on a few hold-out rows."""
        kinds = {rule.name: rule.kind for rule in bundle.contract.columns}
        predictor = bundle.predictor
        sample = _sample(bundle)
        features: dict[str, pa.DataType] | None = None
        transformed = None
        if sample is not None:
            try:
                transformed = predictor.transform.apply(sample)
                derived = transformed.select(predictor.encoder.columns).to_arrow().schema
                features = {field.name: _log_type(field.type) for field in derived}
            except (SteadyError, pl.exceptions.PolarsError) as exc:
                _log.warning("v%s: features are not logged (%s)", bundle.version, exc)
            if predictor.transform.is_identity:
                features = None
        if sample is not None:
            try:  # first calls of a model are slow: pay for them before serving
                bundle.predictor.score(sample)
            except Exception as exc:
                _log.warning(
                    "v%s: warm-up failed (%s: %s)", bundle.version, type(exc).__name__, exc
                )
        schema = prediction_schema(kinds, features)
        features_type = schema.field("features").type if features else None
        columns = frozenset(bundle.contract.names)
        encode = MatrixEncoder(predictor.encoder, transformed)
        return cls(bundle, schema, features_type, source, loaded_at, columns, encode)


def _sample(bundle: ModelBundle, rows: int = 8) -> pl.DataFrame | None:
    try:
        holdout = bundle.holdout()
    except SteadyError:
        return None
    names = [name for name in bundle.contract.names if name in holdout.columns]
    if len(names) != len(bundle.contract.names) or holdout.height == 0:
        return None
    schema = bundle.contract.polars_schema()
    try:
        return holdout.head(rows).select(pl.col(n).cast(schema[n]) for n in names)
    except pl.exceptions.PolarsError:
        return None


@contextmanager
def _cache_lock(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on a model's cache folder, across processes."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".download.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the lock


def read_pointer(path: Path) -> dict[str, int | None]:
    """The versions remembered in ``serving.json`` (``champion``, ``previous``); {} if none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, int | None] = {}
    for key in ("champion", "previous"):
        value = data.get(key)
        found[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
    return found


def write_pointer(path: Path, champion: int, previous: int | None, when: datetime) -> None:
    """Atomically record the serving versions (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"champion": champion, "previous": previous, "updated_at": when.isoformat()}
    fd, tmp = tempfile.mkstemp(prefix=".serving-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelHolder:
    """Load, hold and hot-swap the serving model of one service.

    Parameters
    ----------
    workspace
        Registry, settings and the local model cache.
    track_previous
        Also load the ``previous`` alias (the ``previous_model`` fallback needs it).
    clock
        The serving clock.
    on_load
        Called with each newly loaded model *before* it is published (the server
        prepares a log writer for its schema there).
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        track_previous: bool = False,
        clock: Clock | None = None,
        on_load: Callable[[LoadedModel], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.track_previous = track_previous
        self.clock = clock or SystemClock()
        self.on_load = on_load or (lambda _model: None)
        self.current: LoadedModel | None = None
        self.previous: LoadedModel | None = None
        self.registry_reachable: bool | None = None
        self.last_error: str | None = None

    @property
    def pointer_path(self) -> Path:
        """``<state>/models/<model>/serving.json``."""
        return self.workspace.model_cache / self.workspace.spec.model_name / POINTER_FILE

    def previous_predictor(self) -> Predictor | None:
        """The ``previous`` version's predictor, for the fallback."""
        previous = self.previous
        return None if previous is None else previous.predictor

    def _wanted(self) -> tuple[int | None, int | None, str]:
        try:
            aliases = self.workspace.registry.aliases()
        except RegistryUnavailable as exc:
            if self.registry_reachable is not False:
                _log.warning("registry unreachable: %s", exc.one_line())
            self.registry_reachable = False
            pointer = read_pointer(self.pointer_path)
            return pointer.get("champion"), pointer.get("previous"), "local copy"
        self.registry_reachable = True
        return aliases.get("champion"), aliases.get("previous"), "registry"

    def _load(self, version: int, source: str) -> LoadedModel:
        cache = self.workspace.model_cache
        if source == "registry":
            # worker processes starting together must not download the same version into
            # the cache at once (one would replace the copy the other is reading)
            with _cache_lock(cache / self.workspace.spec.model_name):
                bundle = load_bundle(self.workspace.registry, cache, version)
        else:
            directory = local_copy(cache, self.workspace.spec.model_name, version)
            if directory is None:
                raise RegistryUnavailable(
                    "model version",
                    version,
                    "the registry is unreachable and there is no local copy of this version; "
                    "restore the registry connection",
                )
            bundle = read_bundle_dir(directory, version)
        return LoadedModel.build(bundle, source, self.clock.now())

    def refresh(self) -> bool:
        """Load what the aliases point at now; True when the champion changed.

        Never raises: a failed load is logged and kept in :attr:`last_error`, and the
        current model keeps serving.
        """
        champion, previous, source = self._wanted()
        changed = False
        try:
            current = self.current
            if champion is not None and (current is None or current.version != champion):
                model = self._load(champion, source)
                self.on_load(model)
                self.current = model  # the atomic swap
                changed = True
                _log.info("serving v%s (from the %s)", champion, source)
            if self.track_previous:
                old = self.previous
                if previous is None:
                    self.previous = None
                elif old is None or old.version != previous:
                    self.previous = self._load(previous, source)
            if source == "registry" and self.current is not None:
                pointer = read_pointer(self.pointer_path)
                wanted = {"champion": self.current.version, "previous": previous}
                if pointer != wanted:
                    write_pointer(
                        self.pointer_path, self.current.version, previous, self.clock.now()
                    )
            self.last_error = None
        except SteadyError as exc:
            self.last_error = exc.one_line()
            _log.warning("model load failed: %s", self.last_error)
        except Exception as exc:  # an unreadable artifact, a broken pickle: keep serving
            self.last_error = f"{type(exc).__name__}: {exc}"
            _log.warning("model load failed: %s", self.last_error)
        return changed

    def status(self) -> dict[str, object]:
        """What is loaded and from where, for readiness and the admin endpoint."""
        current, previous = self.current, self.previous
        return {
            "model": self.workspace.spec.model_name,
            "version": None if current is None else current.version,
            "source": None if current is None else current.source,
            "loaded_at": None if current is None else current.loaded_at.isoformat(),
            "previous_version": None if previous is None else previous.version,
            "registry_reachable": self.registry_reachable,
            "last_error": self.last_error,
        }
