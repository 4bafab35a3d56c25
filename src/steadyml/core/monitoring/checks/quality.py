"""Data quality per window: rejections, null spikes, type errors, unseen categories, ranges.

Two sources see a bad value: the server's contract check (a refused record names the
field and the violation in ``rejection_reason``; an accepted but flagged one in
``flags``) and the window's input profile (accepted values, on the reference's bins).
Per feature, a rate counts the refused records plus the larger of the flagged count
and the profile's count (a flagged value that was kept is in both; an imputed one only
in the flags), over all records of the window:

* ``quality.null_rate:F`` - missing values *above the reference's own missing share*
  (a null spike; the reference share is subtracted from value and interval);
* ``quality.type_error_rate:F`` - values of a wrong type, or the field absent;
* ``quality.unseen_rate:F`` - categories the reference never saw (categorical);
* ``quality.out_of_range_rate:F`` - values outside the reference range (numeric);
* ``quality.rejection_rate`` - refused records, against the rejection-rate SLO.
"""

from __future__ import annotations

from steadyml.core.monitoring.context import Reference, WindowData
from steadyml.core.monitoring.measurements import Measurement, rate_measurement
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.core.profiles.view import ProfileView
from steadyml.spec import ServiceSpec

__all__ = ["NULL_SPIKE", "TYPE_ERRORS", "UNSEEN", "check_quality"]

NULL_SPIKE = 0.05  # objective: at most 5 points more missing values than the reference
TYPE_ERRORS = 0.01
UNSEEN = 0.02
OUT_OF_RANGE = 0.02


def _profile_counts(view: ProfileView | None, reference: Reference, name: str) -> dict[str, int]:
    if view is None or name not in view.schema:
        return {"null": 0, "type": 0, "unseen": 0, "range": 0}
    summary = view.columns[name]
    counts = {"null": summary.missing, "type": summary.type_errors + view.absent(name)}
    ref = reference.profile.columns[name]
    if isinstance(summary, CategoricalSummary) and isinstance(ref, CategoricalSummary):
        known = set(ref.counts) if ref.counts is not None else {c for c, _ in ref.top()}
        current = summary.counts if summary.counts is not None else dict(summary.top())
        counts["unseen"] = sum(n for c, n in current.items() if c not in known)
        counts["range"] = 0
    elif isinstance(summary, NumericSummary):
        histogram = summary.histogram
        counts["unseen"] = 0
        counts["range"] = int(histogram[0] + histogram[-1]) if histogram.size > 1 else 0
    return counts


def _reference_missing(reference: Reference, name: str) -> float:
    summary = reference.profile.columns[name]
    return summary.missing / summary.count if summary.count else 0.0


def check_quality(
    window: WindowData, reference: Reference | None, spec: ServiceSpec
) -> list[Measurement]:
    """Quality measurements of one model version's window (see the module docstring)."""
    summary = window.summary
    if summary is None or summary.rows == 0:
        return []
    rows = summary.rows
    rejected = summary.status("rejected")
    out = [
        rate_measurement(
            "quality.rejection_rate",
            rejected,
            rows,
            spec.slos.rejection_rate,
            details={
                "top_reasons": dict(sorted(summary.rejections.items(), key=lambda kv: -kv[1])[:5])
            },
        )
    ]
    if reference is None:
        return out
    for name in reference.features:
        profiled = _profile_counts(window.inputs, reference, name)
        kinds: dict[str, tuple[tuple[str, ...], str, float]] = {
            "null": (("null", "not_finite"), "quality.null_rate", NULL_SPIKE),
            "type": (("wrong_type", "missing"), "quality.type_error_rate", TYPE_ERRORS),
        }
        ref_column = reference.profile.columns[name]
        if isinstance(ref_column, CategoricalSummary):
            kinds["unseen"] = (("unseen_category",), "quality.unseen_rate", UNSEEN)
        else:
            kinds["range"] = (("out_of_range",), "quality.out_of_range_rate", OUT_OF_RANGE)
        for key, (violations, metric, objective) in kinds.items():
            refused, flagged = summary.violations(name, violations)
            count = refused + max(flagged, profiled[key])
            baseline = _reference_missing(reference, name) if key == "null" else 0.0
            out.append(
                rate_measurement(
                    metric,
                    count,
                    rows,
                    objective,
                    subject=name,
                    baseline=baseline,
                    details={"refused": refused, "flagged": flagged, "profiled": profiled[key]},
                )
            )
    return out
