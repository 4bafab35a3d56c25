"""Profiles of data that arrive in chunks (a Parquet file larger than memory, a stream).

No file is opened here: callers hand in an iterable of batches (Arrow record batches,
tables, Polars frames). A reference needs two passes - the first fixes the bin edges
from quantile sketches, the second profiles - so it takes a function that yields the
batches afresh each time it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import datasketches as ds
import numpy as np

from steadyml.core.profiles.accumulator import Profile, ProfileSettings, infer_schema
from steadyml.core.profiles.bins import DEFAULT_BINS, edges_from_sketch
from steadyml.core.profiles.categorical import DEFAULT_MAX_CATEGORIES
from steadyml.core.profiles.ingest import as_table, numeric_column
from steadyml.core.profiles.numeric import DEFAULT_SKETCH_K
from steadyml.core.profiles.reservoir import DEFAULT_SAMPLE_SIZE
from steadyml.core.profiles.schema import ColumnKind, ColumnSchema, ProfileSchema
from steadyml.core.profiles.view import ProfileView
from steadyml.errors import DataError

__all__ = ["profile_batches", "reference_from_batches"]

_EDGE_SKETCH_K = 400  # edges only need to be stable, but a finer sketch costs little


def profile_batches(
    batches: Iterable[object],
    reference: ProfileView,
    *,
    seed: int | None = None,
    threads: int | None = None,
) -> ProfileView:
    """Profile a window given as batches, on the bins of ``reference``.

    Memory stays flat in the number of rows: one batch at a time is held.
    """
    profile = reference.new_profile(seed=seed, threads=threads)
    for batch in batches:
        profile.update(batch)
    return profile.view()


def reference_from_batches(
    batches: Callable[[], Iterable[object]],
    columns: Sequence[str] | None = None,
    *,
    categorical: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    sketch_k: int = DEFAULT_SKETCH_K,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    seed: int | None = None,
    threads: int | None = None,
) -> ProfileView:
    """Profile reference data given as batches, in two passes.

    Parameters
    ----------
    batches
        A function returning a fresh iterable of batches each time it is called.
    columns, categorical, bins, sample_size, sketch_k, max_categories, seed
        As for :meth:`Profile.for_reference`. Edges come from a quantile sketch of the
        first pass, so they can differ slightly from those of an in-memory reference.
    """
    if not isinstance(bins, int) or bins < 1:
        raise DataError("bins", bins, "give a positive number of bins, e.g. 20")
    kinds: list[tuple[str, ColumnKind]] | None = None
    sketches: dict[str, ds.kll_doubles_sketch] = {}
    for batch in batches():
        table = as_table(batch)
        if kinds is None:
            kinds = infer_schema(table, columns, categorical)
            sketches = {
                name: ds.kll_doubles_sketch(_EDGE_SKETCH_K)
                for name, kind in kinds
                if kind is ColumnKind.NUMERIC
            }
        for name, sketch in sketches.items():
            if name in table.column_names:
                converted = numeric_column(table.column(name))
                if converted is not None:
                    values = converted[0]
                    sketch.update(np.ascontiguousarray(values[np.isfinite(values)]))
    if kinds is None:
        raise DataError("batches", 0, "the reference data has no batches; give some rows")
    schema = ProfileSchema(
        tuple(
            ColumnSchema(
                name, kind, edges_from_sketch(sketches[name], bins) if name in sketches else ()
            )
            for name, kind in kinds
        )
    )
    profile = Profile(
        schema, ProfileSettings(sample_size, sketch_k, max_categories), seed=seed, threads=threads
    )
    for batch in batches():
        profile.update(batch)
    return profile.view()
