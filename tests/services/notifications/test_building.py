"""Sinks from the spec: secrets from the environment, filters and retries per sink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from steadyml.adapters.sinks import JsonLogSink, Notification, PagerDutySink, SlackSink
from steadyml.errors import ConfigError, SpecError
from steadyml.services.notifications import build_dispatcher, build_sink, sink_names
from steadyml.spec import ServiceSpec, parse_spec
from tests.adapters.sinks.conftest import T, make_incident
from tests.adapters.sinks.receiver import receiving

BASE: dict[str, Any] = {
    "service": "employment",
    "task": "binary_classification",
    "data": {"source": {"path": "x.parquet"}, "target": "y"},
}


def spec_with(sinks: list[dict[str, Any]], base_dir: Path | None = None) -> ServiceSpec:
    return parse_spec({**BASE, "sinks": sinks}, base_dir)


def test_every_kind_is_built_with_secrets_from_the_environment(tmp_path: Path) -> None:
    spec = spec_with(
        [
            {"kind": "log", "path": "alerts.jsonl"},
            {"kind": "slack", "url_env": "SLACK_HOOK"},
            {"kind": "pagerduty", "routing_key_env": "PD_KEY"},
            {"kind": "webhook", "name": "ops", "url": "http://127.0.0.1:9/x"},
            {"kind": "slack", "url_env": "SLACK_HOOK"},
        ],
        tmp_path,
    )
    env = {"SLACK_HOOK": "https://hooks.example.com/services/SECRET", "PD_KEY": "k3y"}
    assert sink_names(spec.sinks) == ["log", "slack", "pagerduty", "ops", "slack-2"]
    log = build_sink(spec, 0, environ=env)
    assert isinstance(log, JsonLogSink) and log.path == tmp_path / "alerts.jsonl"
    assert isinstance(build_sink(spec, 1, environ=env), SlackSink)
    pager = build_sink(spec, 2, environ=env)
    assert isinstance(pager, PagerDutySink)
    assert "SECRET" not in repr(build_sink(spec, 1, environ=env)) and "k3y" not in repr(pager)
    dispatcher = build_dispatcher(spec, environ=env)
    assert dispatcher.names == ["log", "slack", "pagerduty", "ops", "slack-2"]
    dispatcher.close(timeout=0.0)


@pytest.mark.parametrize(
    ("sink", "env", "key"),
    [
        ({"kind": "slack", "url_env": "SLACK_HOOK"}, {}, "sinks.0.url_env"),
        ({"kind": "slack", "url_env": "SLACK_HOOK"}, {"SLACK_HOOK": "  "}, "sinks.0.url_env"),
        ({"kind": "webhook", "url_env": "HOOK"}, {"HOOK": "not a url"}, "sinks.0.url_env"),
        ({"kind": "pagerduty", "routing_key_env": "PD"}, {}, "sinks.0.routing_key_env"),
    ],
)
def test_a_missing_secret_refuses_to_start_naming_the_key(
    sink: dict[str, Any], env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_dispatcher(spec_with([sink]), environ=env)
    assert caught.value.field == key
    assert "not a url" not in caught.value.one_line()  # the value of a secret is not shown


@pytest.mark.parametrize(
    ("sink", "key", "text"),
    [
        ({"kind": "teams", "url": "http://x"}, "sinks.0.kind", "'log', 'webhook'"),
        ({"kind": "webhook"}, "sinks.0", "needs 'url_env'"),
        ({"kind": "slack", "url": "ftp://x"}, "sinks.0.url", "http"),
        ({"kind": "slack", "url": "http://x", "url_env": "A"}, "sinks.0", "not both"),
        ({"kind": "webhook", "url_env": "my-hook"}, "sinks.0.url_env", "environment variable"),
        ({"kind": "pagerduty"}, "sinks.0", "routing_key_env"),
        ({"kind": "log", "url": "http://x"}, "sinks.0", "drop 'url'"),
        ({"kind": "slack", "url_env": "A", "path": "x"}, "sinks.0", "log sinks only"),
        ({"kind": "log", "min_severity": "P5"}, "sinks.0.min_severity", "P0"),
        ({"kind": "log", "events": ["paged"]}, "sinks.0.events.0", "opened"),
        ({"kind": "log", "events": []}, "sinks.0", "at least one event"),
        ({"kind": "log", "timeout": "soon"}, "sinks.0.timeout", "not a duration"),
        ({"kind": "log", "timeout": "1h"}, "sinks.0.timeout", "too long"),
        ({"kind": "log", "max_retries": -1}, "sinks.0.max_retries", "greater than or equal"),
        ({"kind": "log", "retries": 3}, "sinks.0.retries", "did you mean 'max_retries'"),
    ],
)
def test_bad_sink_specs_are_refused_at_load_with_the_key(
    sink: dict[str, Any], key: str, text: str
) -> None:
    with pytest.raises(SpecError) as caught:
        spec_with([sink])
    assert caught.value.field == key, caught.value.one_line()
    assert text in caught.value.fix


def test_filters_and_retries_come_from_the_spec(tmp_path: Path) -> None:
    with receiving() as receiver:
        spec = spec_with(
            [
                {"kind": "webhook", "url_env": "HOOK", "min_severity": "P1",
                 "events": ["opened"], "max_retries": 1, "timeout": "2s"},
                {"kind": "log", "path": "all.jsonl",
                 "events": ["opened", "escalated", "updated", "resolved", "action"]},
            ],
            tmp_path,
        )  # fmt: skip
        receiver.answer(status=500)
        dispatcher = build_dispatcher(spec, environ={"HOOK": receiver.url})
        dispatcher.dispatch(Notification("opened", make_incident("P2"), T))  # too mild
        dispatcher.dispatch(Notification("updated", make_incident("P0"), T))  # not wanted
        dispatcher.dispatch(Notification("opened", make_incident("P0"), T))
        assert dispatcher.close(timeout=30.0)
        assert len(receiver.received) == 2  # one attempt + max_retries=1
        stats = dispatcher.stats()
        assert (stats["webhook"].failed, stats["webhook"].retried) == (1, 1)
        assert stats["log"].sent == 3
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["opened", "updated", "opened"]


def test_no_sinks_is_a_dispatcher_that_sends_nowhere() -> None:
    dispatcher = build_dispatcher(parse_spec(BASE), environ={})
    assert dispatcher.dispatch(Notification("opened", make_incident(), T)) == 0
    assert dispatcher.close() and dispatcher.stats() == {}
