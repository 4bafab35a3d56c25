"""Mergeable, serialisable statistical profiles of a column set over a window.

A :class:`Profile` accumulates chunks (Polars, Arrow or NumPy columns, vectorized); its
:meth:`~Profile.view` is an immutable :class:`ProfileView` that merges with other views
of the same schema, and round-trips through JSON and bytes. The reference profile fixes
numeric bin edges; every later window is profiled on them with
``reference_view.new_profile()``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> reference = Profile.for_reference({"x": rng.normal(size=10_000)}, seed=1).view()
>>> window = reference.new_profile(seed=2).update({"x": rng.normal(size=5_000)}).view()
>>> merged = window.merge(window)
>>> merged.rows, int(merged.numeric("x").histogram.sum())
(10000, 10000)
>>> ProfileView.from_bytes(merged.to_bytes()) == merged
True
"""

from steadyml.core.profiles.accumulator import Profile, ProfileSettings, infer_schema
from steadyml.core.profiles.batches import profile_batches, reference_from_batches
from steadyml.core.profiles.bins import bin_labels, edges_from_quantiles, reference_edges
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.hll import HyperLogLog
from steadyml.core.profiles.ingest import FrameLike, as_table
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.core.profiles.reservoir import RowSample
from steadyml.core.profiles.schema import ColumnKind, ColumnSchema, ProfileSchema
from steadyml.core.profiles.view import ColumnSummary, ProfileView

__all__ = [
    "CategoricalSummary",
    "ColumnKind",
    "ColumnSchema",
    "ColumnSummary",
    "FrameLike",
    "HyperLogLog",
    "NumericSummary",
    "Profile",
    "ProfileSchema",
    "ProfileSettings",
    "ProfileView",
    "RowSample",
    "as_table",
    "bin_labels",
    "edges_from_quantiles",
    "infer_schema",
    "profile_batches",
    "reference_edges",
    "reference_from_batches",
]
