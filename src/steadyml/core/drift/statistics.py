"""Every statistic reported for a feature, and plain-language notes about what changed.

Decisions use one statistic (the tolerance's metric); the others are here so a person
can see the change from several angles: PSI, Jensen-Shannon, Hellinger, TVD and
chi-squared on the aligned bins, and for numeric features KS and the normalised
Wasserstein distance (exact on complete samples, from the quantile sketches otherwise).
"""

from __future__ import annotations

import numpy as np

from steadyml.core.drift.aligned import MISSING, NEW, AlignedCounts
from steadyml.core.drift.chi2 import chi_squared
from steadyml.core.drift.hellinger import hellinger
from steadyml.core.drift.jensen_shannon import jensen_shannon
from steadyml.core.drift.ks import ks_from_samples, ks_from_sketches
from steadyml.core.drift.psi import population_stability_index
from steadyml.core.drift.tvd import total_variation
from steadyml.core.drift.wasserstein import wasserstein_from_samples, wasserstein_from_sketches
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.view import ProfileView

__all__ = ["categorical_statistics", "histogram_statistics", "numeric_statistics"]

Stats = dict[str, float | None]


def histogram_statistics(aligned: AlignedCounts) -> Stats:
    """PSI, JS, Hellinger, TVD and chi-squared on the aligned bins."""
    ref, cur = aligned.reference, aligned.current
    chi = chi_squared(ref, cur)
    return {
        "tvd": float(total_variation(ref, cur)),
        "psi": float(population_stability_index(ref, cur)),
        "js": float(jensen_shannon(ref, cur)),
        "hellinger": float(hellinger(ref, cur)),
        "chi2": chi.statistic,
        "chi2_dof": float(chi.dof),
        "chi2_p_value": chi.p_value,
        "missing_share_reference": aligned.share(MISSING, current=False),
        "missing_share_current": aligned.share(MISSING),
    }


def _missing_note(stats: Stats) -> list[str]:
    before = stats["missing_share_reference"] or 0.0
    after = stats["missing_share_current"] or 0.0
    if after >= 1.0:
        return ["every current value is missing"]
    if abs(after - before) >= 0.01:
        return [f"missing values: {before:.1%} of the reference, {after:.1%} now"]
    return []


def numeric_statistics(
    name: str, aligned: AlignedCounts, views: tuple[ProfileView, ProfileView]
) -> tuple[Stats, list[str]]:
    """Histogram statistics plus KS, Wasserstein and moment shifts of a numeric feature."""
    ref, cur = views[0].numeric(name), views[1].numeric(name)
    stats = histogram_statistics(aligned)
    notes = _missing_note(stats)
    std = ref.std
    spread = std if np.isfinite(std) and std > 0 else None
    stats["mean_shift"] = (cur.mean - ref.mean) / spread if spread and cur.finite else None
    stats["std_ratio"] = cur.std / spread if spread and cur.finite > 1 else None
    stats["mean_shift_se"] = _mean_shift_se(
        ref.variance, ref.finite, cur.variance, cur.finite, spread
    )
    outside = int(aligned.current[0] + aligned.current[-2])
    stats["out_of_range_share"] = outside / max(int(aligned.current.sum()), 1)
    stats.update(_distance_statistics(name, views, spread))
    if ref.minimum is not None and ref.minimum == ref.maximum:
        notes.append(f"the reference is constant ({ref.minimum:g})")
    if outside and ref.minimum is not None:
        notes.append(
            f"{outside} current values ({stats['out_of_range_share']:.2%}) lie outside the "
            f"reference range [{ref.minimum:g}, {ref.maximum:g}]"
        )
    if cur.posinf or cur.neginf:
        notes.append(f"{cur.posinf + cur.neginf} current values are infinite")
    return stats, notes


def _mean_shift_se(
    ref_variance: float, ref_n: int, cur_variance: float, cur_n: int, spread: float | None
) -> float | None:
    """Standard error of ``mean_shift`` (Welch: both means are estimates), in reference std."""
    if not spread or ref_n < 2 or cur_n < 2:
        return None
    se = np.sqrt(cur_variance / cur_n + ref_variance / ref_n) / spread
    return float(se) if np.isfinite(se) else None


def _distance_statistics(
    name: str, views: tuple[ProfileView, ProfileView], spread: float | None
) -> Stats:
    reference, current = views
    ref, cur = reference.numeric(name), current.numeric(name)
    stats: Stats = {"ks": None, "ks_p_value": None, "ks_critical": None, "ks_error": None}
    stats["wasserstein"] = None
    if ref.finite == 0 or cur.finite == 0:
        return stats
    exact = reference.sample_is_complete and current.sample_is_complete
    try:
        if exact:
            a, b = reference.sample.columns[name], current.sample.columns[name]
            ks = ks_from_samples(a, b)
            distance = wasserstein_from_samples(a, b)
        else:
            sketch_a, sketch_b = ref.quantile_sketch(), cur.quantile_sketch()
            ks = ks_from_sketches(sketch_a, sketch_b)
            distance = wasserstein_from_sketches(sketch_a, sketch_b)
    except ValueError:
        return stats
    stats.update(
        ks=ks.statistic, ks_p_value=ks.p_value, ks_critical=ks.critical_value, ks_error=ks.error
    )
    stats["wasserstein"] = distance / spread if spread else None
    return stats


def categorical_statistics(
    aligned: AlignedCounts, ref: CategoricalSummary, cur: CategoricalSummary
) -> tuple[Stats, list[str]]:
    """Histogram statistics plus new-category share and distinct counts."""
    stats = histogram_statistics(aligned)
    notes = _missing_note(stats)
    stats["new_share"] = aligned.share(NEW)
    stats["distinct_reference"] = ref.distinct()
    stats["distinct_current"] = cur.distinct()
    if aligned.new_categories:
        examples = ", ".join(f"{c!r} ({n})" for c, n in aligned.new_categories[:3])
        notes.append(
            f"{stats['new_share']:.2%} of current values are categories the reference never "
            f"saw, e.g. {examples}"
        )
    if not (ref.is_exact and cur.is_exact):
        notes.append(
            "high-cardinality column: frequencies estimated by a frequent-items sketch "
            f"(error at most {max(ref.error_bound, cur.error_bound):.0f} rows)"
        )
    if ref.is_exact and ref.counts is not None and len(ref.counts) == 1:
        notes.append(f"the reference is constant ({next(iter(ref.counts))!r})")
    return stats, notes
