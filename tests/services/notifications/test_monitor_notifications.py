"""A real monitor pass: its incident events as notifications, its gauges on a metrics port."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from steadyml.adapters.sinks import Dispatcher, JsonLogSink, RetryPolicy, Route
from steadyml.core.monitoring import IncidentEvent
from steadyml.services.notifications import (
    MonitorGauges,
    kind_of,
    notification_factory,
    notification_for,
    notify,
    serve_metrics,
)
from tests.core.monitoring.helpers import T0
from tests.services.monitoring.conftest import WINDOW, Rig


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url, timeout=5.0).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def one(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def nan_incident(rig: Rig) -> None:
    rig.write(rig.records(0, 2, nan_share=0.1))
    report = rig.run(T0 + 3 * WINDOW)
    assert report.incidents_opened, report.to_dict()


def test_stored_events_become_notifications_in_order(rig: Rig, tmp_path: Path) -> None:
    nan_incident(rig)
    events = rig.monitor_store.events(rig.spec.service)
    assert [e.kind for e in events][:2] == ["opened", "alert"]
    path = tmp_path / "alerts.jsonl"
    everything = frozenset({"opened", "escalated", "updated", "resolved", "action"})
    dispatcher = Dispatcher([Route(JsonLogSink(path), events=everything)])
    assert notify(dispatcher, rig.monitor_store, events) == len(events)
    assert dispatcher.close(timeout=10.0)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in lines] == [kind_of(e.kind) for e in events]
    first = lines[0]
    [incident] = rig.incidents("open")
    assert first["incident"] == incident.key and first["incident_id"] == incident.id
    assert first["type"] == "nan_output" and first["severity"] == incident.severity
    assert lines[1]["detail"]["rule"] == "nan_output" and lines[1]["detail"]["event"] == "alert"


def test_a_responder_action_is_an_action_notification(rig: Rig) -> None:
    nan_incident(rig)
    [incident] = rig.incidents("open")
    event = IncidentEvent(incident.key, "fallback_mode", rig.clock.now(), {"status": "done"})
    made = notification_for(incident, event, link="http://dash/incidents/1")
    assert made.kind == "action" and made.link == "http://dash/incidents/1"
    assert made.detail == {"event": "fallback_mode", "status": "done", "action": "fallback_mode"}
    paged = notification_factory(rig.clock)(incident, "opened")
    assert (paged.kind, paged.at, paged.incident) == ("opened", rig.clock.now(), incident)
    assert notification_factory(rig.clock)(incident, "rollback").detail["action"] == "rollback"


def test_gauges_show_the_latest_complete_window_on_a_metrics_port(rig: Rig) -> None:
    nan_incident(rig)
    service, version = rig.spec.service, rig.version
    dispatcher = Dispatcher([Route(JsonLogSink(name="log"), policy=RetryPolicy(0))])
    gauges = MonitorGauges(rig.spec, rig.monitor_store, clock=rig.clock, dispatcher=dispatcher)
    server = serve_metrics(gauges, 0)
    try:
        before = scrape(server.url)
        assert not [k for k in before if k[0] == "steadyml_monitor_metric"]  # no pass yet
        gauges.pass_done()
        [incident] = rig.incidents("open")
        dispatcher.dispatch(
            notification_for(incident, IncidentEvent(incident.key, "opened", rig.clock.now()))
        )
        dispatcher.flush(10.0)
        samples = scrape(server.url)
    finally:
        server.close()
        dispatcher.close(timeout=1.0)
    # the newest complete 5-minute window is the second one (the third is still open)
    [stored] = rig.monitor_store.metric_series(
        service, "health.nan_rate", window="5m", version=version,
        start=T0 + WINDOW, end=T0 + 2 * WINDOW,
    )  # fmt: skip
    assert stored.value is not None and stored.value > 0.05
    shown = one(samples, "steadyml_monitor_metric", service=service, version=version,
                window="5m", metric="health.nan_rate", subject="")  # fmt: skip
    assert shown == stored.value
    start = one(samples, "steadyml_monitor_window_start_timestamp_seconds", window="5m",
                metric="health.nan_rate", version=version)  # fmt: skip
    assert start == (T0 + WINDOW).timestamp()
    # per-feature metrics carry the feature as subject
    null_rates = [k for k in samples if k[0] == "steadyml_monitor_metric"
                  and ("metric", "quality.null_rate") in k[1]]  # fmt: skip
    assert len(null_rates) >= 5 and all(dict(k[1])["subject"] for k in null_rates)
    severity = incident.severity
    assert one(samples, "steadyml_monitor_open_incidents", severity=severity) == 1
    others = [s for s in ("P0", "P1", "P2", "P3") if s != severity]
    assert all(one(samples, "steadyml_monitor_open_incidents", severity=s) == 0 for s in others)
    assert one(samples, "steadyml_monitor_last_pass_timestamp_seconds") == (
        rig.clock.now().timestamp()
    )
    assert one(samples, "steadyml_monitor_rounds_total", result="ok") == 1
    assert one(samples, "steadyml_sink_notifications_total", sink="log", result="sent") == 1
    assert one(samples, "steadyml_sink_notifications_total", sink="log", result="failed") == 0
    assert one(samples, "steadyml_sink_queue_length", sink="log") == 0


def test_gauges_keep_their_snapshot_when_the_store_is_gone(rig: Rig) -> None:
    nan_incident(rig)
    gauges = MonitorGauges(rig.spec, rig.monitor_store, clock=rig.clock)
    assert gauges.refresh()
    families = {f.name: f for f in gauges.collect()}
    kept = families["steadyml_monitor_metric"].samples
    assert kept
    rig.store.engine.dispose()
    (Path(rig.root).parent / "monitor.db").unlink()
    (Path(rig.root).parent / "monitor.db").mkdir()  # an unopenable database
    assert gauges.refresh() is False
    families = {f.name: f for f in gauges.collect()}
    assert families["steadyml_monitor_metric"].samples == kept
    gauges.pass_failed()
    families = {f.name: f for f in gauges.collect()}
    rounds = {s.labels["result"]: s.value for s in families["steadyml_monitor_rounds"].samples}
    assert rounds == {"ok": 0, "failed": 1}
