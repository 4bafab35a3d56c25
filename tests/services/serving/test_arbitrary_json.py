"""Property: no JSON body, however odd, makes /predict, /infer or /feedback answer a 5xx."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving.conftest import serving

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
NAMES = ["AGEP", "SEX", "SCHL", "records", "request_id", "event_time", "inputs", "value"]
KEYS = st.sampled_from(NAMES) | st.text(max_size=8)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=25,
)
PATHS = ("/predict", "/feedback", "/v2/models/employment/infer")


@contextmanager
def background(project: ServiceSpec, ws: Workspace) -> Iterator[Any]:
    """The app on an event loop in another thread; yields ``post(path, raw) -> response``."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None
    client: httpx.AsyncClient | None = None

    async def run() -> None:
        nonlocal stop, client
        async with serving(project, ws) as (_, connected):
            client = connected
            stop = loop.create_future()
            ready.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),))
    thread.start()
    ready.wait(60)

    def post(path: str, raw: bytes) -> httpx.Response:
        assert client is not None
        future = asyncio.run_coroutine_threadsafe(client.post(path, content=raw), loop)
        return future.result(30)

    try:
        yield post
    finally:
        if stop is not None:
            loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(60)
        loop.close()


def test_arbitrary_json_never_gets_a_5xx(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    template = rows[0]
    mutated = st.dictionaries(st.sampled_from(sorted(template)), SCALARS).map(
        lambda changes: {**template, **changes}
    )

    with background(project, workspace) as post:

        @settings(
            max_examples=120,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(body=JSON | mutated | st.lists(mutated, min_size=1, max_size=4))
        def check(body: Any) -> None:
            raw = orjson.dumps(body)
            for path in PATHS:
                response = post(path, raw)
                assert response.status_code < 500, (path, raw, response.text)
                assert isinstance(response.json(), dict)

        check()
