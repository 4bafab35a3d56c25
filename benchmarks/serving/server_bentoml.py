"""BentoML 1.4 service for the census booster; ``BENCH_BATCHABLE=1`` turns batching on.

Run in its own environment: ``bentoml serve server_bentoml:Census`` from this folder.
Request bodies: ``{"record": {...}}`` (batchable off) or ``{"records": [{...}]}`` (on).
"""

from __future__ import annotations

import os
from typing import Any

import bentoml  # type: ignore[import-not-found,unused-ignore]
from peer_model import PeerModel

BATCHABLE = os.environ.get("BENCH_BATCHABLE") == "1"


@bentoml.service(workers=int(os.environ.get("BENCH_WORKERS", "1")))
class Census:
    """The census champion."""

    def __init__(self) -> None:
        self.model = PeerModel()

    if BATCHABLE:

        @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)  # type: ignore[untyped-decorator,unused-ignore]
        def predict(self, records: list[dict[str, Any]]) -> list[float]:
            """Score records (adaptive batching across requests)."""
            return self.model.predict(records)

    else:

        @bentoml.api  # type: ignore[untyped-decorator,unused-ignore]
        def predict(self, record: dict[str, Any]) -> dict[str, float]:
            """Score one record."""
            return {"prediction": self.model.predict([record])[0]}
