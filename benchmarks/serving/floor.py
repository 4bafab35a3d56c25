"""The in-process floor: ``Booster.predict`` on 1 and 64 encoded rows, no server.

Prints one JSON line: the median time per call (microseconds) over many calls, for the
native booster and for the scikit-learn wrapper's ``predict_proba`` on one row.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_model import DATA, PeerModel


def _median_us(call: Callable[[], Any], repeat: int = 7, number: int = 200) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times) * 1e6


def main() -> None:
    """Measure and print the floor."""
    import mlflow.sklearn

    model = PeerModel()
    row = orjson.loads((DATA / "row.json").read_bytes())
    one = model.matrix([row])
    many = model.matrix([row] * 64)
    estimator = mlflow.sklearn.load_model((DATA / "model_dir.txt").read_text().strip())
    result = {
        "booster_1_us": _median_us(lambda: model.booster.predict(one)),
        "booster_64_us": _median_us(lambda: model.booster.predict(many)),
        "sklearn_1_us": _median_us(lambda: estimator.predict_proba(one), number=50),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
