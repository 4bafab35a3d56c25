"""The issue's ceiling probe: raw ASGI, micro-batched ``predict``, nothing else.

No validation, no guards, no metrics, no log: each request's JSON record is parsed with
orjson and queued; one task per worker scores everything queued since its last pass in
one ``Booster.predict`` and answers each request. It shows how fast a Python server on
uvicorn (uvloop, httptools) can go on this machine, the ceiling steadyml approaches.

Run in steadyml's environment:
``uvicorn server_probe:app --app-dir benchmarks/serving --loop uvloop --http httptools``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from peer_model import PeerModel

model = PeerModel()
_HEADERS = [(b"content-type", b"application/json")]
_pending: list[tuple[dict[str, Any], asyncio.Future[float]]] = []
_wake = asyncio.Event()
_tasks: list[asyncio.Task[None]] = []


async def _batches() -> None:
    while True:
        await _wake.wait()
        _wake.clear()
        await asyncio.sleep(0)  # let the requests that are already readable queue up
        batch = _pending[:]
        del _pending[:]
        if not batch:  # the requests that woke this pass were answered by the last one
            continue
        scores = model.predict([record for record, _ in batch])
        for (_, future), score in zip(batch, scores, strict=True):
            if not future.done():
                future.set_result(score)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer ``POST /predict`` with ``{"prediction": p}``; anything else with 404."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            _tasks.append(asyncio.get_running_loop().create_task(_batches()))
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] != "/predict":
        await send({"type": "http.response.start", "status": 404, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": b"{}"})
        return
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    _pending.append((orjson.loads(body), future))
    _wake.set()
    payload = orjson.dumps({"prediction": await future})
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": payload})
