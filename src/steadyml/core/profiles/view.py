"""The immutable profile view: what is stored, shipped, merged and compared.

Views built on the same schema (the reference's bins) merge exactly: counts and
histograms add up, moments combine with Chan's formulas, sketches merge within their
recorded error, and the row sample stays a uniform bottom-k sample of the union.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from steadyml.core.profiles.accumulator import Profile, ProfileSettings
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.core.profiles.reservoir import RowSample
from steadyml.core.profiles.schema import ColumnKind, ProfileSchema
from steadyml.errors import DataError

__all__ = ["ColumnSummary", "ProfileView"]

ColumnSummary = NumericSummary | CategoricalSummary


def _merge_summaries(name: str, a: ColumnSummary, b: ColumnSummary) -> ColumnSummary:
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return a.merge(b)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        return a.merge(b)
    raise DataError(name, None, "summaries of different kinds cannot be merged")


@dataclass(frozen=True, eq=False)
class ProfileView:
    """Immutable, mergeable, serialisable profile of a column set over a window.

    Attributes
    ----------
    schema
        Columns, kinds and reference bin edges.
    rows
        Rows seen. A column summary that counts fewer rows was absent from some chunks.
    columns
        The summary of each column, by name.
    sample
        A uniform sample of rows (at most ``settings.sample_size``).
    settings
        Sketch and sample sizes, reused by :meth:`new_profile`.
    """

    schema: ProfileSchema
    rows: int
    columns: Mapping[str, ColumnSummary]
    sample: RowSample
    settings: ProfileSettings

    # -- access --------------------------------------------------------------------

    def column(self, name: str) -> ColumnSummary:
        """The summary of ``name``."""
        if name not in self.columns:
            raise DataError(name, None, f"not a profiled column; known: {list(self.columns)}")
        return self.columns[name]

    def numeric(self, name: str) -> NumericSummary:
        """The summary of numeric column ``name``."""
        summary = self.column(name)
        if not isinstance(summary, NumericSummary):
            raise DataError(name, "categorical", "this column is categorical, not numeric")
        return summary

    def categorical(self, name: str) -> CategoricalSummary:
        """The summary of categorical column ``name``."""
        summary = self.column(name)
        if not isinstance(summary, CategoricalSummary):
            raise DataError(name, "numeric", "this column is numeric, not categorical")
        return summary

    def absent(self, name: str) -> int:
        """Rows of the window in which column ``name`` was not present at all."""
        return self.rows - self.column(name).count

    @property
    def sample_is_complete(self) -> bool:
        """True when the sample holds every row of the window (exact tests possible)."""
        return len(self.sample) == self.rows

    def sample_frame(self) -> pl.DataFrame:
        """The row sample as a Polars frame (numeric as Float64, categorical as String)."""
        data: dict[str, pl.Series] = {}
        for column in self.schema.columns:
            values = self.sample.columns[column.name]
            if column.kind is ColumnKind.NUMERIC:
                data[column.name] = pl.Series(column.name, values, dtype=pl.Float64)
            else:
                data[column.name] = pl.Series(column.name, values.tolist(), dtype=pl.String)
        return pl.DataFrame(data)

    # -- windows -------------------------------------------------------------------

    def new_profile(self, *, seed: int | None = None, threads: int | None = None) -> Profile:
        """An empty accumulator on this view's bins, for a window to compare with it."""
        return Profile(self.schema, self.settings, seed=seed, threads=threads)

    def merge(self, other: ProfileView) -> ProfileView:
        """The view of both windows together.

        Raises
        ------
        DataError
            When the views were not built on the same schema (same columns, kinds and
            bin edges): build windows with ``reference_view.new_profile()``.
        """
        if not isinstance(other, ProfileView):
            raise DataError("other", type(other).__name__, "merge a ProfileView")
        if self.schema != other.schema:
            raise DataError(
                "profile",
                f"columns {list(other.schema.names)}",
                "merge only profiles built on the same reference bins "
                "(create each with reference_view.new_profile())",
            )
        settings = ProfileSettings(
            min(self.settings.sample_size, other.settings.sample_size),
            min(self.settings.sketch_k, other.settings.sketch_k),
            min(self.settings.max_categories, other.settings.max_categories),
        )
        columns: dict[str, ColumnSummary] = {}
        for name, summary in self.columns.items():
            columns[name] = _merge_summaries(name, summary, other.columns[name])
        sample = RowSample(settings.sample_size, self.sample.keys, self.sample.columns).merge(
            other.sample
        )
        return ProfileView(self.schema, self.rows + other.rows, columns, sample, settings)

    # -- serialisation ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (see :mod:`~steadyml.core.profiles.codec`)."""
        from steadyml.core.profiles.codec import view_to_dict

        return view_to_dict(self)

    @classmethod
    def from_dict(cls, raw: object) -> ProfileView:
        """Inverse of :meth:`to_dict`; raises :class:`~steadyml.errors.DataError`."""
        from steadyml.core.profiles.codec import view_from_dict

        return view_from_dict(raw)

    def to_bytes(self) -> bytes:
        """Compact bytes (compressed JSON with a format header)."""
        from steadyml.core.profiles.codec import view_to_bytes

        return view_to_bytes(self)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> ProfileView:
        """Inverse of :meth:`to_bytes`; raises :class:`~steadyml.errors.DataError`."""
        from steadyml.core.profiles.codec import view_from_bytes

        return view_from_bytes(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProfileView):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.schema, self.rows))
