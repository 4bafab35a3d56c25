"""The mutable profile: an accumulator per column plus a row sample, fed chunk by chunk.

>>> import numpy as np
>>> profile = Profile.for_reference({"x": np.arange(1000.0), "c": ["a", "b"] * 500})
>>> view = profile.view()
>>> view.rows, view.numeric("x").maximum, view.categorical("c").counts
(1000, 999.0, {'a': 500, 'b': 500})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from steadyml.core.profiles.bins import DEFAULT_BINS, reference_edges
from steadyml.core.profiles.categorical import (
    DEFAULT_MAX_CATEGORIES,
    CategoricalAccumulator,
    CategoricalSummary,
)
from steadyml.core.profiles.ingest import as_table, numeric_column, text_column
from steadyml.core.profiles.numeric import DEFAULT_SKETCH_K, NumericAccumulator, NumericSummary
from steadyml.core.profiles.reservoir import DEFAULT_SAMPLE_SIZE, Reservoir
from steadyml.core.profiles.schema import ColumnKind, ColumnSchema, ProfileSchema, infer_kind
from steadyml.errors import DataError

if TYPE_CHECKING:
    from steadyml.core.profiles.view import ProfileView

__all__ = ["Profile", "ProfileSettings", "infer_schema"]

_PARALLEL_ROWS = 200_000  # chunks at least this long are profiled one column per thread;
# below it the hand-offs between threads cost more than they save


@dataclass(frozen=True)
class ProfileSettings:
    """Sizes of a profile's sketches and sample (kept with the view, reused by windows).

    Parameters
    ----------
    sample_size
        Rows kept in the uniform sample (for multivariate checks and exact KS).
    sketch_k
        KLL accuracy parameter of the quantile sketches.
    max_categories
        Distinct categories counted exactly before a frequent-items sketch takes over.
    """

    sample_size: int = DEFAULT_SAMPLE_SIZE
    sketch_k: int = DEFAULT_SKETCH_K
    max_categories: int = DEFAULT_MAX_CATEGORIES

    def __post_init__(self) -> None:
        for name, low in (("sample_size", 0), ("sketch_k", 8), ("max_categories", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise DataError(name, value, f"give an integer of at least {low}")

    def to_dict(self) -> dict[str, int]:
        """A JSON-safe mapping."""
        return {
            "sample_size": self.sample_size,
            "sketch_k": self.sketch_k,
            "max_categories": self.max_categories,
        }


def infer_schema(
    table: pa.Table,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
) -> list[tuple[str, ColumnKind]]:
    """Names and kinds of the columns to profile.

    With ``columns=None`` every column of a supported type is taken (dates, binary and
    nested columns are left out); a listed column that is absent or of an unsupported
    type raises :class:`~steadyml.errors.DataError`.
    """
    categorical = tuple(categorical or ())
    wanted = list(table.column_names) if columns is None else list(columns)
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise DataError(
            "columns", missing, f"these columns are not in the data; it has {table.column_names}"
        )
    unknown = [c for c in categorical if c not in wanted]
    if unknown:
        raise DataError("categorical", unknown, "list only columns that are profiled")
    found: list[tuple[str, ColumnKind]] = []
    for name in wanted:
        kind = infer_kind(name, table.schema.field(name).type, categorical)
        if kind is None:
            if columns is not None:
                raise DataError(
                    name,
                    str(table.schema.field(name).type),
                    "cannot profile this type; cast it to a number or a string, or leave it out",
                )
            continue
        found.append((name, kind))
    if not found:
        raise DataError("columns", wanted, "no column of a numeric or text type to profile")
    return found


class Profile:
    """Mutable profile of a column set over a window.

    Build the reference with :meth:`for_reference` (which fixes the bin edges), and every
    later window with ``reference_view.new_profile()`` so that they share those bins.

    Parameters
    ----------
    schema
        Columns, kinds and bin edges.
    settings
        Sketch and sample sizes.
    seed
        Seed of the row sampler; ``None`` draws fresh entropy. Profiles that will be
        merged should not share a seed.
    threads
        Worker threads for large chunks (default: the CPU count, at most 4).
    """

    def __init__(
        self,
        schema: ProfileSchema,
        settings: ProfileSettings | None = None,
        *,
        seed: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.schema = schema
        self.settings = settings or ProfileSettings()
        self._rows = 0
        self._threads = max(1, threads if threads is not None else min(4, os.cpu_count() or 1))
        numeric = [c for c in schema.columns if c.kind is ColumnKind.NUMERIC]
        # the sketches draw from streams of their own: the row sample's stays as seeded
        streams = np.random.SeedSequence(seed).spawn(len(numeric))
        self._numeric = {
            c.name: NumericAccumulator(c.edges, self.settings.sketch_k, np.random.default_rng(s))
            for c, s in zip(numeric, streams, strict=True)
        }
        self._categorical = {
            c.name: CategoricalAccumulator(self.settings.max_categories)
            for c in schema.columns
            if c.kind is ColumnKind.CATEGORICAL
        }
        rng = np.random.default_rng(seed)
        self._reservoir = Reservoir(schema, self.settings.sample_size, rng)

    @classmethod
    def for_reference(
        cls,
        data: object,
        columns: Sequence[str] | None = None,
        *,
        categorical: Sequence[str] | None = None,
        bins: int = DEFAULT_BINS,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        sketch_k: int = DEFAULT_SKETCH_K,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        seed: int | None = None,
    ) -> Profile:
        """Profile reference data, fixing numeric bin edges at its quantiles.

        Parameters
        ----------
        data
            A Polars frame, an Arrow table or record batch, or a dict of arrays.
        columns
            Columns to profile (default: every numeric, text or boolean column).
        categorical
            Columns to treat as categorical although numeric (class labels, codes).
        bins
            Quantile bins per numeric column (spikes get their own bin on top).

        Returns
        -------
        Profile
            Already updated with ``data``; call :meth:`view` for the reference view.
        """
        if not isinstance(bins, int) or bins < 1:
            raise DataError("bins", bins, "give a positive number of bins, e.g. 20")
        table = as_table(data)
        settings = ProfileSettings(sample_size, sketch_k, max_categories)
        schema_columns = []
        for name, kind in infer_schema(table, columns, categorical):
            edges: tuple[float, ...] = ()
            if kind is ColumnKind.NUMERIC:
                converted = numeric_column(table.column(name))
                if converted is not None:
                    values = np.sort(converted[0])
                    values = values[np.isfinite(values)]
                    edges = reference_edges(values, bins)
            schema_columns.append(ColumnSchema(name, kind, edges))
        profile = cls(ProfileSchema(tuple(schema_columns)), settings, seed=seed)
        return profile.update(table)

    @property
    def rows(self) -> int:
        """Rows seen so far."""
        return self._rows

    def update(self, data: object) -> Profile:
        """Add a chunk of rows (Polars, Arrow or a dict of arrays); returns ``self``.

        Columns of the profile absent from the chunk are counted as absent (the view
        reports them); columns the profile does not know are ignored. Values of a
        wrong type (text for a numeric column) are counted, not profiled.
        """
        table = as_table(data)
        if table.num_rows == 0:
            return self
        present = set(table.column_names)
        tasks = [c for c in self.schema.columns if c.name in present]
        if self._threads > 1 and len(tasks) > 1 and table.num_rows >= _PARALLEL_ROWS:
            with ThreadPoolExecutor(min(self._threads, len(tasks))) as pool:
                list(pool.map(lambda c: self._update_column(c, table), tasks))
        else:
            for column in tasks:
                self._update_column(column, table)
        self._reservoir.update(table)
        self._rows += table.num_rows
        return self

    def _update_column(self, column: ColumnSchema, table: pa.Table) -> None:
        data = table.column(column.name)
        if column.kind is ColumnKind.NUMERIC:
            accumulator = self._numeric[column.name]
            converted = numeric_column(data)
            if converted is None:
                accumulator.add_type_errors(len(data))
            else:
                accumulator.update(*converted)
        else:
            categorical = self._categorical[column.name]
            text = text_column(data)
            if text is None:
                categorical.add_type_errors(len(data))
            else:
                categorical.update(text)

    def view(self) -> ProfileView:
        """An immutable, mergeable snapshot of the profile."""
        from steadyml.core.profiles.view import ProfileView

        summaries: dict[str, NumericSummary | CategoricalSummary] = {
            name: acc.summary() for name, acc in self._numeric.items()
        }
        summaries.update({name: acc.summary() for name, acc in self._categorical.items()})
        return ProfileView(
            schema=self.schema,
            rows=self._rows,
            columns={c.name: summaries[c.name] for c in self.schema.columns},
            sample=self._reservoir.sample(),
            settings=self.settings,
        )
