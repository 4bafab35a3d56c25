"""Alias history, audit log and gate results.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    kind = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return sa.Column("id", kind, primary_key=True, autoincrement=True)


def _json(name: str) -> sa.Column[object]:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Column(name, kind, nullable=False)


def _at() -> sa.Column[object]:
    return sa.Column("at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Create the first three tables."""
    op.create_table(
        "steadyml_alias_moves",
        _id(),
        sa.Column("service", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("gate_passed", sa.Boolean(), nullable=True),
        _json("evidence"),
        _at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_alias_moves")),
    )
    op.create_index(
        op.f("ix_steadyml_alias_moves_service_alias_at"),
        "steadyml_alias_moves",
        ["service", "alias", "at"],
    )
    op.create_table(
        "steadyml_audit_log",
        _id(),
        sa.Column("service", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        _json("evidence"),
        _at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_audit_log")),
    )
    op.create_index(
        op.f("ix_steadyml_audit_log_service_at"), "steadyml_audit_log", ["service", "at"]
    )
    op.create_index(op.f("ix_steadyml_audit_log_at"), "steadyml_audit_log", ["at"])
    op.create_table(
        "steadyml_gate_results",
        _id(),
        sa.Column("service", sa.String(128), nullable=False),
        sa.Column("candidate_version", sa.Integer(), nullable=False),
        sa.Column("champion_version", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        _json("report"),
        _at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_gate_results")),
    )
    op.create_index(
        op.f("ix_steadyml_gate_results_service_candidate_version_at"),
        "steadyml_gate_results",
        ["service", "candidate_version", "at"],
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("steadyml_gate_results", "steadyml_audit_log", "steadyml_alias_moves"):
        op.drop_table(table)
