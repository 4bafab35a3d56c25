"""From the spec's ``sinks:`` to a running :class:`~steadyml.adapters.sinks.Dispatcher`.

Secrets are read here, once, from the environment variables the spec names
(``url_env``, ``routing_key_env``); a missing variable refuses to start with the key
named. Nothing here logs a URL or a key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from steadyml.adapters.sinks import (
    EVENTS_URL,
    Dispatcher,
    JsonLogSink,
    PagerDutySink,
    RetryPolicy,
    Route,
    Sink,
    SlackSink,
    WebhookSink,
)
from steadyml.core.clock import Clock
from steadyml.core.durations import parse_duration
from steadyml.errors import ConfigError
from steadyml.spec import ServiceSpec, SinkSpec

__all__ = ["build_dispatcher", "build_sink", "sink_names"]


def sink_names(specs: tuple[SinkSpec, ...]) -> list[str]:
    """Each sink's name: its ``name``, else its kind (``slack``, ``slack-2`` for a second)."""
    names: list[str] = []
    for item in specs:
        name = item.name or item.kind
        if item.name is None and name in names:
            name = f"{item.kind}-{sum(1 for n in names if n.startswith(item.kind)) + 1}"
        names.append(name)
    return names


def _secret(
    item: SinkSpec,
    index: int,
    *,
    value: str | None,
    env_key: str,
    env_name: str | None,
    environ: Mapping[str, str],
) -> str | None:
    if env_name is None:
        return value
    found = environ.get(env_name, "").strip()
    if not found:
        raise ConfigError(
            f"sinks.{index}.{env_key}",
            env_name,
            f"environment variable {env_name} is not set; export it or remove the {item.kind} sink",
        )
    if env_key == "url_env" and not found.startswith(("http://", "https://")):
        raise ConfigError(
            f"sinks.{index}.{env_key}",
            env_name,
            f"{env_name} must hold an http:// or https:// URL",  # the value is not shown
        )
    return found


def build_sink(
    spec: ServiceSpec,
    index: int,
    *,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> Sink:
    """The sink of ``spec.sinks[index]``.

    Raises
    ------
    ConfigError
        When a named environment variable is missing or does not hold a URL.
    """
    item = spec.sinks[index]
    environ = os.environ if environ is None else environ
    name = name or sink_names(spec.sinks)[index]
    timeout = parse_duration(item.timeout).total_seconds()
    if item.kind == "log":
        path = None if item.path is None else spec.resolve(item.path)
        return JsonLogSink(path, name=name)
    url = _secret(
        item, index, value=item.url, env_key="url_env", env_name=item.url_env, environ=environ
    )
    if item.kind == "pagerduty":
        key = _secret(
            item,
            index,
            value=item.routing_key,
            env_key="routing_key_env",
            env_name=item.routing_key_env,
            environ=environ,
        )
        return PagerDutySink(
            key or "", url=url or EVENTS_URL, timeout=timeout, name=name, clock=clock
        )
    if item.kind == "slack":
        return SlackSink(url or "", timeout=timeout, name=name, clock=clock)
    return WebhookSink(url or "", timeout=timeout, name=name, clock=clock)


def build_dispatcher(
    spec: ServiceSpec,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    policy: RetryPolicy | None = None,
) -> Dispatcher:
    """A dispatcher over every sink of ``spec.sinks`` (none: it accepts and drops nothing).

    Parameters
    ----------
    environ
        Where ``url_env`` / ``routing_key_env`` are looked up (``os.environ`` by default).
    policy
        Backoff delays; each sink's ``max_retries`` comes from its spec.

    Raises
    ------
    ConfigError
        When a secret's environment variable is missing; the key is named.
    """
    base = policy or RetryPolicy()
    names = sink_names(spec.sinks)
    routes: list[Route] = []
    try:
        for index, item in enumerate(spec.sinks):
            sink = build_sink(spec, index, name=names[index], environ=environ, clock=clock)
            routes.append(
                Route(
                    sink,
                    min_severity=item.min_severity,
                    events=frozenset(item.events),
                    policy=RetryPolicy(
                        max_retries=item.max_retries,
                        base_delay=base.base_delay,
                        max_delay=base.max_delay,
                        max_retry_after=base.max_retry_after,
                    ),
                    queue_size=item.queue_size,
                )
            )
    except ConfigError:
        for route in routes:
            route.sink.close()
        raise
    return Dispatcher(routes)
