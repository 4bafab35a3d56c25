"""Slack, PagerDuty, webhook and JSON-log payloads, as a real receiver gets them."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from steadyml.adapters.sinks import (
    JsonLogSink,
    Notification,
    PagerDutySink,
    SlackSink,
    WebhookSink,
    pagerduty_payload,
    slack_payload,
)
from tests.adapters.sinks.conftest import T, make_incident
from tests.adapters.sinks.receiver import Receiver

PD_SEVERITIES = {"critical", "error", "warning", "info"}


def test_webhook_posts_the_notification_json(receiver: Receiver) -> None:
    sink = WebhookSink(receiver.url)
    note = Notification("opened", make_incident(), T, {"rule": "nan_output", "value": 0.08})
    sink.send(note)
    sink.close()
    [got] = receiver.received
    assert got.path == "/hook/T0KEN"
    assert got.headers["content-type"] == "application/json"
    body = got.body
    assert body["kind"] == "opened" and body["incident"] == "nan_output-abc123"
    assert body["severity"] == "P1" and body["features"] == ["AGEP", "WKHP"]
    assert body["detail"] == {"rule": "nan_output", "value": 0.08}
    assert datetime.fromisoformat(body["at"]) == T


def test_slack_payload_has_text_and_blocks_with_every_fact(receiver: Receiver) -> None:
    note = Notification(
        "opened", make_incident(), T, {"rule": "nan_output", "value": 0.08}, "http://dash/i/7"
    )
    SlackSink(receiver.url).send(note)
    [got] = receiver.received
    body = got.body
    assert set(body) == {"text", "blocks"}
    assert "[P1] employment: nan output on version 3 (opened)" in body["text"]
    types = [b["type"] for b in body["blocks"]]
    assert types[0] == "header" and types[-1] == "context"
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    fields = body["blocks"][1]["fields"]
    assert len(fields) <= 10 and all(len(f["text"]) <= 2000 for f in fields)
    text = json.dumps(body)
    for fact in ("P1", "nan_output", "AGEP", "WKHP", "Versions", "3", "0.08", "http://dash/i/7"):
        assert fact in text, fact
    # user text is escaped for Slack mrkdwn; a URL runbook becomes a link
    assert "runbooks.example.com/nan &lt;output&gt;" in text or "<https://runbooks" in text
    assert "Likely cause" in text and "effect 0.310" in text


def test_slack_escapes_markup_in_titles() -> None:
    incident = make_incident()
    from dataclasses import replace

    odd = replace(incident, features=("<b>&x",), runbook="see <here>")
    body = slack_payload(Notification("updated", odd, T))
    text = json.dumps(body)
    assert "&lt;b&gt;&amp;x" in text and "see &lt;here&gt;" in text


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")],
)
def test_pagerduty_trigger_follows_events_v2(
    receiver: Receiver, severity: str, expected: str
) -> None:
    sink = PagerDutySink("R0UTING", url=receiver.url)
    sink.send(Notification("opened", make_incident(severity), T, link="http://dash/i/7"))
    [got] = receiver.received
    body = got.body
    assert body["routing_key"] == "R0UTING"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "nan_output-abc123" and len(body["dedup_key"]) <= 255
    payload = body["payload"]
    assert payload["severity"] == expected and payload["severity"] in PD_SEVERITIES
    assert 0 < len(payload["summary"]) <= 1024 and severity in payload["summary"]
    assert payload["source"] == "steadyml/employment"
    assert datetime.fromisoformat(payload["timestamp"]) == T
    assert payload["custom_details"]["features"] == ["AGEP", "WKHP"]
    assert body["links"] == [{"href": "http://dash/i/7", "text": "steadyml nan_output-abc123"}]


def test_pagerduty_resolves_with_the_same_dedup_key(receiver: Receiver) -> None:
    sink = PagerDutySink("R0UTING", url=receiver.url)
    sink.send(Notification("opened", make_incident(), T))
    sink.send(Notification("resolved", make_incident(status="resolved"), T))
    opened, resolved = receiver.bodies()
    assert resolved == {
        "routing_key": "R0UTING",
        "dedup_key": opened["dedup_key"],
        "event_action": "resolve",
    }


def test_pagerduty_never_retriggers_a_resolved_incident() -> None:
    late_action = Notification("action", make_incident(status="resolved"), T, {"action": "x"})
    assert pagerduty_payload(late_action, "K")["event_action"] == "resolve"


def test_json_log_sink_writes_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "incidents.jsonl"
    sink = JsonLogSink(path)
    sink.send(Notification("opened", make_incident(), T))
    sink.send(Notification("resolved", make_incident(status="resolved"), T))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["opened", "resolved"]
    assert json.loads(lines[1])["resolved_at"] == T.isoformat()


def test_json_log_sink_to_a_stream_and_to_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    JsonLogSink(stream=stream).send(Notification("escalated", make_incident("P0"), T))
    assert json.loads(stream.getvalue())["severity"] == "P0"
    with caplog.at_level(logging.WARNING, logger="steadyml.alerts"):
        JsonLogSink().send(Notification("opened", make_incident(), T))
    [record] = [r for r in caplog.records if r.name == "steadyml.alerts"]
    assert json.loads(record.getMessage())["incident"] == "nan_output-abc123"


def test_a_notification_kind_must_be_known() -> None:
    with pytest.raises(ValueError, match="not one of"):
        Notification("exploded", make_incident(), T)
