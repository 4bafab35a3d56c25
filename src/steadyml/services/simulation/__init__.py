"""The incident simulator: real data replayed as production traffic, incidents injected.

A :class:`Scenario` (``docs/simulation.md``) names the data, the rate, the label feed
and the incidents; :class:`Simulation` replays it on a simulated clock through the real
server (near incidents) or the real log writer (clean stretches), runs the monitor and
responder as in production, and returns a :class:`SimulationResult`: per incident
detected or not, time-to-detect, alert, triage, root-cause hint, time-to-mitigate and,
with business outcomes (the scenario's ``outcome:``), the KPI per tick and the KPI
impact a mitigation avoided; and false alarms per simulated day.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steadyml.services.simulation.engine import Simulation
    from steadyml.services.simulation.library import (
        INCIDENT_TYPES,
        check_features,
        check_incidents,
    )
    from steadyml.services.simulation.result import Detection, SimulationResult
    from steadyml.services.simulation.scenario import (
        Scenario,
        ScenarioError,
        load_scenario,
        parse_scenario,
    )

#: Where each public name lives. Imported on first use: a simulation's server workers
#: import :mod:`steadyml.services.simulation.server` only, not the engine (0.7 s each).
_HOMES = {
    "Simulation": "engine",
    "INCIDENT_TYPES": "library",
    "check_features": "library",
    "check_incidents": "library",
    "Detection": "result",
    "SimulationResult": "result",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "load_scenario": "scenario",
    "parse_scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "INCIDENT_TYPES",
    "Detection",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationResult",
    "check_features",
    "check_incidents",
    "load_scenario",
    "parse_scenario",
]
