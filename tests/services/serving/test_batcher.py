"""Adaptive micro-batching: concurrent requests share batches; a lone client never waits."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from steadyml.services.serving.batcher import Job, MicroBatcher
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import serving
from tests.services.serving.test_faulty_models import metric


def job(size: int, tag: int) -> Job:
    loop = asyncio.get_running_loop()
    now = time.perf_counter()
    return Job(
        [{"tag": tag}] * size,
        request_ids=None,
        event_us=None,
        received_us=0,
        start=now,
        deadline=now + 10,
        future=loop.create_future(),
    )


def run_batches(
    sizes: list[int], *, max_batch_size: int, max_wait_ms: float = 0.0, pause: float = 0.0
) -> tuple[list[list[int]], list[str]]:
    batches: list[list[int]] = []
    threads: list[str] = []

    def process(jobs: list[Job]) -> list[int]:
        threads.append(threading.current_thread().name)
        time.sleep(pause)
        return [int(j.records[0]["tag"]) for j in jobs]  # type: ignore[index]

    def done(jobs: list[Job], result: Any, error: BaseException | None) -> None:
        assert error is None
        batches.append(result)
        for item in jobs:
            item.future.set_result((200, b""))

    async def main() -> None:
        batcher = MicroBatcher(
            process, done, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms
        )
        jobs = [job(size, tag) for tag, size in enumerate(sizes)]
        for item in jobs:
            batcher.submit(item)
        await asyncio.gather(*(item.future for item in jobs))
        assert await batcher.drain(1.0)
        batcher.close()

    asyncio.run(main())
    return batches, threads


def test_queued_jobs_are_batched_in_order_without_splitting_a_request() -> None:
    sizes = [1, 3, 2, 5, 1, 1, 4, 9, 2]
    batches, threads = run_batches(sizes, max_batch_size=6, pause=0.01)
    assert [tag for batch in batches for tag in batch] == list(range(len(sizes)))
    for batch in batches:
        rows = sum(sizes[tag] for tag in batch)
        assert rows <= 6 or len(batch) == 1  # only a request bigger than a batch is alone
    assert any(len(batch) > 1 for batch in batches)
    assert set(threads) == {"steadyml-batch_0"}  # off the event loop, one thread


def test_a_lone_client_does_not_wait_for_a_batch_to_fill() -> None:
    waits: list[float] = []

    def process(jobs: list[Job]) -> None:
        return None

    def done(jobs: list[Job], result: Any, error: BaseException | None) -> None:
        for item in jobs:
            item.future.set_result((200, b""))

    async def main() -> None:
        batcher = MicroBatcher(process, done, max_batch_size=64, max_wait_ms=300)
        for tag in range(5):
            item = job(1, tag)
            started = time.perf_counter()
            batcher.submit(item)
            await item.future
            waits.append(time.perf_counter() - started)
        batcher.close()

    asyncio.run(main())
    assert max(waits) < 0.15  # never the 300 ms max wait


def test_concurrent_requests_share_micro_batches(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    async def main() -> tuple[list[int], str]:
        async with serving(project, workspace) as (_, client):
            calls = [client.post("/predict", json=row) for row in rows[:60]]
            statuses = [r.status_code for r in await asyncio.gather(*calls)]
            return statuses, (await client.get("/metrics")).text

    statuses, text = asyncio.run(main())
    assert statuses == [200] * 60
    batches = metric(text, "steadyml_batch_size_count")
    assert metric(text, "steadyml_batch_size_sum") == 60.0
    assert 1 <= batches < 60


def test_the_wait_timer_dispatches_without_reading_the_clock_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvloop keeps timer time in whole milliseconds: a timer can fire before
    ``perf_counter`` says the wait is over, and one due in under 0.5 ms runs at once. A
    batcher that re-read the clock when its timer fired re-armed timers in a loop; its
    timer now dispatches what is queued. Here the clock stands still: re-reading it
    would wait for ever."""
    import types

    from steadyml.services.serving import batcher as batcher_module

    frozen = time.perf_counter()
    monkeypatch.setattr(batcher_module, "time", types.SimpleNamespace(perf_counter=lambda: frozen))
    looks: list[int] = []

    def done(jobs: list[Job], result: Any, error: BaseException | None) -> None:
        for item in jobs:
            item.future.set_result((200, b""))

    async def main() -> None:
        batcher = MicroBatcher(lambda jobs: None, done, max_batch_size=64, max_wait_ms=5)
        real = batcher._dispatch

        def counted(*args: bool) -> None:
            looks.append(len(looks))
            real(*args)

        batcher._dispatch = counted  # type: ignore[method-assign,assignment]
        for tag in range(3):  # batches of 8 rows: the batcher now waits for company
            item = job(8, tag)
            batcher.submit(item)
            await item.future
        looks.clear()
        item = job(1, 99)
        batcher.submit(item)
        await asyncio.wait_for(item.future, 2.0)
        batcher.close()

    asyncio.run(main())
    assert len(looks) == 2  # the first look arms the timer; the timer dispatches
