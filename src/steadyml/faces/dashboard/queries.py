"""The dashboard's reads: aggregates computed by the database, never raw rows.

Every function takes the open :class:`~steadyml.adapters.store.Store` and returns small
plain structures. Time series are bucketed in SQL (``GROUP BY`` on the epoch divided by
the bucket width), so a page over 30 days of 5-minute windows for 50 features moves a
few thousand numbers from the database, whatever the number of stored points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    case,
    cast,
    func,
    select,
    text,
    union,
)
from sqlalchemy.orm import Session

from steadyml.adapters.store import AuditEntry, GateRecord, Store
from steadyml.adapters.store.store import _guard
from steadyml.adapters.store.tables import (
    AliasMoveRow,
    AuditRow,
    GateResultRow,
    IncidentEventRow,
    IncidentRow,
    MetricPointRow,
    MonitorCursorRow,
    WindowProfileRow,
)
from steadyml.core.clock import utc
from steadyml.core.durations import parse_duration

__all__ = [
    "Bucketed",
    "IncidentFilter",
    "acknowledged",
    "audit_entries",
    "bucketed",
    "champion",
    "first_starts",
    "gate_results",
    "has_subject",
    "incident_counts",
    "incident_page",
    "last_run",
    "latest",
    "latest_start",
    "payloads",
    "payloads_at",
    "services",
    "subjects",
    "version_spans",
    "versions_seen",
    "windows",
]

Aggregate = Literal["weighted", "max", "sum", "mean"]


class Bucketed(NamedTuple):
    """One aggregated point: the bucket's start, the group key (metric, subject or version).

    A named tuple, cheap to build: a page builds thousands of them (50 features x 96
    heatmap columns).
    """

    start: datetime
    key: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    worst: str | None


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a list shows."""

    service: str | None = None
    status: Literal["open", "resolved", "all"] = "all"
    severity: str | None = None
    triage: str | None = None
    incident_type: str | None = None


def _session(store: Store) -> Session:
    return Session(store.engine)


def _scalars(store: Store, statement: Any) -> list[Any]:
    with _guard(store.url), _session(store) as session:
        return list(session.scalars(statement))


def _rows(store: Store, statement: Any) -> list[Any]:
    # plain rows of columns: a core connection, no ORM loading machinery per row
    with _guard(store.url), store.engine.connect() as connection:
        return list(connection.execute(statement).all())


def _unordered(column: Any) -> ColumnElement[Any]:
    # grouped by as an expression: SQLite would otherwise walk the unique index (which
    # starts with service, model_version) over every point of the service to get the
    # groups in order, instead of seeking the series index to the metric and time range
    grouped: ColumnElement[Any] = column.concat("")
    return grouped


def _epoch(store: Store, column: Any) -> ColumnElement[int]:
    dialect = store.engine.dialect
    if dialect.name == "sqlite":
        if (dialect.server_version_info or (0,)) >= (3, 38):  # parses the text a little faster
            return cast(func.unixepoch(column), Integer)
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _distinct_services(table: str) -> str:
    # a loose index scan: one index seek per service instead of reading every row
    return (
        f"WITH RECURSIVE seen(service) AS (SELECT min(service) FROM {table} UNION ALL "
        f"SELECT (SELECT min(service) FROM {table} WHERE service > seen.service) FROM seen "
        "WHERE seen.service IS NOT NULL) SELECT service FROM seen WHERE service IS NOT NULL"
    )


def services(store: Store) -> list[str]:
    """Every service with monitor data, incidents or alias moves, sorted."""
    found = {row[0] for row in _rows(store, text(_distinct_services(MetricPointRow.__tablename__)))}
    statement = union(
        select(IncidentRow.service).distinct(),
        select(AliasMoveRow.service).distinct(),
    )
    return sorted(found | {row[0] for row in _rows(store, statement)})


def windows(store: Store, service: str) -> list[str]:
    """The window sizes with stored traffic metrics, shortest first."""
    statement = (
        select(MetricPointRow.window)
        .where(MetricPointRow.service == service, MetricPointRow.metric == "health.error_rate")
        .distinct()
    )
    found = [w for w in _scalars(store, statement) if isinstance(w, str)]
    return sorted(found, key=lambda w: parse_duration(w.split("/")[0]))


