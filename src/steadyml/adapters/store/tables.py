"""The metadata store's tables, as typed SQLAlchemy 2 ORM classes.

Conventions every table follows (later tables too: window profiles, metric series,
alerts, incidents):

- the name starts with ``steadyml_``, so the store can share a database with MLflow;
- every row carries ``service``, so one installation holds many services;
- timestamps are :class:`UtcDateTime` (timezone-aware UTC on every backend);
- JSON documents are :data:`JsonDocument` (JSON on SQLite, JSONB on PostgreSQL);
- constraints and indexes are named by :data:`NAMING_CONVENTION`, so Alembic can
  alter them later, also on SQLite (batch mode);
- a schema change is a new Alembic revision in ``migrations/versions/``, never an edit
  of an applied one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "NAMING_CONVENTION",
    "VERSION_TABLE",
    "AliasMoveRow",
    "AuditRow",
    "Base",
    "GateResultRow",
    "JsonDocument",
    "RowId",
    "UtcDateTime",
]

#: Alembic's bookkeeping table; not ``alembic_version``, which MLflow uses.
VERSION_TABLE = "steadyml_schema_version"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite only autoincrements an ``INTEGER PRIMARY KEY``.
RowId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

#: A JSON document column: JSONB on PostgreSQL (indexable), JSON text elsewhere.
JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    Values are converted to UTC before they are stored (naive values are taken as UTC);
    SQLite, which keeps no zone, stores naive UTC text, and every value read back is an
    aware UTC datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; naive for SQLite."""
        if value is None:
            return None
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AliasMoveRow(Base):
    """Every move of a registry alias (``champion``, ``previous``, ``candidate``, ...)."""

    __tablename__ = "steadyml_alias_moves"
    __table_args__ = (Index(None, "service", "alias", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(256))
    alias: Mapped[str] = mapped_column(String(128))
    version: Mapped[int | None] = mapped_column(Integer)
    previous_version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    gate_passed: Mapped[bool | None] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """The audit log: every action taken, by whom, why, with which evidence."""

    __tablename__ = "steadyml_audit_log"
    __table_args__ = (Index(None, "service", "at"), Index(None, "at"))

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    # the incidents table comes with the monitoring issue; its migration adds the key
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class GateResultRow(Base):
    """One gate verdict: candidate against the champion of the time, with the full report."""

    __tablename__ = "steadyml_gate_results"
    __table_args__ = (Index(None, "service", "candidate_version", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    candidate_version: Mapped[int] = mapped_column(Integer)
    champion_version: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
