"""The metadata store: what MLflow does not record (alias history, audit log, gate verdicts).

One SQLAlchemy database, a SQLite file under the state directory by default (WAL mode)
or PostgreSQL in production. :meth:`Store.open` creates or upgrades the schema to the
newest Alembic revision shipped in ``migrations/``, under a lock, so several processes
may open the same store at once. Every row carries the service name.

Examples
--------
>>> store = Store.open("sqlite:///.steadyml/steadyml.db")  # doctest: +SKIP
>>> store.record_action(service="census", action="promote", actor="ana",
...                     reason="gate passed", target="v2")  # doctest: +SKIP
>>> store.version_at("census", datetime(2026, 1, 1, tzinfo=UTC))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Select, create_engine, event, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
)
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from steadyml.adapters.store.records import AliasMove, AuditEntry, GateRecord
from steadyml.adapters.store.tables import AliasMoveRow, AuditRow, GateResultRow
from steadyml.core.clock import Clock, SystemClock, utc
from steadyml.errors import ConfigError, SteadyError

__all__ = ["Store", "StoreUnavailable", "alembic_config"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x5EAD_3000  # pg_advisory_xact_lock key serialising schema upgrades
_BUSY_TIMEOUT_S = 30.0
_WRITE = "steadyml_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_T = TypeVar("_T")
_R = TypeVar("_R")


class StoreUnavailable(SteadyError):
    """The metadata store's database cannot be reached, opened or written."""

    kind = "store unavailable"
    http_status = 503
    exit_code = 5


