"""The incident simulator: real data replayed as production traffic, incidents injected.

A :class:`Scenario` (``docs/simulation.md``) names the data, the rate, the label feed
and the incidents; :class:`Simulation` replays it on a simulated clock through the real
server (near incidents) or the real log writer (clean stretches), runs the monitor and
responder as in production, and returns a :class:`SimulationResult`: per incident
detected or not, time-to-detect, alert, triage, root-cause hint, time-to-mitigate and,
with business outcomes (the scenario's ``outcome:``), the KPI per tick and the KPI
impact a mitigation avoided; and false alarms per simulated day.
"""

from steadyml.services.simulation.engine import Simulation
from steadyml.services.simulation.library import INCIDENT_TYPES, check_features, check_incidents
from steadyml.services.simulation.result import Detection, SimulationResult
from steadyml.services.simulation.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

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
