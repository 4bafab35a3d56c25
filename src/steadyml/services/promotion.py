"""Alias moves: promote the candidate, roll back to the previous champion.

Every move is recorded in the store (who, when, why, gate result), so "which version was
serving at time T" is answerable, and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steadyml.errors import PromotionError
from steadyml.services.workspace import Workspace

__all__ = ["AliasChange", "promote", "rollback"]


@dataclass(frozen=True)
class AliasChange:
    """The result of a promote or rollback."""

    action: str
    champion: int
    previous: int | None
    replaced: int | None
    gate_passed: bool | None
    reason: str


def _move(
    workspace: Workspace,
    *,
    alias: str,
    version: int | None,
    old: int | None,
    action: str,
    reason: str,
    gate_passed: bool | None,
    evidence: dict[str, Any],
    at: datetime | None = None,
) -> None:
    registry = workspace.registry
    if version is None:
        registry.delete_alias(alias)
    else:
        registry.set_alias(alias, version)
    workspace.store.record_alias_move(
        service=workspace.spec.service,
        model_name=workspace.spec.model_name,
        alias=alias,
        version=version,
        previous_version=old,
        action=action,
        actor=workspace.settings.actor,
        reason=reason,
        gate_passed=gate_passed,
        evidence=evidence,
        at=at,
    )


def promote(
    workspace: Workspace,
    *,
    force: bool = False,
    reason: str = "",
    actor: str | None = None,
    at: datetime | None = None,
) -> AliasChange:
    """Make the candidate the champion; the old champion becomes ``previous``.

    Only after a passing gate for this candidate, unless ``force`` with a ``reason``.
    ``at`` stamps the alias moves and the audit entry (now by default; a responder on a
    simulated clock passes its time).
    """
    registry = workspace.registry
    registry.ping()
    candidate = registry.alias_version("candidate")
    if candidate is None:
        raise PromotionError(
            "candidate", fix="there is no candidate to promote; run 'steadyml train' first"
        )
    if force and not reason.strip():
        raise PromotionError("--reason", reason, 'a forced promotion needs --reason "why"')
    champion = registry.alias_version("champion")
    if champion == candidate:
        raise PromotionError("candidate", candidate, "this version is already the champion")
    gate = workspace.store.latest_gate_result(workspace.spec.service, candidate)
    gate_passed = None if gate is None else gate.passed
    if not force:
        if gate is None:
            raise PromotionError(
                "candidate",
                candidate,
                "it has not been gated; run 'steadyml gate' (or --force --reason \"why\")",
            )
        if gate.champion_version != champion:
            raise PromotionError(
                "candidate",
                candidate,
                f"its gate compared it with v{gate.champion_version}, but the champion is now "
                f"v{champion}; run 'steadyml gate' again",
            )
        if not gate.passed:
            raise PromotionError(
                "candidate",
                candidate,
                'its gate failed; fix the model or promote with --force --reason "why"',
            )
    action = "force-promote" if force else "promote"
    why = reason or "gate passed"
    evidence: dict[str, Any] = {"gate_passed": gate_passed, "forced": force}
    if actor is not None:
        evidence["requested_by"] = actor
    moves = [("champion", candidate, champion), ("candidate", None, candidate)]
    if champion is not None:
        moves.insert(0, ("previous", champion, registry.alias_version("previous")))
    for alias, version, old in moves:
        _move(
            workspace,
            alias=alias,
            version=version,
            old=old,
            action=action,
            reason=why,
            gate_passed=gate_passed,
            evidence=evidence,
            at=at,
        )
    workspace.store.record_action(
        service=workspace.spec.service,
        action=action,
        actor=actor or workspace.settings.actor,
        reason=why,
        target=f"champion v{champion} -> v{candidate}",
        evidence=evidence,
        at=at,
    )
    return AliasChange(action, candidate, champion, champion, gate_passed, why)


def rollback(
    workspace: Workspace,
    *,
    reason: str = "",
    actor: str | None = None,
    incident_id: int | None = None,
    at: datetime | None = None,
) -> AliasChange:
    """Make ``previous`` the champion again; the rolled-back version keeps no alias.

    ``at`` stamps the alias moves and the audit entry (now by default).
    """
    registry = workspace.registry
    registry.ping()
    previous = registry.alias_version("previous")
    if previous is None:
        raise PromotionError("previous", fix="there is no previous champion to roll back to")
    champion = registry.alias_version("champion")
    why = reason or "rollback"
    evidence: dict[str, Any] = {"rolled_back": champion}
    _move(
        workspace,
        alias="champion",
        version=previous,
        old=champion,
        action="rollback",
        reason=why,
        gate_passed=None,
        evidence=evidence,
        at=at,
    )
    _move(
        workspace,
        alias="previous",
        version=None,
        old=previous,
        action="rollback",
        reason=why,
        gate_passed=None,
        evidence=evidence,
        at=at,
    )
    workspace.store.record_action(
        service=workspace.spec.service,
        action="rollback",
        actor=actor or workspace.settings.actor,
        reason=why,
        target=f"champion v{champion} -> v{previous}",
        incident_id=incident_id,
        evidence=evidence,
        at=at,
    )
    return AliasChange("rollback", previous, None, champion, None, why)
