"""Lineage of a model version: data, code, spec, metrics, gate result and alias history."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from steadyml.errors import NotFoundError
from steadyml.services.workspace import Workspace

__all__ = ["Lineage", "lineage"]


@dataclass(frozen=True)
class Lineage:
    """Everything known about where a version came from and where it went."""

    version: int
    run_id: str
    created_at: str
    aliases: tuple[str, ...]
    data_fingerprint: str
    git_commit: str
    reason: str
    metrics: dict[str, float]
    params: dict[str, str]
    spec: dict[str, Any]
    gate: dict[str, Any] | None
    alias_history: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready lineage."""
        return dict(self.__dict__)


def _spec_of(workspace: Workspace, run_id: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="steadyml-lineage-") as tmp:
        try:
            path = workspace.registry.download_artifacts(run_id, "steadyml/spec.yaml", Path(tmp))
        except NotFoundError:
            return {}
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def lineage(workspace: Workspace, version: int) -> Lineage:
    """Collect the lineage of ``version`` from MLflow and the store."""
    registry = workspace.registry
    registry.ping()
    info = registry.version(version)
    run = registry.run(info.run_id)
    service = workspace.spec.service
    gate = workspace.store.latest_gate_result(service, version)
    history = [
        {
            "at": move.at.isoformat(),
            "alias": move.alias,
            "action": move.action,
            "from": move.previous_version,
            "to": move.version,
            "actor": move.actor,
            "reason": move.reason,
            "gate_passed": move.gate_passed,
        }
        for move in workspace.store.alias_history(service)
        if version in (move.version, move.previous_version)
    ]
    return Lineage(
        version=version,
        run_id=info.run_id,
        created_at=info.created_at.isoformat(),
        aliases=info.aliases,
        data_fingerprint=run.tags.get("steadyml.data_fingerprint", "unknown"),
        git_commit=run.tags.get("steadyml.git_commit", "unknown"),
        reason=run.tags.get("steadyml.reason", ""),
        metrics=dict(sorted(run.metrics.items())),
        params=dict(sorted(run.params.items())),
        spec=_spec_of(workspace, info.run_id),
        gate=None if gate is None else {"passed": gate.passed, **gate.report},
        alias_history=history,
    )
