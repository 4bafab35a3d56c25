"""The census model for the peer servers: the booster and a minimal row encoder.

Loaded by the bare FastAPI endpoint and the BentoML service (any environment with
``numpy`` and ``lightgbm``). It applies the demo project's transform (``AGE_BAND``,
``WORKING_AGE``) and the champion's ordinal codes to one JSON record, in plain Python,
without validation: the minimum any server has to do to call the booster.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

DATA = Path(__file__).resolve().parent / "data"


class PeerModel:
    """The exported champion: ``predict(records)`` gives P(employed) per record."""

    def __init__(self, data: Path = DATA) -> None:
        self.booster = lgb.Booster(model_file=str(data / "booster.txt"))
        encoder = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
        self.columns: list[str] = encoder["columns"]
        self.codes: dict[str, dict[str, float]] = {
            name: {value: float(i) for i, value in enumerate(values)}
            for name, values in encoder["categories"].items()
        }

    def _value(self, name: str, record: dict[str, Any]) -> float:
        if name == "AGE_BAND":
            age = record.get("AGEP")
            value: Any = None if age is None else str(min(max(int(age) // 10, 0), 9))
        elif name == "WORKING_AGE":
            age = record.get("AGEP")
            return math.nan if age is None else float(18 <= age <= 64)
        else:
            value = record.get(name)
        codes = self.codes.get(name)
        if codes is not None:
            return codes.get(str(value), math.nan) if value is not None else math.nan
        return math.nan if value is None else float(value)

    def matrix(self, records: list[dict[str, Any]]) -> np.ndarray[Any, Any]:
        """The encoded ``float64`` matrix of ``records``."""
        return np.array(
            [[self._value(name, record) for name in self.columns] for record in records],
            dtype=np.float64,
        )

    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        """P(employed) for each record."""
        scores = np.asarray(self.booster.predict(self.matrix(records)), dtype=np.float64)
        return [float(x) for x in scores]
