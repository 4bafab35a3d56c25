"""Register and promote the misbehaving model versions some incidents need.

A fault version is the champion's estimator wrapped by a class of
:mod:`~steadyml.services.simulation.faults`, logged to MLflow with the champion's
steadyml artifacts (contract, reference, transforms) and registered — before the run,
so that the onset itself is only an alias move: a forced promotion, audited with the
actor ``simulator``, as an operator's mistake would be.
"""

from __future__ import annotations

from datetime import datetime

from steadyml.adapters.model_files import MODEL_DIR, fetch_version, load_estimator
from steadyml.errors import NotFoundError
from steadyml.services.promotion import promote
from steadyml.services.simulation.faults import WRAPPERS
from steadyml.services.simulation.incident import Fault
from steadyml.services.workspace import Workspace

__all__ = ["ACTOR", "promote_version", "register_fault"]

ACTOR = "simulator"


def register_fault(workspace: Workspace, fault: Fault) -> int:
    """Register the champion wrapped by ``fault`` as a new version (no alias); its number.

    Raises
    ------
    NotFoundError
        When the service has no champion.
    """
    registry = workspace.registry
    champion = registry.alias_version("champion")
    if champion is None:
        raise NotFoundError("champion", None, "train and promote a model before simulating")
    source = fetch_version(workspace.model_cache, registry, champion)
    estimator = WRAPPERS[fault.wrapper](load_estimator(source / MODEL_DIR), **fault.options)
    with registry.start_run(f"simulated fault: {fault.wrapper}") as run:
        run.log_artifacts(source / "steadyml", "steadyml")
        uri = run.log_model(estimator, "sklearn")
        run_id = run.run_id
    return registry.register(uri, run_id, tags={"steadyml.simulated_fault": fault.wrapper})


def promote_version(
    workspace: Workspace, version: int, reason: str, at: datetime | None = None
) -> None:
    """Make ``version`` the champion by a forced, audited promotion (stamped ``at``)."""
    registry = workspace.registry
    if registry.alias_version("champion") == version:
        return
    registry.set_alias("candidate", version)
    promote(workspace, force=True, reason=reason, actor=ACTOR, at=at)
