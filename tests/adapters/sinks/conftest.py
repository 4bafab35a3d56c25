"""Fixtures of the sink tests: a live receiver and an incident to notify about."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from steadyml.core.monitoring import Incident
from tests.adapters.sinks.receiver import Receiver, receiving

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_incident(severity: str = "P1", status: str = "open") -> Incident:
    """A nan-output incident with features, versions, a hint and a runbook."""
    return Incident(
        key="nan_output-abc123",
        service="employment",
        incident_type="nan_output",
        triage="model",
        severity=severity,
        status=status,
        title="nan output on version 3",
        opened_at=T,
        first_seen=T,
        last_seen=T,
        features=("AGEP", "WKHP"),
        versions=("3",),
        hint=({"feature": "AGEP", "effect": 0.31, "importance": 0.4, "since": T.isoformat()},),
        runbook="https://runbooks.example.com/nan <output>",
        resolved_at=None if status == "open" else T,
        id=7,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as made:
        yield made
