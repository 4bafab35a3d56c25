"""Summary of one numeric column: counts, moments, exact histogram, quantile and distinct sketches.

A chunk is sorted once (``np.sort`` puts NaN last); everything else is read off the
sorted array: NaN and infinities by binary search, the histogram by searching the bin
edges, distinct values by comparing neighbours, and a large chunk reaches the KLL
sketch already compacted (:mod:`~steadyml.core.profiles.kll`), small ones item by item.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import datasketches as ds
import numpy as np

from steadyml.core.profiles.bins import histogram_sorted
from steadyml.core.profiles.floats import from_json_float, to_json_float
from steadyml.core.profiles.hll import HyperLogLog
from steadyml.core.profiles.kll import DIRECT_UPDATE_ROWS, sketch_of_sorted
from steadyml.core.profiles.scratch import SLICE_ROWS, Scratch

__all__ = ["DEFAULT_SKETCH_K", "NumericAccumulator", "NumericSummary"]

DEFAULT_SKETCH_K = 400


def _merge_moments(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[float, float]:
    """Chan et al.'s parallel update of ``(count, mean, m2)``: the merged mean and m2."""
    (n_a, mean_a, m2_a), (n_b, mean_b, m2_b) = a, b
    n = n_a + n_b
    if n_b == 0:
        return mean_a, m2_a
    if n_a == 0:
        return mean_b, m2_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)  # weight first: no overflow near the float maximum
    m2 = m2_a + m2_b + delta * delta * (n_a * n_b / n)
    return mean, m2


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """Immutable, mergeable summary of a numeric column.

    Attributes
    ----------
    count
        Rows seen, whatever their value.
    nulls, nans, posinf, neginf
        Missing values (null, NaN) and infinities.
    type_errors
        Values of a non-numeric type (a string column given for this feature); they
        are counted, never profiled.
    finite
        Finite values, the ones that moments and sketches describe.
    minimum, maximum, mean, m2
        Over finite values; ``m2`` is the sum of squared deviations from the mean.
    histogram
        Exact counts on the reference bins (see :mod:`~steadyml.core.profiles.bins`).
    kll
        Serialised KLL quantile sketch of the finite values.
    hll
        HyperLogLog registers of the finite values.
    sketch_k
        The KLL ``k``; it fixes the sketch's rank error.
    """

    count: int
    nulls: int
    nans: int
    posinf: int
    neginf: int
    type_errors: int
    finite: int
    minimum: float | None
    maximum: float | None
    mean: float
    m2: float
    histogram: np.ndarray
    kll: bytes
    hll: np.ndarray
    sketch_k: int = DEFAULT_SKETCH_K

    @property
    def missing(self) -> int:
        """Nulls plus NaN."""
        return self.nulls + self.nans

    @property
    def variance(self) -> float:
        """Sample variance of the finite values (NaN with fewer than two)."""
        return self.m2 / (self.finite - 1) if self.finite > 1 else float("nan")

    @property
    def std(self) -> float:
        """Sample standard deviation of the finite values."""
        return float(np.sqrt(self.variance))

    @property
    def rank_error(self) -> float:
        """Normalised rank error of the quantile sketch (99 % confidence, one query)."""
        sketch = self.quantile_sketch()
        if sketch.is_estimation_mode():
            return float(sketch.normalized_rank_error(False))
        return 0.0

    def quantile_sketch(self) -> ds.kll_doubles_sketch:
        """A fresh copy of the KLL sketch (mutating it does not touch this summary)."""
        return ds.kll_doubles_sketch.deserialize(self.kll)

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """Approximate quantiles of the finite values (empty array when there are none)."""
        sketch = self.quantile_sketch()
        if sketch.is_empty():
            return np.full(np.shape(probs), np.nan)
        return np.asarray(sketch.get_quantiles(np.asarray(probs, dtype=np.float64)))

    def distinct(self) -> float:
        """Estimated number of distinct finite values."""
        return HyperLogLog(self.hll).estimate()

    def merge(self, other: NumericSummary) -> NumericSummary:
        """The summary of both windows together."""
        if self.histogram.shape != other.histogram.shape:
            raise ValueError("numeric summaries on different bins cannot be merged")
        mean, m2 = _merge_moments(
            (self.finite, self.mean, self.m2), (other.finite, other.mean, other.m2)
        )
        sketch = self.quantile_sketch()
        sketch.merge(other.quantile_sketch())
        hll = HyperLogLog(self.hll)
        hll.merge(HyperLogLog(other.hll))
        mins = [v for v in (self.minimum, other.minimum) if v is not None]
        maxs = [v for v in (self.maximum, other.maximum) if v is not None]
        return NumericSummary(
            count=self.count + other.count,
            nulls=self.nulls + other.nulls,
            nans=self.nans + other.nans,
            posinf=self.posinf + other.posinf,
            neginf=self.neginf + other.neginf,
            type_errors=self.type_errors + other.type_errors,
            finite=self.finite + other.finite,
            minimum=min(mins) if mins else None,
            maximum=max(maxs) if maxs else None,
            mean=mean,
            m2=m2,
            histogram=_frozen(self.histogram + other.histogram),
            kll=bytes(sketch.serialize()),
            hll=hll.registers,
            sketch_k=self.sketch_k,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (sketches as base64)."""
        return {
            "count": self.count,
            "nulls": self.nulls,
            "nans": self.nans,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "type_errors": self.type_errors,
            "finite": self.finite,
            "min": self.minimum,
            "max": self.maximum,
            "mean": to_json_float(self.mean),
            "m2": to_json_float(self.m2),
            "histogram": [int(c) for c in self.histogram],
            "kll": base64.b64encode(self.kll).decode("ascii"),
            "hll": base64.b64encode(self.hll.tobytes()).decode("ascii"),
            "sketch_k": self.sketch_k,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NumericSummary:
        """Inverse of :meth:`to_dict`."""
        kll = base64.b64decode(raw["kll"], validate=True)
        ds.kll_doubles_sketch.deserialize(kll)  # fail here, not at first use
        hll = np.frombuffer(base64.b64decode(raw["hll"], validate=True), dtype=np.uint8)
        HyperLogLog(hll)
        return cls(
            count=int(raw["count"]),
            nulls=int(raw["nulls"]),
            nans=int(raw["nans"]),
            posinf=int(raw["posinf"]),
            neginf=int(raw["neginf"]),
            type_errors=int(raw["type_errors"]),
            finite=int(raw["finite"]),
            minimum=None if raw["min"] is None else from_json_float(raw["min"]),
            maximum=None if raw["max"] is None else from_json_float(raw["max"]),
            mean=from_json_float(raw["mean"]),
            m2=from_json_float(raw["m2"]),
            histogram=_frozen(np.asarray(raw["histogram"], dtype=np.int64)),
            kll=kll,
            hll=_frozen(hll.copy()),
            sketch_k=int(raw["sketch_k"]),
        )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


class NumericAccumulator:
    """Mutable summary of one numeric column, updated chunk by chunk.

    Parameters
    ----------
    edges
        The reference bin edges.
    sketch_k
        KLL accuracy parameter (400: about 0.7 % rank error).
    rng
        Source of the sketch's compaction offsets for large chunks (fresh entropy when
        omitted). Accumulators updated in parallel need generators of their own.
    """

    def __init__(
        self,
        edges: tuple[float, ...],
        sketch_k: int = DEFAULT_SKETCH_K,
        rng: np.random.Generator | None = None,
    ) -> None:
        self._edges = np.asarray(edges, dtype=np.float64)
        self._sketch_k = sketch_k
        self._rng = rng if rng is not None else np.random.default_rng()
        self._kll = ds.kll_doubles_sketch(sketch_k)
        self._hll = HyperLogLog()
        self._scratch = Scratch()
        self._histogram = np.zeros(len(edges) + 1, dtype=np.int64)
        self._count = self._nulls = self._nans = self._posinf = self._neginf = 0
        self._type_errors = self._finite = 0
        self._min: float | None = None
        self._max: float | None = None
        self._mean = 0.0
        self._m2 = 0.0

    def update(self, values: np.ndarray, nulls: int) -> None:
        """Add a chunk: ``float64`` values with nulls as NaN, and how many were null."""
        missing = 0
        for start in range(0, values.size, SLICE_ROWS):
            missing += self._update_slice(values[start : start + SLICE_ROWS])
        self._count += values.size
        self._nulls += nulls
        self._nans += missing - nulls

    def _update_slice(self, values: np.ndarray) -> int:
        """Add a slice of at most ``SLICE_ROWS`` values; returns how many were NaN."""
        n = values.size
        ordered = self._scratch.take("sorted", n, np.float64)
        np.copyto(ordered, values)
        ordered.sort()  # NaN last
        first_nan = int(np.searchsorted(ordered, np.nan, side="left"))
        numbers = ordered[:first_nan]
        neginf = int(np.searchsorted(numbers, -np.inf, side="right"))
        top = int(np.searchsorted(numbers, np.inf, side="left"))
        finite = numbers[neginf:top]
        self._neginf += neginf
        self._posinf += first_nan - top
        self._histogram += histogram_sorted(finite, self._edges, neginf, first_nan - top)
        if finite.size == 0:
            return n - first_nan
        with np.errstate(over="ignore", invalid="ignore"):  # |x| near 1e308: inf, not a crash
            chunk_mean = float(finite.mean())
            deviations = self._scratch.take("deviations", finite.size, np.float64)
            np.subtract(finite, chunk_mean, out=deviations)
            # not np.dot: BLAS wakes its own threads, which compete with the column threads
            np.square(deviations, out=deviations)
            chunk_m2 = float(deviations.sum())
        self._mean, self._m2 = _merge_moments(
            (self._finite, self._mean, self._m2), (finite.size, chunk_mean, chunk_m2)
        )
        self._finite += finite.size
        low, high = float(finite[0]), float(finite[-1])
        self._min = low if self._min is None else min(self._min, low)
        self._max = high if self._max is None else max(self._max, high)
        if finite.size <= DIRECT_UPDATE_ROWS:
            self._kll.update(finite)
        else:
            self._kll.merge(sketch_of_sorted(finite, self._sketch_k, self._rng))
        fresh = self._scratch.take("fresh", finite.size, np.bool_)
        fresh[0] = True
        np.not_equal(finite[1:], finite[:-1], out=fresh[1:])
        self._hll.update_floats(finite if fresh.all() else finite[fresh], self._scratch)
        return n - first_nan

    def add_type_errors(self, count: int) -> None:
        """Count ``count`` values of a wrong type (not profiled)."""
        self._count += count
        self._type_errors += count

    def summary(self) -> NumericSummary:
        """An immutable snapshot."""
        return NumericSummary(
            count=self._count,
            nulls=self._nulls,
            nans=self._nans,
            posinf=self._posinf,
            neginf=self._neginf,
            type_errors=self._type_errors,
            finite=self._finite,
            minimum=self._min,
            maximum=self._max,
            mean=self._mean,
            m2=self._m2,
            histogram=_frozen(self._histogram.copy()),
            kll=bytes(self._kll.serialize()),
            hll=self._hll.registers,
            sketch_k=self._sketch_k,
        )
