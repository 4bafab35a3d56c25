"""Batches on their way into the log: admit on the caller's side, convert and split later.

The caller's side must stay cheap (a few microseconds per row at most), so
:meth:`BatchAdmitter.admit` only counts rows, checks required columns for nulls and checks
the batch's schema once per distinct schema. Converting (Polars to Arrow, casts, filling
``service``/``worker``) runs on the writer thread over everything queued at once, where it
costs a fraction of a microsecond per row. A caller whose rows are cheaper to keep as they
are than to turn into Arrow appends :class:`DeferredRows`: the writer builds the table of a
whole run of them with one call.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import ClassVar, TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa

from steadyml.adapters.predlog.schema import ConformPlan, LogSchemaError

__all__ = [
    "BatchAdmitter",
    "DeferredRows",
    "Item",
    "release_gradually",
    "split_by_hour",
    "to_table",
]


class DeferredRows(ABC):
    """Log rows whose Arrow table is built later, on the writer thread, many at a time.

    Building an Arrow table has a fixed cost per call (tens of Arrow calls, whatever the
    row count); a server appending one small batch per micro-batch would pay it hundreds
    of times a second on its hot path. A subclass keeps what the caller already has
    (arrays, frames) and implements :meth:`build`, which the writer calls once per run of
    queued items of the same class and schema, per commit.

    Attributes
    ----------
    num_rows
        The rows the item stands for (counted at append, for the queue bound and acks).
    schema
        The schema of the table :meth:`build` returns for it (its class groups items).
    """

    num_rows: int
    schema: pa.Schema

    #: Names the class's journal form (see :meth:`to_journal`); None: it has none, and a
    #: strict-mode writer journals the built table instead.
    journal_tag: ClassVar[str | None] = None

    @classmethod
    @abstractmethod
    def build(cls, items: Sequence[DeferredRows]) -> pa.Table:
        """One table of the rows of ``items`` (all of this class and schema), in order."""

    def to_journal(self) -> list[bytes | memoryview]:
        """The item as bytes (in pieces), cheaper to make than its table.

        A strict-mode writer appends them to its journal at every commit;
        :meth:`from_journal` must give back an item that builds the same rows.
        """
        raise NotImplementedError(f"{type(self).__name__} has no journal form")

    @classmethod
    def from_journal(cls, data: memoryview, schema: pa.Schema) -> DeferredRows:
        """The item :meth:`to_journal` wrote, for a writer of log schema ``schema``.

        Raises
        ------
        ValueError
            When ``data`` is not such an item.
        """
        raise NotImplementedError(f"{cls.__name__} has no journal form")


Item: TypeAlias = pa.RecordBatch | pa.Table | pl.DataFrame | DeferredRows
_PER_HOUR = {"s": 3_600, "ms": 3_600_000, "us": 3_600_000_000, "ns": 3_600_000_000_000}


class BatchAdmitter:
    """Check batches against a log schema and convert them to it.

    Parameters
    ----------
    schema
        The log schema.
    time_column
        The UTC timestamp column that decides each record's partition hour.
    fill
        Constants for absent columns (``service``, ``worker``).
    """

    def __init__(self, schema: pa.Schema, time_column: str, fill: Mapping[str, str]) -> None:
        if time_column not in schema.names:
            raise LogSchemaError(time_column, None, "the log schema needs this timestamp column")
        time_type = schema.field(time_column).type
        if not pa.types.is_timestamp(time_type) or time_type.tz not in ("UTC", "+00:00"):
            raise LogSchemaError(
                time_column, str(time_type), "make it a UTC timestamp, e.g. timestamp[us, UTC]"
            )
        self.schema = schema
        self.time_column = time_column
        self.fill = {name: value for name, value in fill.items() if name in schema.names}
        self._required = [
            field.name for field in schema if not field.nullable and field.name not in self.fill
        ]
        self._plans: list[ConformPlan] = [ConformPlan(schema, schema, self.fill)]
        self._polars_ok: list[tuple[list[str], list[pl.DataType]]] = []

    def admit(self, batch: object) -> int:
        """Check one batch; return its row count.

        Raises
        ------
        LogSchemaError
            When the batch is of an unknown type, its schema does not fit, or a required
            column holds nulls.
        """
        if isinstance(batch, pl.DataFrame):
            rows = batch.height
            key = (batch.columns, batch.dtypes)
            if key not in self._polars_ok:
                for name, dtype in zip(batch.columns, batch.dtypes, strict=True):
                    if dtype == pl.Object:  # Arrow cannot hold Python objects: never sealable
                        raise LogSchemaError(
                            name, "Object", "give this column a concrete type (str, number, ...)"
                        )
                self.plan(batch.head(0).to_arrow().schema)
                self._polars_ok.append(key)
            for name in self._required:
                if batch.get_column(name).null_count():
                    self._nulls(name)
            return rows
        if isinstance(batch, DeferredRows):  # its table is checked when it is built
            return batch.num_rows
        if isinstance(batch, pa.RecordBatch | pa.Table):
            self.plan(batch.schema)
            for name in self._required:
                if batch.column(name).null_count:
                    self._nulls(name)
            return int(batch.num_rows)
        raise LogSchemaError(
            "batch",
            type(batch).__name__,
            "append a pyarrow RecordBatch or Table, a polars DataFrame or DeferredRows",
        )

    @staticmethod
    def _nulls(name: str) -> None:
        raise LogSchemaError(name, None, "a required column holds nulls; fill it in every record")

    def plan(self, given: pa.Schema) -> ConformPlan:
        """The (cached) conversion plan for tables of schema ``given``.

        Raises
        ------
        LogSchemaError
            When tables of that schema cannot be stored in the log.
        """
        for plan in self._plans:
            if plan.given.equals(given):
                return plan
        plan = ConformPlan(given, self.schema, self.fill)
        self._plans.append(plan)
        return plan

    def conform(self, table: pa.Table) -> pa.Table:
        """Cast an admitted table to the log schema (unsafe casts: no value checks)."""
        if table.schema.equals(self.schema):
            return table
        return self.plan(table.schema).apply(table, safe=False)


Built: TypeAlias = pa.RecordBatch | pa.Table | pl.DataFrame


def _build_deferred(items: list[Item]) -> list[Built]:
    """``items`` with each run of :class:`DeferredRows` (one class and schema) built."""

    def kind(item: Item) -> tuple[type, int] | None:
        return (type(item), id(item.schema)) if isinstance(item, DeferredRows) else None

    built: list[Built] = []
    for key, run in groupby(items, key=kind):
        if key is None:
            built.extend(item for item in run if not isinstance(item, DeferredRows))
        else:
            built.append(key[0].build(list(run)))  # type: ignore[attr-defined]
    return built


def to_table(items: list[Item], admitter: BatchAdmitter) -> pa.Table:
    """Turn admitted batches into one contiguous table in the log schema."""
    built = _build_deferred(items)
    frames = [item for item in built if isinstance(item, pl.DataFrame)]
    parts: list[pa.Table] = []
    if frames:
        try:
            parts.append(pl.concat(frames, how="vertical_relaxed", rechunk=True).to_arrow())
        except (pl.exceptions.PolarsError, TypeError, ValueError):
            parts.extend(frame.to_arrow() for frame in frames)
    groups: list[list[pa.Table]] = []  # runs of one schema: conform each run once
    for item in built:
        if isinstance(item, pl.DataFrame):
            continue
        table = item if isinstance(item, pa.Table) else pa.Table.from_batches([item])
        if groups and groups[-1][0].schema.equals(table.schema):
            groups[-1].append(table)
        else:
            groups.append([table])
    # one chunk per run before the cast: casting a nested schema costs ~150 µs per chunk,
    # and a second of micro-batches is hundreds of chunks (the cast held the GIL for 50 ms)
    parts += [pa.concat_tables(group).combine_chunks() for group in groups]
    tables = [admitter.conform(part) for part in parts]
    return pa.concat_tables(tables).combine_chunks()


def release_gradually(items: list[Item], step: int = 8) -> None:
    """Empty ``items`` a few at a time, letting the other threads run in between.

    A second of micro-batches is hundreds of Arrow tables; dropping them in one go frees
    their tens of thousands of buffers inside one bytecode, with the GIL held (20 ms
    measured at 7,000 requests/s: the event loop and the batch thread stood still).
    """
    while items:
        del items[-step:]
        time.sleep(0)  # a GIL hand-over point


def split_by_hour(table: pa.Table, time_column: str) -> list[tuple[int, pa.Table]]:
    """Split ``table`` by the UTC hour of ``time_column``: ``[(hour key, rows), ...]``."""
    column = table.column(time_column)
    per_hour = _PER_HOUR[column.type.unit]
    keys = np.floor_divide(column.cast(pa.int64()).to_numpy(), per_hour)
    if keys.size == 0:
        return []
    first = int(keys[0])
    if bool((keys == first).all()):
        return [(first, table)]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [ordered.size]))
    return [
        (int(ordered[start]), table.take(pa.array(order[start:end])))
        for start, end in zip(starts, ends, strict=True)
    ]