def first_starts(store: Store, service: str, windows: Iterable[str]) -> dict[str, datetime]:
    """The start of the oldest stored window of each of ``windows`` with traffic.

    One index seek per window size; sizes without a stored window are left out.
    """
    found: dict[str, datetime] = {}
    with _guard(store.url), _session(store) as session:
        for window in dict.fromkeys(windows):
            first = session.scalar(
                select(func.min(MetricPointRow.window_start)).where(
                    MetricPointRow.service == service,
                    MetricPointRow.metric == "health.error_rate",
                    MetricPointRow.window == window,
                )
            )
            if first is not None:
                found[window] = _aware(first)
    return found


def latest_start(store: Store, service: str, window: str) -> datetime | None:
    """The start of the newest window of ``service`` with traffic."""
    statement = select(func.max(MetricPointRow.window_start)).where(
        MetricPointRow.service == service,
        MetricPointRow.window == window,
        MetricPointRow.metric == "health.error_rate",
    )
    found = _scalars(store, statement)
    return None if not found or found[0] is None else _aware(found[0])


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite aggregates return the stored text
        value = datetime.fromisoformat(value)
    return utc(value) if value.tzinfo else value.replace(tzinfo=UTC)


def latest(store: Store, service: str, window: str, metrics: Iterable[str]) -> dict[str, float]:
    """Each metric's value in its newest window, all versions combined (rows-weighted).

    Latency quantiles take the slowest version; ``volume.*`` and ``log.*`` metrics are
    stored for all versions at once. Two indexed lookups per metric (the newest start,
    then that window's points), whatever the number of stored windows.
    """
    values: dict[str, float] = {}
    with _guard(store.url), _session(store) as session:
        for metric in dict.fromkeys(metrics):
            where = (
                MetricPointRow.service == service,
                MetricPointRow.metric == metric,
                MetricPointRow.window == window,
            )
            newest = session.scalar(select(func.max(MetricPointRow.window_start)).where(*where))
            if newest is None:
                continue
            statement = select(
                func.sum(MetricPointRow.value * MetricPointRow.n),
                func.sum(MetricPointRow.n),
                func.max(MetricPointRow.value),
            ).where(
                *where,
                MetricPointRow.window_start == newest,
                MetricPointRow.subject == "",
                MetricPointRow.value.is_not(None),
            )
            found: Any = session.execute(statement).one()
            weighted, n, largest = found
            if largest is None:
                continue
            if metric.startswith("health.latency") or not n:
                values[metric] = float(largest)
            else:
                values[metric] = float(weighted) / float(n)
    return values


