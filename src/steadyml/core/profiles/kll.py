"""A KLL quantile sketch of a sorted chunk, built in NumPy instead of one value at a time.

The ``datasketches`` KLL sketch ingests an array by updating it item by item in C++
while holding the GIL: about 25 ns a value, the largest cost of profiling a numeric
column and one that threads cannot share. A chunk that is already sorted (the
profiles sort every chunk) can be summarised the way KLL itself compacts a level: keep
every other item, at a random offset, and double the weight; an odd item out stays on
its level. Repeating that until at most ``k`` items are left gives a valid KLL state -
at most one item on each lower level, up to ``k`` on the top one, weights that add up to
the chunk's length exactly - which is written in the sketch's serial format and merged
into the running sketch with the library's own ``merge``.

Each level is compacted once per chunk, whereas a sketch fed item by item compacts
every level many times with the same weights, so the summary adds no more rank error
than the streaming sketch would; the sketch's recorded error bound (``k``) still holds.
The tests check the rank error against exact ranks.
"""

from __future__ import annotations

import struct

import datasketches as ds
import numpy as np

__all__ = ["DIRECT_UPDATE_ROWS", "sketch_of_sorted", "total_capacity"]

DIRECT_UPDATE_ROWS = 4_096
"""Chunks up to this length are fed to the sketch directly (cheap, and exact when small)."""

_M = 8  # the library's minimum level width
_HEADER = struct.Struct("<BBBBHBBQHBB")
_PREAMBLE_INTS_FULL = 5
_SERIAL_VERSION = 1
_FAMILY = 15
_LEVEL_ZERO_SORTED = 1 << 1
_POWERS_OF_THREE = tuple(3**i for i in range(31))


def _capacity_at_depth(k: int, depth: int) -> int:
    if depth > 30:
        half = depth // 2
        return _capacity_at_depth(_capacity_at_depth(k, half), depth - half)
    return int(((((2 * k) << depth) // _POWERS_OF_THREE[depth]) + 1) >> 1)


def total_capacity(k: int, num_levels: int) -> int:
    """Items a KLL sketch with ``num_levels`` levels holds (the library's own formula)."""
    return sum(max(_M, _capacity_at_depth(k, num_levels - h - 1)) for h in range(num_levels))


def sketch_of_sorted(
    ordered: np.ndarray, k: int, rng: np.random.Generator
) -> ds.kll_doubles_sketch:
    """A KLL sketch of ``ordered``: finite ``float64`` values in ascending order.

    Parameters
    ----------
    ordered
        The chunk, sorted ascending, without NaN.
    k
        The sketch's accuracy parameter (as for ``kll_doubles_sketch(k)``).
    rng
        Source of the compaction offsets.

    Returns
    -------
    datasketches.kll_doubles_sketch
        A sketch of exactly ``len(ordered)`` items; merge it into a running sketch.
    """
    sketch = ds.kll_doubles_sketch(k)
    n = int(ordered.size)
    if n <= max(DIRECT_UPDATE_ROWS, k):
        if n:
            sketch.update(np.ascontiguousarray(ordered, dtype=np.float64))
        return sketch
    levels: list[np.ndarray] = []
    level = ordered
    while level.size > k:
        odd = level.size % 2
        levels.append(level[:odd])  # an odd item out stays on this level, as in KLL
        level = level[odd + int(rng.integers(2)) :: 2]
    levels.append(level)
    num_levels = len(levels)
    sizes = np.array([part.size for part in levels], dtype=np.int64)
    capacity = total_capacity(k, num_levels)
    starts = capacity - int(sizes.sum()) + np.concatenate(([0], np.cumsum(sizes)[:-1]))
    header = _HEADER.pack(
        _PREAMBLE_INTS_FULL,
        _SERIAL_VERSION,
        _FAMILY,
        _LEVEL_ZERO_SORTED,  # flags: level 0 holds at most one item
        k,
        _M,
        0,  # unused
        n,
        k,  # min_k
        num_levels,
        0,  # unused
    )
    payload = b"".join(
        (
            header,
            starts.astype("<u4").tobytes(),
            struct.pack("<dd", float(ordered[0]), float(ordered[-1])),
            np.concatenate(levels).astype("<f8").tobytes(),
        )
    )
    return ds.kll_doubles_sketch.deserialize(payload)
