"""Log rows are built on the writer thread, a run of batches at once, as if one by one."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from steadyml.services.serving.batcher import Job
from steadyml.services.serving.payloads import decode_json, parse_predict
from steadyml.services.serving.records import LogRows
from steadyml.services.serving.service import PredictionService
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec


def _jobs(service: PredictionService, bodies: list[Any]) -> list[Job]:
    model = service.holder.current
    assert model is not None
    loop = asyncio.get_running_loop()
    jobs = []
    for body in bodies:
        payload = parse_predict(
            decode_json(orjson.dumps(body)), columns=model.columns, header_id=None, header_time=None
        )
        now = time.perf_counter()
        jobs.append(
            Job(
                payload.records,
                request_ids=payload.request_ids,
                event_us=payload.event_us,
                received_us=service.now_micros(),
                start=now,
                deadline=now + 30.0,
                future=loop.create_future(),
            )
        )
    return jobs


def test_a_run_of_batches_builds_the_rows_each_batch_would(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def scenario() -> tuple[list[LogRows], list[pa.Table], pa.Table]:
        service = PredictionService(project, workspace=workspace)
        await service.start()
        try:
            broken = {**rows[2], "AGEP": "old"}
            first = service._process(_jobs(service, [rows[0], [rows[1], broken]]))
            second = service._process(_jobs(service, [[rows[3], rows[4]], rows[5]]))
            assert first.rows is not None and second.rows is not None
            # the watchdog answered the second batch's first request: its rows are not kept
            keep = np.array([False, False, True])
            parts = [first.rows, LogRows(second.rows.outcome, second.rows.schema, keep)]
            alone = [LogRows.build([part]) for part in parts]
            return parts, alone, LogRows.build(parts)
        finally:
            await service.stop()

    parts, alone, together = asyncio.run(scenario())
    assert [part.num_rows for part in parts] == [3, 1]
    assert together.equals(pa.concat_tables(alone).combine_chunks())
    assert together.column("status").to_pylist() == ["ok", "ok", "rejected", "ok"]
    inputs = together.column("inputs").to_pylist()
    assert inputs[2] is None  # the refused record has no validated inputs
    assert [row["AGEP"] for row in (inputs[0], inputs[1], inputs[3])] == [
        rows[0]["AGEP"],
        rows[1]["AGEP"],
        rows[5]["AGEP"],
    ]
    features = together.column("features").to_pylist()
    assert features[2] is None and features[3] is not None
    assert together.column("rejection_reason").to_pylist()[2].startswith("AGEP")


def test_journaled_rows_build_the_same_table(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    """A strict-mode journal stores a batch's outcome, not its table: read back after a
    crash, it must build exactly the rows the live writer would have written."""

    async def scenario() -> list[LogRows]:
        service = PredictionService(project, workspace=workspace)
        await service.start()
        try:
            broken = {**rows[2], "AGEP": "old"}
            unknown = {**rows[3], "colour": "red"}  # flagged or refused by the policy
            first = service._process(_jobs(service, [rows[0], [rows[1], broken], unknown]))
            second = service._process(_jobs(service, [[rows[4], rows[5]], rows[6]]))
            assert first.rows is not None and second.rows is not None
            keep = np.array([True, False, True])
            return [first.rows, LogRows(second.rows.outcome, second.rows.schema, keep)]
        finally:
            await service.stop()

    parts = asyncio.run(scenario())
    replayed = [
        LogRows.from_journal(memoryview(b"".join(part.to_journal())), part.schema) for part in parts
    ]
    assert [item.num_rows for item in replayed] == [part.num_rows for part in parts]
    expected = LogRows.build(parts)
    assert LogRows.build(replayed).equals(expected)
    assert expected.column("status").to_pylist()[2] == "rejected"  # the case is covered
    assert expected.column("request_id").to_pylist()[-1] == parts[1].outcome.request_ids[2]


def test_journaled_frames_are_arrow_streams_any_version_reads(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    """A journal may outlive a Polars upgrade (a crash, an upgrade, a restart): its frames
    are Arrow IPC streams, which pyarrow alone reads back, not Polars' own serialization."""

    async def scenario() -> LogRows:
        service = PredictionService(project, workspace=workspace)
        await service.start()
        try:
            done = service._process(_jobs(service, [rows[0], [rows[1], rows[2]]]))
            assert done.rows is not None
            return done.rows
        finally:
            await service.stop()

    logged = asyncio.run(scenario())
    pieces = [bytes(piece) for piece in logged.to_journal()]
    head = orjson.loads(pieces[1])
    frames = [size for size in head["frames"] if size is not None]
    expected = [f for f in (logged.outcome.inputs, logged.outcome.features) if f is not None]
    assert len(frames) == len(expected) == 2
    for piece, size, frame in zip(pieces[-2:], frames, expected, strict=True):
        assert len(piece) == size
        table = frame.to_arrow()  # Polars writes strings as views; the values are the same
        assert pa.ipc.open_stream(piece).read_all().cast(table.schema).equals(table)


@pytest.mark.parametrize("cut", [0, 3, 40, -1])
def test_a_damaged_journaled_outcome_is_refused_by_name(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]], cut: int
) -> None:
    async def scenario() -> LogRows:
        service = PredictionService(project, workspace=workspace)
        await service.start()
        try:
            done = service._process(_jobs(service, [rows[0], rows[1]]))
            assert done.rows is not None
            return done.rows
        finally:
            await service.stop()

    data = b"".join(bytes(piece) for piece in asyncio.run(scenario()).to_journal())
    with pytest.raises(ValueError, match=r"journaled batch outcome|ends inside|frames|missing"):
        LogRows.from_journal(memoryview(data[:cut]), pa.schema([]))
