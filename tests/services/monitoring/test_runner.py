"""The runner's guarantees: exactly-once across restarts and concurrent runners, bad input."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from steadyml.adapters.predlog import PREDICTIONS
from steadyml.adapters.predlog.layout import hour_key, partition_dir
from steadyml.adapters.store import StoreUnavailable
from steadyml.core.monitoring import WindowSummary
from steadyml.core.monitoring.payloads import decode
from steadyml.errors import SpecError
from steadyml.services.monitoring import BundleReferences, Monitor, PassReport
from steadyml.spec import parse_spec
from tests.core.monitoring.helpers import T0
from tests.services.monitoring.conftest import WINDOW, Rig, Trained


def stored_rows(rig: Rig, windows: int) -> int:
    total = 0
    for index in range(windows):
        data = rig.monitor_store.window_payload(
            "employment", rig.version, "5m", T0 + index * WINDOW, "summary"
        )
        if data is not None:
            summary = decode("summary", data)
            assert isinstance(summary, WindowSummary)
            total += summary.rows
    return total


def test_a_restarted_monitor_reads_every_segment_exactly_once(rig: Rig) -> None:
    rig.write(rig.records(0, 1))
    first = rig.run(T0 + WINDOW)
    rig.write(rig.records(1, 1), worker="w1")
    rig.write(rig.records(2, 1))
    second = rig.run(T0 + 3 * WINDOW)  # a new Monitor: a restarted process
    third = rig.run(T0 + 3 * WINDOW)
    assert (first.segments, second.segments, third.segments) == (1, 2, 0)
    assert first.rows + second.rows == rig.written
    assert stored_rows(rig, 3) == rig.written
    cursor = rig.monitor_store.cursor("employment")
    assert cursor.positions == {"w0": 2, "w1": 1}
    assert cursor.stats["rows"] == rig.written and cursor.stats["passes"] == 3


def test_a_pass_reads_at_most_max_segments_and_catches_up(rig: Rig) -> None:
    for index in range(3):
        rig.write(rig.records(index, 1))
    spec = rig.spec.model_copy(
        update={"monitors": rig.spec.monitors.model_copy(update={"max_segments": 1})}
    )
    rig.clock.set(T0 + 3 * WINDOW)
    monitor = Monitor(spec, rig.store, rig.root, rig.references, clock=rig.clock)
    one = monitor.run_pass()
    assert one.segments == 1 and not one.caught_up
    rest = monitor.run_once()
    assert rest.segments == 2 and rest.caught_up
    assert stored_rows(rig, 3) == rig.written


def test_concurrent_runners_count_every_record_once(rig: Rig) -> None:
    for index in range(4):
        rig.write(rig.records(index, 1), worker=f"w{index % 2}")
    rig.clock.set(T0 + 4 * WINDOW)
    reports: list[PassReport] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        monitor = rig.monitor()
        barrier.wait()
        reports.append(monitor.run_once())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(reports) == 2
    assert sum(r.rows for r in reports) == rig.written
    assert stored_rows(rig, 4) == rig.written


def test_corrupt_and_half_written_segments_are_skipped_and_counted(rig: Rig) -> None:
    rig.write(rig.records(0, 1))
    directory = partition_dir(rig.root / PREDICTIONS, "employment", hour_key(T0))
    (directory / "w7-0000000001.parquet").write_bytes(b"PAR1 this is not parquet")
    good = (directory / "w0-0000000001.parquet").read_bytes()
    (directory / "w8-0000000001.parquet").write_bytes(good[: len(good) // 2])  # torn copy
    report = rig.run(T0 + WINDOW)
    assert report.segments == 3 and report.rows == rig.written
    assert sorted(Path(p).name for p, _ in report.skipped) == [
        "w7-0000000001.parquet",
        "w8-0000000001.parquet",
    ]
    stats = rig.monitor_store.cursor("employment").stats
    assert stats["skipped_segments"] == 2 and len(stats["recent_skips"]) == 2
    assert rig.run(T0 + WINDOW).segments == 0  # skipped once, not retried forever


def test_feedback_for_unknown_requests_and_wrong_label_types_is_counted(rig: Rig) -> None:
    frame = rig.records(0, 1)
    rig.write(frame)
    unknown = frame.head(10).with_columns(request_id=frame.head(10).get_column("request_id") + "x")
    rig.feedback(unknown, delay=timedelta(minutes=1))
    rig.feedback(frame.slice(10, 20), delay=timedelta(minutes=1), values=None)
    rig.feedback(frame.slice(30, 5), delay=timedelta(minutes=1), values=[2.5] * 5)  # type: ignore[arg-type]
    report = rig.run(T0 + WINDOW + timedelta(minutes=2))
    assert report.feedback_unmatched == 10
    assert report.labels_matched == 25
    invalid = rig.monitor_store.metric_series(
        "employment", "performance.invalid_labels", window="5m"
    )
    assert invalid and invalid[0].value == 5.0


def test_a_misconfigured_rule_refuses_to_start(trained: Trained, rig: Rig) -> None:
    raw = trained.spec.model_dump(mode="json")
    raw["alerts"] = [{"name": "x", "metric": "health.p99", "threshold": 1}]
    with pytest.raises(SpecError) as info:
        Monitor(parse_spec(raw), rig.store, rig.root, rig.references)
    assert info.value.field == "alerts.0.metric"
    raw["alerts"] = []
    raw["monitors"]["kpi"]["window"] = "15m"
    with pytest.raises(SpecError) as info:
        Monitor(parse_spec(raw), rig.store, rig.root, rig.references)
    assert info.value.field == "monitors.kpi.window"


def test_bundle_references_are_built_from_the_registry(trained: Trained) -> None:
    references = BundleReferences(trained.workspace)
    reference = references.get(str(trained.bundle.version))
    assert reference is not None and reference.cbpe is not None
    assert reference.baseline["roc_auc"] > 0.85
    assert max(reference.importance, key=lambda k: reference.importance[k]) == "AGEP"
    assert references.get(str(trained.bundle.version)) is reference  # built once
    assert references.get("99") is None and references.get("not-a-version") is None


def test_watch_survives_a_database_that_is_down(rig: Rig) -> None:
    monitor = rig.monitor()
    failures: list[BaseException] = []
    passes: list[PassReport] = []
    rig.write(rig.records(0, 1))
    rig.clock.set(T0 + WINDOW)
    rounds = monitor.watch(0.01, on_pass=passes.append, on_error=failures.append, max_rounds=1)
    assert rounds == 1 and len(passes) == 1 and passes[0].rows == rig.written
    rig.store.close()
    (Path(rig.store.url.removeprefix("sqlite:///"))).unlink()
    Path(rig.store.url.removeprefix("sqlite:///")).mkdir()
    stop = threading.Event()
    rounds = monitor.watch(0.01, stop=stop, on_error=failures.append, max_rounds=2)
    assert rounds == 2 and len(failures) == 2
    assert all(isinstance(f, StoreUnavailable) for f in failures)
