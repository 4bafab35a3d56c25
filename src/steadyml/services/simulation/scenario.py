"""The scenario file: what traffic to replay, for how long, and which incidents to inject.

A scenario is parsed once into frozen objects and checked *before anything starts*:
an unknown incident type, a feature the data does not have, an onset beyond the end, a
negative rate — each is refused with the key (``incidents.0.feature``), the value and
the fix. ``docs/simulation.md`` documents every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from steadyml.core.durations import parse_duration
from steadyml.errors import SteadyError

__all__ = [
    "DEFAULT_RATE",
    "DataSection",
    "HttpSection",
    "IncidentSpec",
    "LabelSection",
    "OutcomeSection",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
]

DEFAULT_RATE = 2_300_000.0  # requests per simulated day
_ZERO = re.compile(r"^0+(?:\.0*)?(?:ms|s|m|min|h|d|w)?$")


class ScenarioError(SteadyError):
    """A scenario file is missing, unreadable or invalid."""

    kind = "scenario error"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class DataSection(_Frozen):
    """Which data is replayed, through which service."""

    spec: str | None = Field(
        None, description="a steadyml.yaml with a promoted champion; default: the census demo"
    )
    path: str | None = Field(
        None, description="Parquet file of rows to replay (features and the target)"
    )
    years: tuple[int, ...] = Field(
        (2016, 2017, 2018), description="census analysis years to replay (bundled data only)"
    )


class LabelSection(_Frozen):
    """How labels come back through ``/feedback``."""

    delay: str = "30m"
    coverage: float = Field(1.0, ge=0, le=1)

    _d = field_validator("delay")(_duration)


class OutcomeSection(_Frozen):
    """Business outcome events (feedback of kind ``outcome``), and where their value comes from.

    Either a ``column`` of the replayed rows carries the outcome value, or the
    ``targeting`` model makes it from the service's answer: an answer of the model at or
    above ``threshold`` makes an offer (a fallback answer makes none), and an offer to a
    person whose label is positive converts with probability ``acceptance`` (drawn with
    the scenario's seed). The value is 1 or 0 per answered request.
    """

    name: str = Field(
        "converted",
        min_length=1,
        max_length=128,
        description="the outcome event name; also the simulated spec's monitors.kpi.name",
    )
    delay: str = Field("1h", description="how long after its request an outcome arrives")
    coverage: float = Field(1.0, gt=0, le=1, description="share of the outcomes that arrive")
    column: str | None = Field(None, description="a column of the replayed rows with the value")
    model: Literal["targeting"] = Field("targeting", description="the outcome model (no column)")
    threshold: float = Field(0.5, ge=0, le=1, description="targeting: offer at this answer")
    acceptance: float = Field(0.3, ge=0, le=1, description="targeting: offers that convert")

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: str) -> str:
        if value.strip().startswith("-"):
            raise ValueError(
                "an outcome cannot arrive before its request; give a delay of 0s or more"
            )
        return value if _ZERO.match(value) else _duration(value)

    @property
    def delay_delta(self) -> timedelta:
        """The delay as a timedelta (zero allowed)."""
        return timedelta(0) if _ZERO.match(self.delay) else parse_duration(self.delay)


class HttpSection(_Frozen):
    """Where the real server is used, and how hard it is driven."""

    enabled: bool = True
    workers: int = Field(2, ge=1, le=16)
    before: str = Field("5m", description="HTTP from this long before each onset")
    after: str = Field("30m", description="... to this long after it")
    always: bool = Field(False, description="replay everything over HTTP")
    batch: int = Field(25, ge=1, le=10_000, description="records per request")
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight")

    _d = field_validator("before", "after")(_duration)


class IncidentSpec(_Frozen):
    """One injected incident."""

    type: str
    onset: str = Field(description="offset from the start, e.g. '2h'")
    duration: str | None = Field(None, description="how long it lasts; default: to the end")
    ramp: str | None = Field(None, description="time to full strength (gradual); default: sudden")
    feature: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, description="a label in the report; default: the type")

    @field_validator("onset")
    @classmethod
    def _onset(cls, value: str) -> str:
        return value if _ZERO.match(value) else _duration(value)

    @field_validator("duration", "ramp")
    @classmethod
    def _optional(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)

    @property
    def onset_delta(self) -> timedelta:
        """The onset as an offset from the scenario start."""
        return timedelta(0) if _ZERO.match(self.onset) else parse_duration(self.onset)

    @property
    def ramp_delta(self) -> timedelta:
        """Time to full strength (zero when sudden)."""
        return timedelta(0) if self.ramp is None else parse_duration(self.ramp)

    def label(self) -> str:
        """The name shown in the report."""
        base = self.name or self.type
        return f"{base} ({self.feature})" if self.feature and not self.name else base


class Scenario(_Frozen):
    """A whole simulation, as written in a scenario file."""

    name: str
    description: str = ""
    data: DataSection = DataSection()
    start: datetime = datetime(2016, 3, 1, tzinfo=UTC)
    duration: str = "2h"
    rate: float = Field(DEFAULT_RATE, gt=0, description="requests per simulated day")
    monitor_every: str = Field("1m", description="a monitor pass every this much event time")
    labels: LabelSection = LabelSection()
    outcome: OutcomeSection | None = Field(
        None, description="business outcome events and the KPI; default: none"
    )
    http: HttpSection = HttpSection()
    seed: int = 0
    incidents: tuple[IncidentSpec, ...] = ()

    _d = field_validator("duration", "monitor_every")(_duration)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def length(self) -> timedelta:
        """The simulated duration."""
        return parse_duration(self.duration)

    @property
    def end(self) -> datetime:
        """Start plus duration."""
        return self.start + self.length

    @property
    def step(self) -> timedelta:
        """The interval between monitor passes."""
        return parse_duration(self.monitor_every)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def _check_outcome(outcome: OutcomeSection | None) -> None:
    """A column and the targeting model's keys exclude each other."""
    if outcome is None or outcome.column is None:
        return
    for key in ("model", "threshold", "acceptance"):
        if key in outcome.model_fields_set:
            raise ScenarioError(
                f"outcome.{key}",
                getattr(outcome, key),
                f"{key} belongs to the targeting model, but outcome.column "
                f"{outcome.column!r} carries the outcome; remove one of the two",
            )


def parse_scenario(raw: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Validate a scenario mapping (as read from YAML).

    Raises
    ------
    ScenarioError
        Naming the first bad key, its value and the fix. Incident types, parameters,
        features and onsets are checked too (see :func:`check_incidents`).
    """
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, raw, "write the scenario as a YAML mapping (name, incidents…)")
    try:
        scenario = Scenario.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _location(first["loc"]) or source
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key; see docs/simulation.md for the keys"
        elif first["type"] == "missing":
            message = "this key is required"
        raise ScenarioError(key, first.get("input"), message) from None
    _check_outcome(scenario.outcome)
    if scenario.rate <= 0:  # pragma: no cover - the model refuses it already
        raise ScenarioError("rate", scenario.rate, "give a positive rate in requests per day")
    from steadyml.services.simulation.library import check_incidents

    check_incidents(scenario)
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        When the file is missing, not YAML, or invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            str(path), fix=f"cannot read it ({exc.strerror}); check the path"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), fix=f"not valid YAML: {exc}") from None
    scenario = parse_scenario(raw, source=str(path))
    if scenario.data.spec is not None and not Path(scenario.data.spec).is_absolute():
        resolved = str((path.parent / scenario.data.spec).resolve())
        scenario = scenario.model_copy(
            update={"data": scenario.data.model_copy(update={"spec": resolved})}
        )
    if scenario.data.path is not None and not Path(scenario.data.path).is_absolute():
        resolved = str((path.parent / scenario.data.path).resolve())
        scenario = scenario.model_copy(
            update={"data": scenario.data.model_copy(update={"path": resolved})}
        )
    return scenario
