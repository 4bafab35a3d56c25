"""Monitoring: cursors, window profiles, metric series, incidents, alerts, incident events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    kind = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return sa.Column("id", kind, primary_key=True, autoincrement=True)


def _json(name: str) -> sa.Column[object]:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, kind, nullable=False)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=False)


def _window_key() -> list[sa.Column[object]]:
    return [
        _text("service", 128),
        _text("model_version", 64),
        _text("window", 32),
        _time("window_start"),
    ]


def upgrade() -> None:
    """Create the monitoring tables."""
    op.create_table(
        "steadyml_monitor_cursors",
        _id(),
        _text("service", 128),
        _text("log", 32),
        _json("positions"),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        _json("stats"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_monitor_cursors")),
        sa.UniqueConstraint("service", "log", name=op.f("uq_steadyml_monitor_cursors_service")),
    )
    op.create_table(
        "steadyml_window_profiles",
        _id(),
        *_window_key(),
        _text("kind", 16),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_window_profiles")),
        sa.UniqueConstraint(
            "service",
            "model_version",
            "window",
            "window_start",
            "kind",
            name=op.f("uq_steadyml_window_profiles_service"),
        ),
    )
    op.create_index(
        op.f("ix_steadyml_window_profiles_service_window_window_start"),
        "steadyml_window_profiles",
        ["service", "window", "window_start"],
    )
    op.create_table(
        "steadyml_metric_series",
        _id(),
        *_window_key(),
        _text("metric", 64),
        _text("subject", 256),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_metric_series")),
        sa.UniqueConstraint(
            "service",
            "model_version",
            "window",
            "window_start",
            "metric",
            "subject",
            name=op.f("uq_steadyml_metric_series_service"),
        ),
    )
    op.create_index(
        op.f("ix_steadyml_metric_series_service_metric_window_window_start"),
        "steadyml_metric_series",
        ["service", "metric", "window", "window_start"],
    )
    op.create_table(
        "steadyml_incidents",
        _id(),
        _text("key", 64),
        _text("service", 128),
        _text("incident_type", 64),
        _text("triage", 32),
        _text("severity", 4),
        _text("status", 16),
        sa.Column("title", sa.Text(), nullable=False),
        _time("opened_at"),
        _time("first_seen"),
        _time("last_seen"),
        _time("resolved_at", nullable=True),
        _json("features"),
        _json("versions"),
        _json("hint"),
        sa.Column("runbook", sa.Text(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_incidents")),
        sa.UniqueConstraint("key", name=op.f("uq_steadyml_incidents_key")),
    )
    op.create_index(
        op.f("ix_steadyml_incidents_service_status_opened_at"),
        "steadyml_incidents",
        ["service", "status", "opened_at"],
    )
    op.create_table(
        "steadyml_alerts",
        _id(),
        _text("service", 128),
        _text("rule", 128),
        _text("metric", 64),
        _text("subject", 256),
        _text("model_version", 64),
        _text("window", 32),
        _text("severity", 4),
        _text("incident_type", 64),
        _text("triage", 32),
        _text("status", 16),
        _time("opened_at"),
        _time("first_seen"),
        _time("last_seen"),
        _time("resolved_at", nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        _json("evidence"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["steadyml_incidents.id"],
            name=op.f("fk_steadyml_alerts_incident_id_steadyml_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_alerts")),
    )
    op.create_index(
        op.f("ix_steadyml_alerts_service_status"), "steadyml_alerts", ["service", "status"]
    )
    op.create_index(op.f("ix_steadyml_alerts_incident_id"), "steadyml_alerts", ["incident_id"])
    op.create_table(
        "steadyml_incident_events",
        _id(),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        _text("service", 128),
        _text("kind", 32),
        _time("at"),
        _json("payload"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["steadyml_incidents.id"],
            name=op.f("fk_steadyml_incident_events_incident_id_steadyml_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_incident_events")),
    )
    op.create_index(
        op.f("ix_steadyml_incident_events_incident_id_id"),
        "steadyml_incident_events",
        ["incident_id", "id"],
    )
    op.create_index(
        op.f("ix_steadyml_incident_events_service_id"),
        "steadyml_incident_events",
        ["service", "id"],
    )


def downgrade() -> None:
    """Drop the monitoring tables."""
    for table in (
        "steadyml_incident_events",
        "steadyml_alerts",
        "steadyml_incidents",
        "steadyml_metric_series",
        "steadyml_window_profiles",
        "steadyml_monitor_cursors",
    ):
        op.drop_table(table)
