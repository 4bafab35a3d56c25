"""What the metadata store hands back: frozen, plain records (no database session attached)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = ["AliasMove", "AuditEntry", "GateRecord"]


def _plain(record: AliasMove | AuditEntry | GateRecord) -> dict[str, Any]:
    body = asdict(record)
    body["at"] = body["at"].isoformat()
    return body


@dataclass(frozen=True)
class AliasMove:
    """One move of a registry alias: which version it now points at, who moved it and why.

    ``version`` is ``None`` when the alias was removed. ``action`` names what moved it
    (``promote``, ``rollback``, ``register``, ...); ``gate_passed`` is the gate's verdict
    on the new version, ``None`` when no gate ran (a forced move, a rollback).
    """

    id: int
    service: str
    model_name: str
    alias: str
    version: int | None
    previous_version: int | None
    action: str
    actor: str
    reason: str
    gate_passed: bool | None
    evidence: dict[str, Any]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as an ISO 8601 string)."""
        return _plain(self)


@dataclass(frozen=True)
class AuditEntry:
    """One action steadyml or a person took (promote, rollback, retrain, fallback, ...)."""

    id: int
    service: str
    action: str
    actor: str
    reason: str
    target: str
    incident_id: int | None
    evidence: dict[str, Any]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as an ISO 8601 string)."""
        return _plain(self)


@dataclass(frozen=True)
class GateRecord:
    """The verdict of one gate run: a candidate compared with the champion of the time."""

    id: int
    service: str
    candidate_version: int
    champion_version: int | None
    passed: bool
    report: dict[str, Any]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as an ISO 8601 string)."""
        return _plain(self)
