"""The responder: the spec's ``responses:`` policies turned into audited actions.

:class:`Responder` reads incident events after its persisted cursor and, per policy,
switches the service to its fallback, rolls the champion back, retrains (gate first;
promotion only when allowed) or pages the sinks - each at most once per incident,
not again inside its cooldown, audited with the incident id and the evidence, and
undone (fallback mode) when the incident resolves. ``docs/responses.md`` explains it.
"""

from steadyml.services.responder.actions import (
    ACTOR,
    FALLBACK,
    Executors,
    Notifier,
    default_notification,
)
from steadyml.services.responder.policies import ACTIONS, Policy, compile_policies
from steadyml.services.responder.responder import CONSUMER, Responder, RoundReport

__all__ = [
    "ACTIONS",
    "ACTOR",
    "CONSUMER",
    "FALLBACK",
    "Executors",
    "Notifier",
    "Policy",
    "Responder",
    "RoundReport",
    "compile_policies",
    "default_notification",
]
