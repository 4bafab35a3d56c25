"""Line up a feature's reference and current counts on the same bins.

Numeric features use the reference bin edges (two out-of-range bins included) plus a
``(missing)`` bin for nulls and NaN. Categorical features use the reference's most
frequent categories, one ``(other)`` bin for the rest of the reference's categories, a
``(new)`` bin for categories the reference never saw, and ``(missing)``. Missing values
are part of the distribution on purpose: a column that goes null is a drift of what the
model sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from steadyml.core.profiles.bins import bin_labels
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary

__all__ = ["DEFAULT_MAX_CATEGORY_BINS", "AlignedCounts", "align_categorical", "align_numeric"]

DEFAULT_MAX_CATEGORY_BINS = 100
OTHER = "(other)"
NEW = "(new)"
MISSING = "(missing)"


@dataclass(frozen=True)
class AlignedCounts:
    """Reference and current counts on shared bins.

    Attributes
    ----------
    labels
        One label per bin.
    reference, current
        Counts per bin (``int64``).
    new_categories
        Categorical only: the most frequent current categories unknown to the
        reference, with their counts.
    """

    labels: tuple[str, ...]
    reference: np.ndarray
    current: np.ndarray
    new_categories: tuple[tuple[str, int], ...] = ()

    def share(self, label: str, *, current: bool = True) -> float:
        """Share of a bin in one window (0 when the bin does not exist)."""
        if label not in self.labels:
            return 0.0
        counts = self.current if current else self.reference
        total = counts.sum()
        return float(counts[self.labels.index(label)] / total) if total else 0.0


def align_numeric(
    edges: tuple[float, ...], reference: NumericSummary, current: NumericSummary
) -> AlignedCounts:
    """Histogram bins plus a missing bin."""
    labels = (*bin_labels(edges), MISSING)
    ref = np.append(reference.histogram, reference.missing).astype(np.int64)
    cur = np.append(current.histogram, current.missing).astype(np.int64)
    return AlignedCounts(labels, ref, cur)


def align_categorical(
    reference: CategoricalSummary,
    current: CategoricalSummary,
    max_bins: int = DEFAULT_MAX_CATEGORY_BINS,
) -> AlignedCounts:
    """The reference's top categories, then other / new / missing bins."""
    ranked = reference.top()
    kept = [category for category, _ in ranked[:max_bins]]
    ref_kept = reference.frequencies(kept)
    cur_kept = current.frequencies(kept)
    ref_other = reference.present - int(ref_kept.sum())
    known = set(reference.counts) if reference.counts is not None else {c for c, _ in ranked}
    cur_top = current.top()
    new = [(c, n) for c, n in cur_top if c not in known]
    cur_new = sum(n for _, n in new) if reference.counts is not None else 0
    cur_other = max(current.present - int(cur_kept.sum()) - cur_new, 0)
    labels = (*kept, OTHER, NEW, MISSING)
    ref = np.array([*ref_kept.tolist(), max(ref_other, 0), 0, reference.missing], dtype=np.int64)
    cur = np.array([*cur_kept.tolist(), cur_other, cur_new, current.missing], dtype=np.int64)
    return AlignedCounts(labels, ref, cur, tuple(new[:5]))