def alembic_config(target: str | Connection) -> Config:
    """An Alembic configuration for the store's migrations.

    Parameters
    ----------
    target
        An open connection (used as is, inside its transaction) or a database URL.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if isinstance(target, Connection):
        config.attributes["connection"] = target
    else:
        config.set_main_option("sqlalchemy.url", target.replace("%", "%%"))
    return config


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the write lock up front, so it waits for another writer (busy
    # timeout) instead of failing when it upgrades a read lock.
    write = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            timeout = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
            return create_engine(parsed, pool_pre_ping=True, connect_args=timeout)
        database = parsed.database or ""
        if database in ("", ":memory:"):  # one shared connection, else each one is empty
            engine = create_engine(
                parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_S})
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        fix = f"give a SQLAlchemy URL with an installed driver, e.g. sqlite:///x.db ({exc})"
        raise ConfigError("store.url", url, fix) from exc
    except OSError as exc:
        raise StoreUnavailable("store.url", url, f"cannot create its directory: {exc}") from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _text(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ConfigError(field, value, f"give a non-empty string of at most {limit} characters")
    return value


def _version(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, value, "give a registered model version number (>= 1) or None")
    return value


def _document(field: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        document = orjson.loads(orjson.dumps(dict(value or {}), option=_JSON_OPTIONS))
    except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
        fix = f"use JSON values (numbers, strings, lists, dicts, datetimes, numpy): {exc}"
        raise ConfigError(field, value, fix) from exc
    return dict(document)


def _alias_move(row: AliasMoveRow) -> AliasMove:
    return AliasMove(
        id=row.id,
        service=row.service,
        model_name=row.model_name,
        alias=row.alias,
        version=row.version,
        previous_version=row.previous_version,
        action=row.action,
        actor=row.actor,
        reason=row.reason,
        gate_passed=row.gate_passed,
        evidence=dict(row.evidence),
        at=utc(row.at),
    )


def _audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        service=row.service,
        action=row.action,
        actor=row.actor,
        reason=row.reason,
        target=row.target,
        incident_id=row.incident_id,
        evidence=dict(row.evidence),
        at=utc(row.at),
    )


def _gate_record(row: GateResultRow) -> GateRecord:
    return GateRecord(
        id=row.id,
        service=row.service,
        candidate_version=row.candidate_version,
        champion_version=row.champion_version,
        passed=row.passed,
        report=dict(row.report),
        at=utc(row.at),
    )


class Store:
    """steadyml's metadata store; open it with :meth:`open`.

    Parameters
    ----------
    engine
        A SQLAlchemy engine on a database already at the newest schema revision.
    clock
        Where timestamps come from when a record gives none (wall-clock by default).
    """

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock: Clock = clock or SystemClock()
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**{_WRITE: True}))

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None) -> Store:
        """Open the store at ``url``, creating or upgrading its schema first.

        A SQLite file's parent directories are created and the file runs in WAL mode.
        Upgrades run in one transaction under a lock (SQLite ``BEGIN IMMEDIATE``, a
        PostgreSQL advisory lock): concurrent opens wait for each other, and opening a
        store that is already up to date changes nothing.

        Raises
        ------
        StoreUnavailable
            When the database cannot be reached or written.
        ConfigError
            When ``url`` is not a usable SQLAlchemy URL.
        """
        engine = _create_engine(url)
        try:
            with _guard(url), engine.connect() as connection:
                connection.execution_options(**{_WRITE: True})
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        lock = text("SELECT pg_advisory_xact_lock(:key)")
                        connection.execute(lock, {"key": _PG_LOCK_KEY})
                    command.upgrade(alembic_config(connection), "head")
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, shared by the stores of other record families."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------

    def _at(self, at: datetime | None) -> datetime:
        return self._clock.now() if at is None else utc(at)

    def _insert(self, row: _R, record: Callable[[_R], _T]) -> _T:
        with _guard(self.url), self._write.begin() as session:
            session.add(row)
            session.flush()
            return record(row)

    def _select(self, statement: Select[_T]) -> list[_T]:
        with _guard(self.url), self._read() as session:
            return list(session.scalars(statement).all())

    # -- alias history -----------------------------------------------------------------

    def record_alias_move(
        self,
        *,
        service: str,
        model_name: str,
        alias: str,
        version: int | None,
        previous_version: int | None,
        action: str,
        actor: str,
        reason: str,
        gate_passed: bool | None,
        evidence: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AliasMove:
        """Record that ``alias`` now points at ``version`` (``None``: removed)."""
        row = AliasMoveRow(
            service=_text("service", service, 128),
            model_name=_text("model_name", model_name, 256),
            alias=_text("alias", alias, 128),
            version=_version("version", version),
            previous_version=_version("previous_version", previous_version),
            action=_text("action", action, 64),
            actor=_text("actor", actor, 256),
            reason=str(reason),
            gate_passed=None if gate_passed is None else bool(gate_passed),
            evidence=_document("evidence", evidence),
            at=self._at(at),
        )
        return self._insert(row, _alias_move)

    def alias_history(self, service: str, alias: str | None = None) -> list[AliasMove]:
        """Every recorded move of ``service``'s aliases (or of one alias), oldest first."""
        statement = select(AliasMoveRow).where(AliasMoveRow.service == service)
        if alias is not None:
            statement = statement.where(AliasMoveRow.alias == alias)
        statement = statement.order_by(AliasMoveRow.at, AliasMoveRow.id)
        return [_alias_move(row) for row in self._select(statement)]

    def version_at(self, service: str, at: datetime, alias: str = "champion") -> int | None:
        """The version ``alias`` pointed at, at time ``at``.

        A move recorded exactly at ``at`` is already in effect. ``None`` when the alias
        had never been set by then, or had been removed.
        """
        statement = (
            select(AliasMoveRow)
            .where(
                AliasMoveRow.service == service,
                AliasMoveRow.alias == alias,
                AliasMoveRow.at <= utc(at),
            )
            .order_by(AliasMoveRow.at.desc(), AliasMoveRow.id.desc())
            .limit(1)
        )
        rows = self._select(statement)
        return rows[0].version if rows else None

    # -- audit log -------------------------------------------------------------------

    def record_action(
        self,
        *,
        service: str,
        action: str,
        actor: str,
        reason: str,
        target: str = "",
        incident_id: int | None = None,
        evidence: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append an action (promote, rollback, retrain, fallback_mode, ...) to the audit log."""
        if incident_id is not None and (isinstance(incident_id, bool) or incident_id < 1):
            raise ConfigError("incident_id", incident_id, "give an incident id (>= 1) or None")
        row = AuditRow(
            service=_text("service", service, 128),
            action=_text("action", action, 64),
            actor=_text("actor", actor, 256),
            reason=str(reason),
            target=str(target),
            incident_id=incident_id,
            evidence=_document("evidence", evidence),
            at=self._at(at),
        )
        try:
            return self._insert(row, _audit_entry)
        except IntegrityError as exc:  # the only key: incident_id -> incidents
            fix = "no incident has this id; list them with 'steadyml incidents'"
            raise ConfigError("incident_id", incident_id, fix) from exc

    def audit_log(self, service: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` actions (of one service, or of all), newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError("limit", limit, "give a positive number of entries")
        statement = select(AuditRow)
        if service is not None:
            statement = statement.where(AuditRow.service == service)
        statement = statement.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        return [_audit_entry(row) for row in self._select(statement)]

    # -- gate results ------------------------------------------------------------------

    def record_gate_result(
        self,
        *,
        service: str,
        candidate_version: int,
        champion_version: int | None,
        passed: bool,
        report: Mapping[str, Any],
        at: datetime | None = None,
    ) -> GateRecord:
        """Record a gate verdict and its full report."""
        candidate = _version("candidate_version", candidate_version)
        if candidate is None:
            raise ConfigError("candidate_version", None, "give the candidate's version number")
        row = GateResultRow(
            service=_text("service", service, 128),
            candidate_version=candidate,
            champion_version=_version("champion_version", champion_version),
            passed=bool(passed),
            report=_document("report", report),
            at=self._at(at),
        )
        return self._insert(row, _gate_record)

    def latest_gate_result(self, service: str, candidate_version: int) -> GateRecord | None:
        """The most recent gate verdict on ``candidate_version``, or ``None``."""
        statement = (
            select(GateResultRow)
            .where(
                GateResultRow.service == service,
                GateResultRow.candidate_version == candidate_version,
            )
            .order_by(GateResultRow.at.desc(), GateResultRow.id.desc())
            .limit(1)
        )
        rows = self._select(statement)
        return _gate_record(rows[0]) if rows else None


@contextmanager
def _guard(url: object) -> Iterator[None]:
    """Database failures that mean "cannot reach or write" become :class:`StoreUnavailable`."""
    try:
        yield
    except (SqlOperationalError, InterfaceError) as exc:
        raise _unavailable(url, exc) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise _unavailable(url, exc) from exc
        raise
    except OSError as exc:
        raise _unavailable(url, exc) from exc


def _unavailable(url: object, exc: BaseException) -> StoreUnavailable:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    shown = make_url(str(url)).render_as_string(hide_password=True)
    fix = (
        "check that the database server is running and reachable, the database exists and "
        f"the file or directory is writable; set store.url / STEADYML_STORE_URL ({reason})"
    )
    return StoreUnavailable("store.url", shown, fix, details={"reason": reason})
