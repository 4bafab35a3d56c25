"""A real server on 127.0.0.1: a NaN burst raises an incident through the fast path, the
responder switches to fallback mode and rolls back - each within its 15 s target."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

import pytest
import yaml

from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.adapters.store.responses import ResponseStore
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec
from tests.services.serving import faulty
from tests.services.serving.conftest import register_variant, with_deployment
from tests.services.serving.server import Server, drive, in_background

TARGET_S = 15.0


def with_fast_responses(spec: ServiceSpec) -> ServiceSpec:
    path = spec.base_dir / "steadyml.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["responses"] = [
        {"on": "nan_output", "action": "fallback_mode"},
        {"on": "nan_output", "action": "rollback"},
    ]
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


@pytest.mark.slow
def test_nan_burst_alert_fallback_and_rollback_within_targets(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    spec = with_fast_responses(with_deployment(project, latency_budget_ms=5000))
    workspace.registry.set_alias("previous", 1)
    server = Server(spec.base_dir / "steadyml.yaml").start()
    monitor = MonitorStore(workspace.store)
    try:

        def body(n: int) -> Any:
            return {"records": rows[n % 300 : n % 300 + 4]}

        stop = threading.Event()
        join = in_background(lambda: drive(server.url, body, clients=4, seconds=60, stop=stop))
        time.sleep(12.0)  # clean traffic over two fast-path ticks (5 s)
        clean_incidents = monitor.incidents("employment")
        nan_version = register_variant(workspace, partial(faulty.NaNForOld, age=45.0))
        swapped = time.monotonic()
        alerted = None
        deadline = swapped + 45
        while time.monotonic() < deadline:
            if alerted is None and monitor.incidents("employment", status="open"):
                alerted = time.monotonic()
            if alerted is not None and ResponseStore(workspace.store).active_modes("employment"):
                break
            time.sleep(0.2)
        time.sleep(3.0)
        stop.set()
        load = join()
    finally:
        server.kill()
    assert clean_incidents == [], "clean traffic raised an incident"
    answers = [(body, at) for status, body, at in load.answers if status == 200]
    nan_seen = min(
        at
        for answer, at in answers
        if answer["model_version"] == str(nan_version)
        and any(i.get("fallback_reason") == "nan_output" for i in answer["predictions"])
    )
    forced = [
        at
        for answer, at in answers
        if any(i.get("fallback_reason") == "fallback_mode" for i in answer["predictions"])
    ]
    rolled = [at for answer, at in answers if at > nan_seen and answer["model_version"] == "1"]
    assert alerted is not None, server.log()
    assert forced, server.log()
    assert rolled, server.log()
    to_alert = alerted - nan_seen
    to_fallback = min(forced) - alerted
    to_rollback = min(rolled) - alerted
    print(
        f"NaN burst -> incident {to_alert:.1f}s; incident -> fallback mode {to_fallback:.1f}s; "
        f"incident -> rolled-back model serving {to_rollback:.1f}s"
    )
    assert to_alert <= TARGET_S
    assert to_fallback <= TARGET_S
    assert to_rollback <= TARGET_S
    [incident] = monitor.incidents("employment")
    assert incident.incident_type == "nan_output"
    actions = {r.action: r for r in ResponseStore(workspace.store).actions("employment")}
    assert {a: r.status for a, r in actions.items()} == {
        "fallback_mode": "done",
        "rollback": "done",
    }
    assert workspace.registry.alias_version("champion") == 1
    audit = {e.action: e for e in workspace.store.audit_log("employment")}
    assert audit["fallback_mode"].incident_id == incident.id
    assert audit["rollback"].incident_id == incident.id
