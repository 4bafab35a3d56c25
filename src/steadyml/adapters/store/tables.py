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

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "METRIC_SERIES_INDEX",
    "NAMING_CONVENTION",
    "VERSION_TABLE",
    "AlertRow",
    "AliasMoveRow",
    "AuditRow",
    "Base",
    "ConsumerCursorRow",
    "GateResultRow",
    "IncidentEventRow",
    "IncidentRow",
    "JsonDocument",
    "MetricPointRow",
    "MonitorCursorRow",
    "ResponderActionRow",
    "RowId",
    "ServiceModeRow",
    "UtcDateTime",
    "WindowProfileRow",
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
    # revision 0003 adds the foreign key to the incidents table
    incident_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("steadyml_incidents.id"))
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


# -- monitoring (revision 0002) ------------------------------------------------------------


class MonitorCursorRow(Base):
    """How far the monitor has read one log of one service, moved with the window results."""

    __tablename__ = "steadyml_monitor_cursors"
    __table_args__ = (UniqueConstraint("service", "log"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    log: Mapped[str] = mapped_column(String(32))
    positions: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    generation: Mapped[int] = mapped_column(BigInteger)
    stats: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WindowProfileRow(Base):
    """A window's mergeable summary (profile, counts, labels) of one model version, as bytes."""

    __tablename__ = "steadyml_window_profiles"
    __table_args__ = (
        UniqueConstraint("service", "model_version", "window", "window_start", "kind"),
        Index(None, "service", "window", "window_start"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


#: Revision 0004: the series index also holds every column the dashboard aggregates, so
#: its time series are read from the index alone (never from the table's rows).
METRIC_SERIES_INDEX = "ix_steadyml_metric_series_covering"
_CARRIED = ("subject", "model_version", "status", "n", "value", "low", "high")


class MetricPointRow(Base):
    """One metric of one window: value, 95 % interval, calibrated status, rows."""

    __tablename__ = "steadyml_metric_series"
    __table_args__ = (
        UniqueConstraint("service", "model_version", "window", "window_start", "metric", "subject"),
        Index(METRIC_SERIES_INDEX, "service", "metric", "window", "window_start", *_CARRIED),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    metric: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    value: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    status: Mapped[str | None] = mapped_column(String(24))
    n: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IncidentRow(Base):
    """An incident: alerts grouped by likely cause, triaged, with a root-cause hint."""

    __tablename__ = "steadyml_incidents"
    __table_args__ = (UniqueConstraint("key"), Index(None, "service", "status", "opened_at"))

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    incident_type: Mapped[str] = mapped_column(String(64))
    triage: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    features: Mapped[list[str]] = mapped_column(JsonDocument)
    versions: Mapped[list[str]] = mapped_column(JsonDocument)
    hint: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    runbook: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlertRow(Base):
    """One firing episode of an alert rule on one series (version, subject)."""

    __tablename__ = "steadyml_alerts"
    __table_args__ = (Index(None, "service", "status"), Index(None, "incident_id"))

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    model_version: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(4))
    incident_type: Mapped[str] = mapped_column(String(64))
    triage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    value: Mapped[float | None] = mapped_column(Double)
    threshold: Mapped[float | None] = mapped_column(Double)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("steadyml_incidents.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class IncidentEventRow(Base):
    """The timeline of an incident; sinks and the responder read it in id order."""

    __tablename__ = "steadyml_incident_events"
    __table_args__ = (Index(None, "incident_id", "id"), Index(None, "service", "id"))

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("steadyml_incidents.id"))
    service: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


# -- responder (revision 0003) -------------------------------------------------------------


class ConsumerCursorRow(Base):
    """How far one consumer (the responder, a sink) has read a service's incident events."""

    __tablename__ = "steadyml_consumer_cursors"
    __table_args__ = (UniqueConstraint("consumer", "service"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ResponderActionRow(Base):
    """One automatic action on one incident: requested, then done, failed, skipped or undone."""

    __tablename__ = "steadyml_responder_actions"
    __table_args__ = (
        UniqueConstraint("incident_id", "action"),
        Index(None, "service", "status"),
        Index(None, "cooldown_key", "started_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("steadyml_incidents.id"))
    incident_type: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(256))
    cooldown_key: Mapped[str] = mapped_column(String(256))
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    result: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class ServiceModeRow(Base):
    """A mode a service is switched into (``fallback``), until ``cleared_at``."""

    __tablename__ = "steadyml_service_modes"
    __table_args__ = (Index(None, "service", "cleared_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(256))
    incident_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("steadyml_incidents.id"))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
