"""A bare FastAPI endpoint: one JSON record in, the booster's score out, no logging.

Run in steadyml's environment:
``uvicorn server_fastapi:app --app-dir benchmarks/serving`` (uvloop and httptools).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from peer_model import PeerModel

model = PeerModel()
app = FastAPI()


@app.post("/predict")
async def predict(record: dict[str, Any]) -> dict[str, float]:
    """Score one record (on the event loop: faster than FastAPI's thread pool here)."""
    return {"prediction": model.predict([record])[0]}