def bucketed(
    store: Store,
    service: str,
    window: str,
    metrics: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    bucket_seconds: int,
    by: Literal["metric", "subject", "version"] = "metric",
    subject: str | None = "",
    aggregate: Aggregate = "weighted",
) -> list[Bucketed]:
    """Points of ``metrics`` in ``[start, end)`` aggregated per bucket and group.

    ``weighted`` averages values by their rows (rates across versions), ``max`` keeps
    the largest (drift effects, latency), ``sum`` adds them, ``mean`` averages them
    (row counts per window). ``worst`` is
    the most severe status in the bucket. ``subject=None`` takes every subject.
    """
    bucket = max(1, int(bucket_seconds))
    slot = (_epoch(store, MetricPointRow.window_start) // bucket).label("slot")
    key = {
        "metric": MetricPointRow.metric,
        "subject": MetricPointRow.subject,
        "version": MetricPointRow.model_version,
    }[by]
    value: ColumnElement[Any]
    if aggregate == "max":
        value = func.max(MetricPointRow.value)
    elif aggregate == "sum":
        value = func.sum(MetricPointRow.value)
    elif aggregate == "mean":
        value = func.avg(MetricPointRow.value)
    else:
        value = func.coalesce(
            func.sum(MetricPointRow.value * MetricPointRow.n)
            / func.nullif(func.sum(MetricPointRow.n), 0),
            func.avg(MetricPointRow.value),
        )
    rank = func.max(
        case(
            (MetricPointRow.status == "drift", 2),
            (MetricPointRow.status == "warn", 1),
            (MetricPointRow.status == "ok", 0),
            else_=-1,
        )
    )
    statement = select(
        slot,
        key,
        value,
        func.min(MetricPointRow.low),
        func.max(MetricPointRow.high),
        func.sum(MetricPointRow.n),
        rank,
    ).where(
        MetricPointRow.service == service,
        MetricPointRow.window == window,
        MetricPointRow.metric.in_(list(metrics)),
        MetricPointRow.window_start >= utc(start),
        MetricPointRow.window_start < utc(end),
    )
    if subject is not None:
        statement = statement.where(MetricPointRow.subject == subject)
    statement = statement.group_by(slot, key).order_by(slot, key)
    rows = _rows(store, statement)
    status_of = {0: "ok", 1: "warn", 2: "drift"}
    starts = {s: datetime.fromtimestamp(int(s) * bucket, tz=UTC) for s in {row[0] for row in rows}}
    make = Bucketed._make  # positional: a page builds thousands of them
    return [
        make((
            starts[s], str(k),
            None if v is None else float(v),
            None if lo is None else float(lo),
            None if hi is None else float(hi),
            int(n or 0),  # PostgreSQL sums integers as numeric
            None if r is None else status_of.get(int(r)),
        ))
        for s, k, v, lo, hi, n, r in rows
    ]  # fmt: skip


def subjects(store: Store, service: str, window: str, metric: str) -> list[str]:
    """The subjects (features) ``metric`` is stored for in its newest window, sorted."""
    where = (
        MetricPointRow.service == service,
        MetricPointRow.metric == metric,
        MetricPointRow.window == window,
    )
    with _guard(store.url), _session(store) as session:
        newest = session.scalar(select(func.max(MetricPointRow.window_start)).where(*where))
        if newest is None:
            return []
        statement = (
            select(MetricPointRow.subject)
            .where(*where, MetricPointRow.window_start == newest)
            .distinct()
        )
        return sorted(s for s in session.scalars(statement) if s)


def has_subject(
    store: Store, service: str, window: str, metric: str, subject: str, *, since: datetime
) -> bool:
    """Whether ``metric`` is stored for ``subject`` in a window starting at ``since`` or later."""
    statement = (
        select(MetricPointRow.id)
        .where(
            MetricPointRow.service == service,
            MetricPointRow.metric == metric,
            MetricPointRow.window == window,
            MetricPointRow.window_start >= utc(since),
            MetricPointRow.subject == subject,
        )
        .limit(1)
    )
    return bool(_scalars(store, statement))


def version_spans(
    store: Store, service: str, window: str, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """Which model versions answered, from their first to their last window in the range."""
    version = _unordered(MetricPointRow.model_version)
    statement = (
        select(
            version,
            func.min(MetricPointRow.window_start),
            func.max(MetricPointRow.window_start),
        )
        .where(
            MetricPointRow.service == service,
            MetricPointRow.window == window,
            MetricPointRow.metric == "health.error_rate",
            MetricPointRow.window_start >= utc(start),
            MetricPointRow.window_start < utc(end),
        )
        .group_by(version)
    )
    step = parse_duration(window.rsplit("/", maxsplit=1)[-1])
    spans = [
        (str(v), _aware(first), min(_aware(last) + step, utc(end)))
        for v, first, last in _rows(store, statement)
    ]
    return sorted(spans, key=lambda span: span[1])


def versions_seen(store: Store, service: str) -> dict[str, tuple[datetime, datetime]]:
    """Every model version with monitored traffic: first and last window start."""
    version = _unordered(MetricPointRow.model_version)
    statement = (
        select(
            version,
            func.min(MetricPointRow.window_start),
            func.max(MetricPointRow.window_start),
        )
        .where(MetricPointRow.service == service, MetricPointRow.metric == "health.error_rate")
        .group_by(version)
    )
    return {str(v): (_aware(a), _aware(b)) for v, a, b in _rows(store, statement)}


def champion(store: Store, service: str) -> int | None:
    """The version the ``champion`` alias points at now (per the alias history)."""
    statement = (
        select(AliasMoveRow.version)
        .where(AliasMoveRow.service == service, AliasMoveRow.alias == "champion")
        .order_by(AliasMoveRow.at.desc(), AliasMoveRow.id.desc())
        .limit(1)
    )
    found = _scalars(store, statement)
    return found[0] if found else None


def last_run(store: Store, service: str) -> datetime | None:
    """When the monitor last moved a cursor of ``service`` (its clock)."""
    statement = select(func.max(MonitorCursorRow.updated_at)).where(
        MonitorCursorRow.service == service
    )
    found = _scalars(store, statement)
    return None if not found or found[0] is None else _aware(found[0])


def incident_counts(store: Store, service: str | None = None) -> dict[tuple[str, str], int]:
    """Open incidents per ``(service, severity)``."""
    statement = (
        select(IncidentRow.service, IncidentRow.severity, func.count())
        .where(IncidentRow.status == "open")
        .group_by(IncidentRow.service, IncidentRow.severity)
    )
    if service is not None:
        statement = statement.where(IncidentRow.service == service)
    return {(s, sev): int(n) for s, sev, n in _rows(store, statement)}


def incident_page(
    store: Store, chosen: IncidentFilter, *, limit: int, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of incidents (newest first) as plain dicts, and how many match in all."""
    conditions = []
    if chosen.service is not None:
        conditions.append(IncidentRow.service == chosen.service)
    if chosen.status != "all":
        conditions.append(IncidentRow.status == chosen.status)
    if chosen.severity is not None:
        conditions.append(IncidentRow.severity == chosen.severity)
    if chosen.triage is not None:
        conditions.append(IncidentRow.triage == chosen.triage)
    if chosen.incident_type is not None:
        conditions.append(IncidentRow.incident_type == chosen.incident_type)
    total = _scalars(store, select(func.count()).select_from(IncidentRow).where(*conditions))[0]
    columns = (
        IncidentRow.id,
        IncidentRow.service,
        IncidentRow.incident_type,
        IncidentRow.triage,
        IncidentRow.severity,
        IncidentRow.status,
        IncidentRow.title,
        IncidentRow.opened_at,
        IncidentRow.first_seen,
        IncidentRow.last_seen,
        IncidentRow.resolved_at,
    )
    statement = (
        select(*columns)
        .where(*conditions)
        .order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    names = [c.key for c in columns]
    items = [dict(zip(names, row, strict=True)) for row in _rows(store, statement)]
    acked = acknowledged(store, [item["id"] for item in items])
    for item in items:
        item["acknowledged"] = item["id"] in acked
    return items, int(total)


def acknowledged(store: Store, incident_ids: Sequence[int]) -> set[int]:
    """Which of ``incident_ids`` someone acknowledged."""
    if not incident_ids:
        return set()
    statement = (
        select(IncidentEventRow.incident_id)
        .where(
            IncidentEventRow.incident_id.in_(list(incident_ids)),
            IncidentEventRow.kind == "acknowledged",
        )
        .distinct()
    )
    return {int(i) for i in _scalars(store, statement)}


def audit_entries(
    store: Store, *, service: str | None = None, incident_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Audit entries, newest first, of a service or an incident."""
    statement = select(AuditRow)
    if service is not None:
        statement = statement.where(AuditRow.service == service)
    if incident_id is not None:
        statement = statement.where(AuditRow.incident_id == incident_id)
    statement = statement.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return [
        AuditEntry(
            id=r.id,
            service=r.service,
            action=r.action,
            actor=r.actor,
            reason=r.reason,
            target=r.target,
            incident_id=r.incident_id,
            evidence=dict(r.evidence),
            at=utc(r.at),
        )
        for r in _scalars(store, statement)
    ]


def gate_results(store: Store, service: str, limit: int = 50) -> list[GateRecord]:
    """The newest gate verdicts of ``service``."""
    statement = (
        select(GateResultRow)
        .where(GateResultRow.service == service)
        .order_by(GateResultRow.at.desc(), GateResultRow.id.desc())
        .limit(limit)
    )
    return [
        GateRecord(
            id=r.id,
            service=r.service,
            candidate_version=r.candidate_version,
            champion_version=r.champion_version,
            passed=r.passed,
            report=dict(r.report),
            at=utc(r.at),
        )
        for r in _scalars(store, statement)
    ]


def payloads(
    store: Store, service: str, window: str, start: datetime, kind: str
) -> list[tuple[str, int, bytes]]:
    """The stored payloads of one pane (every version): ``(version, rows, bytes)``."""
    statement = select(
        WindowProfileRow.model_version, WindowProfileRow.rows, WindowProfileRow.payload
    ).where(
        WindowProfileRow.service == service,
        WindowProfileRow.window == window,
        WindowProfileRow.window_start == utc(start),
        WindowProfileRow.kind == kind,
    )
    return [(str(v), int(n), bytes(p)) for v, n, p in _rows(store, statement)]


def payloads_at(
    store: Store, service: str, window: str, starts: Sequence[datetime], kind: str
) -> list[tuple[datetime, str, bytes]]:
    """The payloads of ``kind`` stored for the given panes (every version).

    Returns ``(pane start, version, bytes)``; panes without a payload are left out.
    """
    if not starts:
        return []
    statement = select(
        WindowProfileRow.window_start, WindowProfileRow.model_version, WindowProfileRow.payload
    ).where(
        WindowProfileRow.service == service,
        WindowProfileRow.window == window,
        WindowProfileRow.kind == kind,
        WindowProfileRow.window_start.in_([utc(s) for s in starts]),
    )
    return [(_aware(at), str(v), bytes(p)) for at, v, p in _rows(store, statement)]
