"""What every view is given: the stores, the settings, and optional registry access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.core.clock import Clock, SystemClock
from steadyml.faces.dashboard.config import DashboardConfig
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.services.workspace import Workspace

__all__ = ["Dashboard", "Page"]


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's state, shared by every request (read-only after start).

    ``workspace`` gives registry access (versions, model cards, lineage, rollback and
    promote) for its own service; ``references`` the reference profiles that feature
    pages compare windows with. Both are optional: without them those parts say so.
    """

    store: Store
    monitor: MonitorStore
    config: DashboardConfig
    workspace: Workspace | None = None
    references: ReferenceProvider | None = None
    clock: Clock = field(default_factory=SystemClock)

    def workspace_for(self, service: str) -> Workspace | None:
        """The workspace when it is ``service``'s, else None."""
        if self.workspace is not None and self.workspace.spec.service == service:
            return self.workspace
        return None


@dataclass
class Page:
    """A rendered page's ingredients: its template, title, values and figures."""

    template: str
    title: str
    context: dict[str, Any]
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: int = 200
