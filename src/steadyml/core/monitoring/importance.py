"""How much each raw input moves a model's output: the weight of a feature in root causes.

The model is treated as a black box on *raw* inputs (before its feature transform),
so the ranking is in the same units the monitor sees drift in. For each feature the
rows' values are shuffled (breaking its link to the rest of the row) and the mean
absolute change of the output is measured; shares sum to one.

Examples
--------
>>> import numpy as np, polars as pl
>>> frame = pl.DataFrame({"a": np.arange(100.0), "b": np.ones(100)})
>>> shares = input_importance(lambda f: f["a"].to_numpy() / 100, frame, ["a", "b"])
>>> shares["a"], shares["b"]
(1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

__all__ = ["input_importance"]


def input_importance(
    score: Callable[[pl.DataFrame], np.ndarray],
    frame: pl.DataFrame,
    features: Sequence[str],
    *,
    rows: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Share of the output movement due to each feature (permutation sensitivity).

    Parameters
    ----------
    score
        Scores raw rows: one number (or one row of class probabilities) per row.
    frame
        Rows to perturb (held-out rows of the model); at most ``rows`` are used.
    features
        The raw inputs to rank.

    Returns
    -------
    dict of str to float
        Non-negative shares summing to 1 (uniform when the output never moves).
    """
    if frame.height == 0 or not features:
        return {}
    sample = frame.sample(n=min(rows, frame.height), seed=seed) if frame.height > rows else frame
    base = np.asarray(score(sample), dtype=np.float64)
    moves = []
    for index, name in enumerate(features):
        shuffled = sample.with_columns(pl.col(name).shuffle(seed=seed + index))
        changed = np.asarray(score(shuffled), dtype=np.float64)
        difference = np.abs(changed - base)
        moves.append(float(np.nanmean(difference)) if difference.size else 0.0)
    total = float(np.sum(moves))
    if not np.isfinite(total) or total <= 0:
        return {name: 1.0 / len(features) for name in features}
    return {name: move / total for name, move in zip(features, moves, strict=True)}
