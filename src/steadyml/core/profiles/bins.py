"""Reference bin edges for numeric columns, and exact histograms on them.

Edges are the reference quantiles at ``0, 1/B, ..., 1``. A value that fills more than
one quantile step (a spike: zero-inflation, a default value, a discrete level) gets a
bin of its own, ``[v, nextafter(v))``. The last edge is just above the reference maximum,
so the first and last bins hold what lies outside the reference range (out-of-range
bins), including infinities.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

__all__ = [
    "bin_labels",
    "edges_from_quantiles",
    "edges_from_sketch",
    "histogram_sorted",
    "reference_edges",
]

DEFAULT_BINS = 20


def edges_from_quantiles(quantiles: np.ndarray) -> tuple[float, ...]:
    """Bin edges from reference quantiles ``q[0] = min, ..., q[-1] = max``."""
    q = np.asarray(quantiles, dtype=np.float64)
    q = q[np.isfinite(q)]
    if q.size == 0:
        return ()
    q = np.sort(q)
    unique, counts = np.unique(q, return_counts=True)
    spikes = unique[counts > 1]
    top = q[-1]
    keep = unique if top in spikes else unique[unique != top]
    edges = np.union1d(np.union1d(keep, np.nextafter(spikes, np.inf)), [np.nextafter(top, np.inf)])
    return tuple(float(e) for e in edges)


def reference_edges(sorted_finite: np.ndarray, bins: int = DEFAULT_BINS) -> tuple[float, ...]:
    """Edges from the sorted finite reference values (exact quantiles)."""
    if sorted_finite.size == 0:
        return ()
    probs = np.linspace(0.0, 1.0, bins + 1)
    return edges_from_quantiles(np.quantile(sorted_finite, probs))


def edges_from_sketch(sketch: Any, bins: int = DEFAULT_BINS) -> tuple[float, ...]:
    """Edges from a KLL quantile sketch (used when the reference is read in chunks)."""
    if sketch.is_empty():
        return ()
    probs = np.linspace(0.0, 1.0, bins + 1)
    quantiles = np.asarray(sketch.get_quantiles(probs), dtype=np.float64)
    quantiles[0] = sketch.get_min_value()
    quantiles[-1] = sketch.get_max_value()
    return edges_from_quantiles(quantiles)


def histogram_sorted(
    sorted_finite: np.ndarray, edges: np.ndarray, neginf: int = 0, posinf: int = 0
) -> np.ndarray:
    """Exact counts per bin of sorted finite values, plus infinities in the outer bins.

    Bin 0 counts values below ``edges[0]`` (and ``-inf``), bin ``i`` values in
    ``[edges[i-1], edges[i])``, the last bin values at or above ``edges[-1]`` (and
    ``+inf``). Works in ``O(len(edges) log n)`` on sorted input.
    """
    n = sorted_finite.size
    below = np.searchsorted(sorted_finite, edges, side="left")
    counts = np.diff(np.concatenate(([0], below, [n]))).astype(np.int64)
    counts[0] += neginf
    counts[-1] += posinf
    return counts


def bin_labels(edges: tuple[float, ...]) -> list[str]:
    """Human labels of the bins defined by ``edges`` (out-of-range bins included)."""
    if not edges:
        return ["all values"]
    labels = [f"< {edges[0]:.6g}"]
    for low, high in itertools.pairwise(edges):
        if np.nextafter(low, np.inf) == high:
            labels.append(f"= {low:.6g}")
        else:
            labels.append(f"[{low:.6g}, {high:.6g})")
    top = float(np.nextafter(edges[-1], -np.inf))
    labels.append(f"> {top:.6g}")
    return labels
