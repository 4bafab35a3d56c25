"""One service's working context: resolved settings, the MLflow registry and the store."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from steadyml.adapters.registry import Registry
from steadyml.adapters.store import Store
from steadyml.settings import Settings
from steadyml.spec import ServiceSpec

__all__ = ["Workspace"]


class Workspace:
    """Settings, registry and store for one service, opened lazily and closed together.

    Examples
    --------
    >>> # with Workspace.open(spec) as ws: ws.registry.aliases()
    """

    def __init__(self, spec: ServiceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self._registry: Registry | None = None
        self._store: Store | None = None

    @classmethod
    def open(cls, spec: ServiceSpec, environ: Mapping[str, str] | None = None) -> Workspace:
        """Resolve settings (spec + environment) and create the state directory."""
        settings = Settings.resolve(spec, environ)
        settings.ensure_dirs()
        return cls(spec, settings)

    @property
    def registry(self) -> Registry:
        """The MLflow registry of this service's model."""
        if self._registry is None:
            self._registry = Registry(
                tracking_uri=self.settings.tracking_uri,
                model_name=self.spec.model_name,
                experiment=self.spec.registry.experiment or self.spec.service,
                artifact_root=self.settings.artifact_root,
            )
        return self._registry

    @property
    def store(self) -> Store:
        """The metadata store (alias history, audit log, gate results, monitoring)."""
        if self._store is None:
            self._store = Store.open(self.settings.store_url)
        return self._store

    @property
    def model_cache(self) -> Path:
        """Local copies of model versions (the last-good cache)."""
        return self.settings.state_dir / "models"

    @property
    def reports_dir(self) -> Path:
        """Where gate, drift and simulation reports are written."""
        path = self.settings.state_dir / "reports"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        """Close the store connection pool."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
