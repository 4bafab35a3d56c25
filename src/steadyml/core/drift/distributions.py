"""Binned distributions: counts to shares, vectorized over leading axes.

Every histogram statistic takes reference and current *counts* of shape ``(..., K)``
(``K`` bins; leading axes hold replicates) and returns one value per leading index, so
that calibration computes thousands of replicates in one NumPy call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["as_counts", "shares", "smoothed_shares"]


def as_counts(reference: ArrayLike, current: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both count arrays as ``float64`` of the same shape.

    Raises
    ------
    ValueError
        When the shapes differ (the bins do not line up).
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.shape[-1:] != cur.shape[-1:]:
        raise ValueError(f"bins do not line up: {ref.shape} vs {cur.shape}")
    ref, cur = np.broadcast_arrays(ref, cur)
    return ref, cur


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts divided by their total along the last axis (NaN for an empty histogram)."""
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = counts / total
    return result


def smoothed_shares(counts: np.ndarray, pseudo: float = 0.5) -> np.ndarray:
    """Shares after adding ``pseudo`` to every bin (Jeffreys smoothing for log ratios)."""
    k = counts.shape[-1]
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = (counts + pseudo) / (total + pseudo * k)
    return result
