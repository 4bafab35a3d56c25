"""Reusable work arrays for the profiling hot path.

A fresh temporary the size of a chunk (a sorted copy, deviations from the mean, hashes)
is a new memory mapping, and touching it costs page faults on every chunk: on a
million-row column that is most of the time spent hashing for the distinct count. An
accumulator keeps its work arrays in a :class:`Scratch` and reuses them; chunks are
processed in slices of at most :data:`SLICE_ROWS` rows, so the arrays stay small
(a few MB per column) whatever the size of the chunk.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SLICE_ROWS", "Scratch"]

SLICE_ROWS = 1 << 18
"""Rows processed at once by one accumulator (bounds the work arrays)."""


class Scratch:
    """Named work arrays, grown on demand and reused.

    Not thread-safe: give each accumulator its own.

    Examples
    --------
    >>> scratch = Scratch()
    >>> a = scratch.take("sorted", 10, np.float64)
    >>> b = scratch.take("sorted", 5, np.float64)
    >>> a.shape, b.shape, np.shares_memory(a, b)
    ((10,), (5,), True)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def take(self, name: str, size: int, dtype: type[np.generic]) -> np.ndarray:
        """A writable array of ``size`` items of ``dtype`` (contents undefined)."""
        array = self._arrays.get(name)
        if array is None or array.size < size or array.dtype != np.dtype(dtype):
            array = np.empty(size, dtype=dtype)
            self._arrays[name] = array
        return array[:size]
