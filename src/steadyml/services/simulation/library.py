"""The incident library: every type by name, and the checks a scenario's incidents pass."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from steadyml.core.durations import parse_duration
from steadyml.services.simulation.data_incidents import (
    CategoryShift,
    CovariateShift,
    NullFeature,
    RenamedFeature,
    TrainingServingSkew,
    TypeChange,
    UnitChange,
    UnseenCategories,
)
from steadyml.services.simulation.incident import Incident
from steadyml.services.simulation.scenario import Scenario, ScenarioError
from steadyml.services.simulation.system_incidents import (
    BadVersion,
    Clean,
    ConceptDrift,
    DelayedLabels,
    LabelShift,
    LatencySpike,
    MissingLabels,
    NanOutputs,
    TrafficSurge,
)

__all__ = ["INCIDENT_TYPES", "build_incidents", "check_features", "check_incidents"]

INCIDENT_TYPES: dict[str, type[Incident]] = {
    kind.type: kind
    for kind in (
        CovariateShift, CategoryShift, NullFeature, RenamedFeature, TypeChange, UnitChange,
        UnseenCategories, NanOutputs, BadVersion, LatencySpike, TrafficSurge, LabelShift,
        ConceptDrift, TrainingServingSkew, DelayedLabels, MissingLabels, Clean,
    )
}  # fmt: skip
_NEEDS_FEATURE = {"numeric", "categorical"}


def check_incidents(scenario: Scenario) -> None:
    """Check types, parameters, features (present when needed) and timing.

    Raises
    ------
    ScenarioError
        Naming the key (``incidents.2.params.share``), the value and the fix.
    """
    for i, spec in enumerate(scenario.incidents):
        key = f"incidents.{i}"
        kind = INCIDENT_TYPES.get(spec.type)
        if kind is None:
            raise ScenarioError(f"{key}.type", spec.type, f"use one of {sorted(INCIDENT_TYPES)}")
        try:
            kind.Parameters.model_validate(spec.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            names = sorted(kind.Parameters.model_fields)
            message = first["msg"]
            if first["type"] == "extra_forbidden":
                message = f"unknown parameter of {spec.type}; its parameters are {names}"
            raise ScenarioError(f"{key}.params.{where}", first.get("input"), message) from None
        if kind.feature_kind in _NEEDS_FEATURE and spec.feature is None:
            raise ScenarioError(
                f"{key}.feature", None, f"{spec.type} needs a {kind.feature_kind} feature"
            )
        if kind.by_feature and spec.feature is None:
            raise ScenarioError(f"{key}.feature", None, f"{spec.type} needs the feature it hits")
        if kind.feature_kind is None and spec.feature is not None:
            raise ScenarioError(
                f"{key}.feature", spec.feature, f"{spec.type} acts on no feature; remove the key"
            )
        if spec.onset_delta >= scenario.length:
            raise ScenarioError(
                f"{key}.onset",
                spec.onset,
                f"the onset is at or beyond the end ({scenario.duration}); give an earlier one",
            )


def check_features(scenario: Scenario, kinds: Mapping[str, str]) -> None:
    """Check that every incident's feature exists, with the kind its type needs.

    Parameters
    ----------
    kinds
        ``{feature: "numeric" | "categorical"}`` of the replayed service.

    Raises
    ------
    ScenarioError
        For a feature not in the data, or of the wrong kind.
    """
    for i, spec in enumerate(scenario.incidents):
        if spec.feature is None:
            continue
        key = f"incidents.{i}.feature"
        if spec.feature not in kinds:
            raise ScenarioError(
                key, spec.feature, f"not a feature of the data; use {sorted(kinds)}"
            )
        wanted = INCIDENT_TYPES[spec.type].feature_kind
        if wanted in _NEEDS_FEATURE and kinds[spec.feature] != wanted:
            choices = sorted(name for name, kind in kinds.items() if kind == wanted)
            raise ScenarioError(
                key, spec.feature, f"{spec.type} needs a {wanted} feature, e.g. {choices[:5]}"
            )


def build_incidents(scenario: Scenario, target: str) -> list[Incident]:
    """The incident objects of a checked scenario."""
    built: list[Incident] = []
    for spec in scenario.incidents:
        kind = INCIDENT_TYPES[spec.type]
        onset = scenario.start + spec.onset_delta
        end = None
        if spec.duration is not None:
            end = onset + parse_duration(spec.duration)
        incident = kind(
            spec.label(),
            onset=onset,
            end=end,
            ramp=spec.ramp_delta,
            feature=spec.feature,
            params=kind.Parameters.model_validate(spec.params),
        )
        incident.target = target
        built.append(incident)
    return built
