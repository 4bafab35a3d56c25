"""Profiles of data that arrive in chunks (a Parquet file larger than memory, a stream).

No file is opened here: callers hand in an iterable of batches (Arrow record batches,
tables, Polars frames). A reference needs two passes - the first fixes the bin edges
from quantile sketches, the second profiles - so it takes a function that yields the
batches afresh each time it is called; a caller may let a small reference (up to
``keep_bytes`` of batches, e.g. ``KEEP_BYTES``) be kept in memory after the first pass
instead of being read twice.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Sequence

import datasketches as ds
import numpy as np
import pyarrow as pa

from steadyml.core.profiles.accumulator import Profile, ProfileSettings, infer_schema
from steadyml.core.profiles.bins import DEFAULT_BINS, edges_from_sketch
from steadyml.core.profiles.categorical import DEFAULT_MAX_CATEGORIES
from steadyml.core.profiles.ingest import as_table, numeric_column
from steadyml.core.profiles.kll import sketch_of_sorted
from steadyml.core.profiles.numeric import DEFAULT_SKETCH_K
from steadyml.core.profiles.reservoir import DEFAULT_SAMPLE_SIZE
from steadyml.core.profiles.schema import ColumnKind, ColumnSchema, ProfileSchema
from steadyml.core.profiles.view import ProfileView
from steadyml.errors import DataError

__all__ = ["KEEP_BYTES", "PREFETCH", "profile_batches", "read_ahead", "reference_from_batches"]

_EDGE_SKETCH_K = 400  # edges only need to be stable, but a finer sketch costs little
KEEP_BYTES = 256 << 20
"""A sensible ``keep_bytes``: references up to this size are read once, not twice."""
PREFETCH = 2
"""Batches read ahead while one is profiled."""
_END = object()


def profile_batches(
    batches: Iterable[object],
    reference: ProfileView,
    *,
    seed: int | None = None,
    threads: int | None = None,
) -> ProfileView:
    """Profile a window given as batches, on the bins of ``reference``.

    Memory stays flat in the number of rows: the batch being profiled and at most
    ``PREFETCH`` more, read ahead by a helper thread while the columns are profiled.
    """
    profile = reference.new_profile(seed=seed, threads=threads)
    for batch in read_ahead(batches):
        profile.update(batch)
    return profile.view()


def read_ahead(batches: Iterable[object], depth: int = PREFETCH) -> Generator[object, None, None]:
    """Iterate ``batches`` with up to ``depth`` of them fetched ahead in a helper thread.

    Reading and decoding the next batch (Arrow releases the GIL) then overlaps the
    profiling of the current one. An error in the iterable is raised here; stopping
    early stops the helper.
    """
    slots: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer((False, batch)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer((True, exc))
            return
        offer((True, _END))

    helper = threading.Thread(target=produce, name="steadyml-read-ahead", daemon=True)
    helper.start()
    try:
        while True:
            done, item = slots.get()
            if done:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item
    finally:
        stop.set()
        helper.join()


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
    keep_bytes: int = 0,
) -> ProfileView:
    """Profile reference data given as batches, in two passes.

    Parameters
    ----------
    batches
        A function returning a fresh iterable of batches each time it is called.
    columns, categorical, bins, sample_size, sketch_k, max_categories, seed
        As for :meth:`Profile.for_reference`. Edges come from a quantile sketch of the
        first pass, so they can differ slightly from those of an in-memory reference.
    keep_bytes
        When the batches total at most this many bytes, the first pass keeps them and
        the second pass reuses them instead of calling ``batches`` again.
    """
    if not isinstance(bins, int) or bins < 1:
        raise DataError("bins", bins, "give a positive number of bins, e.g. 20")
    kinds: list[tuple[str, ColumnKind]] | None = None
    sketches: dict[str, ds.kll_doubles_sketch] = {}
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    kept: list[pa.Table] | None = []
    kept_bytes = 0
    for batch in read_ahead(batches()):
        table = as_table(batch)
        if kept is not None:
            kept_bytes += table.nbytes
            if kept_bytes <= keep_bytes:
                kept.append(table)
            else:
                kept = None
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
                    values = np.sort(converted[0])  # NaN last
                    finite = values[: int(np.searchsorted(values, np.nan))]
                    finite = finite[np.isfinite(finite)]
                    sketch.merge(sketch_of_sorted(finite, _EDGE_SKETCH_K, rng))
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
    for batch in read_ahead(batches()) if kept is None else kept:
        profile.update(batch)
    return profile.view()
