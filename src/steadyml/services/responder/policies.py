"""Response policies: the spec's ``responses:`` compiled and checked at start-up.

Each policy maps an incident type to one action with a cooldown. A policy naming an
incident type nobody raises, an unknown action, or a cooldown that is not a duration
is refused when the responder (or the server's fast path) starts, with the key named.
No ``responses:`` means no automatic action at all: incidents are still raised and
sent to the sinks, but nothing is switched, rolled back or retrained on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from steadyml.core.durations import parse_duration
from steadyml.core.monitoring import TRIAGE, compile_rules
from steadyml.errors import SpecError
from steadyml.spec import ServiceSpec

__all__ = ["ACTIONS", "Policy", "compile_policies", "incident_types"]

#: Every action the responder knows.
ACTIONS = ("fallback_mode", "rollback", "retrain", "page")


@dataclass(frozen=True)
class Policy:
    """On an incident of type ``on``, take ``action`` (at most once per ``cooldown``)."""

    on: str
    action: str
    cooldown: timedelta
    auto_promote: bool = False

    def cooldown_key(self, service: str) -> str:
        """What the cooldown is counted per: service, incident type and action."""
        return f"{service}/{self.on}/{self.action}"


def incident_types(spec: ServiceSpec) -> set[str]:
    """The incident types the monitor and the fast path can raise for ``spec``."""
    known = set(TRIAGE)
    known.update(rule.incident for rule in compile_rules(spec))
    return known


def compile_policies(spec: ServiceSpec) -> tuple[Policy, ...]:
    """Check and compile ``spec.responses``.

    Raises
    ------
    SpecError
        Naming ``responses.<i>.on``, ``.action`` or ``.cooldown``.
    """
    known = incident_types(spec)
    policies: list[Policy] = []
    for index, item in enumerate(spec.responses):
        key = f"responses.{index}"
        if item.on not in known:
            close = difflib.get_close_matches(item.on, sorted(known), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}"
            raise SpecError(f"{key}.on", item.on, f"unknown incident type; {hint}")
        if item.action not in ACTIONS:
            raise SpecError(f"{key}.action", item.action, f"use one of {', '.join(ACTIONS)}")
        try:
            cooldown = parse_duration(item.cooldown)
        except (ValueError, TypeError) as exc:
            raise SpecError(
                f"{key}.cooldown", item.cooldown, f"give a duration such as '30m' ({exc})"
            ) from None
        if item.auto_promote and item.action != "retrain":
            raise SpecError(
                f"{key}.auto_promote", True, "only a 'retrain' response can promote; remove it"
            )
        policies.append(Policy(item.on, item.action, cooldown, item.auto_promote))
    _no_duplicates(policies)
    return tuple(policies)


def _no_duplicates(policies: Sequence[Policy]) -> None:
    seen: set[tuple[str, str]] = set()
    for index, policy in enumerate(policies):
        pair = (policy.on, policy.action)
        if pair in seen:
            raise SpecError(
                f"responses.{index}", f"{policy.on} -> {policy.action}", "listed twice; keep one"
            )
        seen.add(pair)
