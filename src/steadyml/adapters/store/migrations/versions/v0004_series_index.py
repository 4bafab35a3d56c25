"""Metric series: one covering index for the reads of time series.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The index on ``(service, metric, window, window_start)`` becomes one that also holds
``subject``, ``model_version``, ``status``, ``n``, ``value``, ``low`` and ``high``: the
dashboard's time series (aggregated in the database over up to 30 days of windows) and
the series the monitor reads by metric and time then come from the index alone, without
a lookup of each row in the table. The leading columns are unchanged, so every query the
old index served is served by this one. Building it reads the table once (about 15 s for
two million points on SQLite).
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "steadyml_metric_series"
_OLD = "ix_steadyml_metric_series_service_metric_window_window_start"
_NEW = "ix_steadyml_metric_series_covering"
_KEY = ["service", "metric", "window", "window_start"]
_CARRIED = ["subject", "model_version", "status", "n", "value", "low", "high"]


def upgrade() -> None:
    """Replace the series index with a covering one (same leading columns)."""
    op.create_index(op.f(_NEW), _TABLE, _KEY + _CARRIED)
    op.drop_index(op.f(_OLD), table_name=_TABLE)


def downgrade() -> None:
    """Back to the index on the key columns only."""
    op.create_index(op.f(_OLD), _TABLE, _KEY)
    op.drop_index(op.f(_NEW), table_name=_TABLE)
