"""Synthetic windows of 10 numeric and 5 categorical columns, with the issue's four shifts."""

from __future__ import annotations

import numpy as np
import polars as pl

CATEGORIES = np.array(["a", "b", "c", "d", "e", "f"])
PROBS = np.array([0.3, 0.2, 0.2, 0.15, 0.1, 0.05])
SHIFTS = {  # name: (shift of x0 in std, points of frequency moved from "b" to "a" in c0)
    "none": (0.0, 0.0),
    "trivial": (0.02, 0.01),
    "moderate": (0.2, 0.05),
    "major": (0.5, 0.15),
}


def window(rows: int, case: str = "none", seed: int = 0) -> pl.DataFrame:
    """``rows`` rows; ``case`` shifts ``x0`` and ``c0`` only."""
    rng = np.random.default_rng(seed)
    shift, points = SHIFTS[case]
    data: dict[str, np.ndarray] = {f"x{i}": rng.normal(size=rows) for i in range(10)}
    data["x0"] = data["x0"] + shift
    for i in range(5):
        probs = PROBS.copy()
        if i == 0:
            probs[0] += points
            probs[1] -= points
        data[f"c{i}"] = CATEGORIES[rng.choice(len(CATEGORIES), size=rows, p=probs)]
    return pl.DataFrame(data)
