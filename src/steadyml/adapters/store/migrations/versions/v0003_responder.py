"""Responder: consumer cursors, responder actions, service modes, audit log -> incidents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

The audit log's ``incident_id`` gains a foreign key to ``steadyml_incidents`` (SQLite:
the table is rebuilt in batch mode). An id that names no incident (written before
incidents existed) is kept in the entry's evidence as ``unknown_incident_id`` and the
column set to NULL, so the key can be enforced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_AUDIT_FK = "fk_steadyml_audit_log_incident_id_steadyml_incidents"


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


def _incident_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["incident_id"],
        ["steadyml_incidents.id"],
        name=op.f(f"fk_{table}_incident_id_steadyml_incidents"),
    )


def _orphans_to_evidence() -> None:
    audit = sa.table(
        "steadyml_audit_log",
        sa.column("id", sa.BigInteger()),
        sa.column("incident_id", sa.BigInteger()),
        sa.column("evidence", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    )
    incidents = sa.table("steadyml_incidents", sa.column("id", sa.BigInteger()))
    bind = op.get_bind()
    orphans = bind.execute(
        sa.select(audit.c.id, audit.c.incident_id, audit.c.evidence).where(
            audit.c.incident_id.is_not(None),
            audit.c.incident_id.not_in(sa.select(incidents.c.id)),
        )
    ).all()
    for row_id, incident_id, evidence in orphans:
        kept = dict(evidence or {})
        kept["unknown_incident_id"] = incident_id
        bind.execute(
            audit.update().where(audit.c.id == row_id).values(incident_id=None, evidence=kept)
        )


def upgrade() -> None:
    """Create the responder tables; link the audit log to incidents."""
    op.create_table(
        "steadyml_consumer_cursors",
        _id(),
        _text("consumer", 64),
        _text("service", 128),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_consumer_cursors")),
        sa.UniqueConstraint(
            "consumer", "service", name=op.f("uq_steadyml_consumer_cursors_consumer")
        ),
    )
    op.create_table(
        "steadyml_responder_actions",
        _id(),
        _text("service", 128),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        _text("incident_type", 64),
        _text("action", 32),
        _text("status", 16),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        _time("started_at"),
        _time("finished_at", nullable=True),
        _time("claimed_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _text("actor", 256),
        _text("cooldown_key", 256),
        _json("evidence"),
        _json("result"),
        _incident_fk("steadyml_responder_actions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_responder_actions")),
        sa.UniqueConstraint(
            "incident_id", "action", name=op.f("uq_steadyml_responder_actions_incident_id")
        ),
    )
    op.create_index(
        op.f("ix_steadyml_responder_actions_service_status"),
        "steadyml_responder_actions",
        ["service", "status"],
    )
    op.create_index(
        op.f("ix_steadyml_responder_actions_cooldown_key_started_at"),
        "steadyml_responder_actions",
        ["cooldown_key", "started_at"],
    )
    op.create_table(
        "steadyml_service_modes",
        _id(),
        _text("service", 128),
        _text("mode", 32),
        sa.Column("reason", sa.Text(), nullable=False),
        _text("actor", 256),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        _time("set_at"),
        _time("cleared_at", nullable=True),
        _incident_fk("steadyml_service_modes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steadyml_service_modes")),
    )
    op.create_index(
        op.f("ix_steadyml_service_modes_service_cleared_at"),
        "steadyml_service_modes",
        ["service", "cleared_at"],
    )
    _orphans_to_evidence()
    with op.batch_alter_table("steadyml_audit_log") as batch:
        batch.create_foreign_key(_AUDIT_FK, "steadyml_incidents", ["incident_id"], ["id"])


def downgrade() -> None:
    """Drop the responder tables and the audit log's foreign key."""
    with op.batch_alter_table("steadyml_audit_log") as batch:
        batch.drop_constraint(_AUDIT_FK, type_="foreignkey")
    for table in (
        "steadyml_service_modes",
        "steadyml_responder_actions",
        "steadyml_consumer_cursors",
    ):
        op.drop_table(table)
