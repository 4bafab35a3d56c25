"""Prediction tables written by other serving stacks, read as steadyml's prediction log.

``monitors.source`` in the spec names a Parquet table or a PostgreSQL table and maps its
columns onto the log's fields; :func:`open_source` opens it, :class:`LogMapping` checks
the mapping against the table and turns rows into log records. See
``docs/monitoring.md`` ("Monitoring another server's log").
"""

from __future__ import annotations

from pathlib import Path

from steadyml.adapters.foreign_logs.mapping import (
    BAD_REASONS,
    LOG_STATUSES,
    LogMapping,
    Mapped,
    kind_of,
)
from steadyml.adapters.foreign_logs.sources import (
    WATERMARK,
    ForeignRead,
    ForeignSource,
    ForeignSourceUnavailable,
    ParquetSource,
    PostgresSource,
)
from steadyml.spec import ForeignLogSpec

__all__ = [
    "BAD_REASONS",
    "LOG_STATUSES",
    "WATERMARK",
    "ForeignRead",
    "ForeignSource",
    "ForeignSourceUnavailable",
    "LogMapping",
    "Mapped",
    "ParquetSource",
    "PostgresSource",
    "kind_of",
    "open_source",
]


def open_source(spec: ForeignLogSpec, base_dir: Path) -> ParquetSource | PostgresSource:
    """The source ``monitors.source`` names (relative paths resolve against ``base_dir``)."""
    if spec.format == "postgres":
        return PostgresSource(spec.url or "", spec.table or "")
    path = Path(spec.path or "").expanduser()
    return ParquetSource(path if path.is_absolute() else base_dir / path)
