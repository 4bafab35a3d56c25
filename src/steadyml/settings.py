"""Resolved settings: the spec plus environment overrides, computed once.

Environment variables (each overrides the spec):

``STEADYML_STATE_DIR``
    The state directory (default: ``state_dir`` in the spec, ``.steadyml`` beside it).
``STEADYML_TRACKING_URI``
    MLflow tracking/registry URI (default: SQLite file in the state directory).
``STEADYML_STORE_URL``
    SQLAlchemy URL of the metadata store (default: SQLite file in the state directory).
``STEADYML_ACTOR``
    Who is acting, recorded in the audit log (default: the OS user).
``STEADYML_TOKEN``
    Bearer token required by admin and feedback endpoints when set.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from steadyml.spec import ServiceSpec

__all__ = ["Settings"]


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    """Where steadyml keeps its state for one service, and who is acting."""

    state_dir: Path
    tracking_uri: str
    artifact_root: Path
    store_url: str
    actor: str
    token: str | None

    @classmethod
    def resolve(cls, spec: ServiceSpec, environ: Mapping[str, str] | None = None) -> Settings:
        """Combine ``spec`` with environment overrides (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        state_dir = Path(env.get("STEADYML_STATE_DIR") or spec.resolve(spec.state_dir))
        state_dir = state_dir.expanduser().resolve()
        tracking_uri = (
            env.get("STEADYML_TRACKING_URI")
            or spec.registry.tracking_uri
            or _sqlite_url(state_dir / "mlflow.db")
        )
        store_url = (
            env.get("STEADYML_STORE_URL")
            or spec.store.url
            or _sqlite_url(state_dir / "steadyml.db")
        )
        try:
            default_actor = getpass.getuser()
        except (KeyError, OSError):
            default_actor = "unknown"
        return cls(
            state_dir=state_dir,
            tracking_uri=tracking_uri,
            artifact_root=state_dir / "artifacts",
            store_url=store_url,
            actor=env.get("STEADYML_ACTOR") or default_actor,
            token=env.get("STEADYML_TOKEN") or None,
        )

    def ensure_dirs(self) -> None:
        """Create the state and artifact directories."""
        self.artifact_root.mkdir(parents=True, exist_ok=True)
