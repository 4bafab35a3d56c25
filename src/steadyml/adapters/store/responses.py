"""The responder's part of the metadata store: event cursors, actions, service modes.

:class:`ResponseStore` shares the engine of a :class:`~steadyml.adapters.store.Store`
(tables of migration ``0003``). Its one delicate method is :meth:`ResponseStore.claim`:
in one transaction it checks that the consumer's cursor is where the caller read it,
inserts the actions the caller decided on (at most one per incident and action; an
action inside its cooldown is recorded as ``skipped``) and moves the cursor. A crash
before the commit leaves neither; re-reading the same events after the commit finds
the cursor moved. So an event never triggers an action twice.

Examples
--------
>>> # responses = ResponseStore(store)
>>> # responses.active_modes("employment")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from steadyml.adapters.store.monitor_tx import json_safe
from steadyml.adapters.store.store import _WRITE, Store, _guard
from steadyml.adapters.store.tables import ConsumerCursorRow, ResponderActionRow, ServiceModeRow
from steadyml.core.clock import Clock, SystemClock, utc
from steadyml.errors import ConfigError

__all__ = [
    "ACTION_STATUSES",
    "ActionRecord",
    "ActionRequest",
    "ResponseStore",
    "ServiceMode",
]

#: requested (claimed, not finished), done, failed, skipped (cooldown), undone (cleared).
ACTION_STATUSES = ("requested", "done", "failed", "skipped", "undone")
_COOLING = ("requested", "done", "undone")  # what starts a cooldown


@dataclass(frozen=True)
class ActionRequest:
    """An action the responder decided on, before it is stored.

    ``claim`` True: the caller runs it now (``claimed_at`` is set); False: it is left
    for a responder that can run it (:meth:`ResponseStore.claim_pending`).
    """

    service: str
    incident_id: int
    incident_type: str
    action: str
    event_id: int
    actor: str
    cooldown_key: str
    cooldown: timedelta
    evidence: Mapping[str, Any] = field(default_factory=dict)
    claim: bool = True


@dataclass(frozen=True)
class ActionRecord:
    """A stored responder action."""

    id: int
    service: str
    incident_id: int
    incident_type: str
    action: str
    status: str
    event_id: int
    started_at: datetime
    finished_at: datetime | None
    claimed_at: datetime | None
    attempts: int
    actor: str
    cooldown_key: str
    evidence: Mapping[str, Any]
    result: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "incident_type": self.incident_type,
            "action": self.action,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "attempts": self.attempts,
            "actor": self.actor,
            "evidence": dict(self.evidence),
            "result": dict(self.result),
        }


@dataclass(frozen=True)
class ServiceMode:
    """A mode a service was switched into; active while ``cleared_at`` is None."""

    id: int
    service: str
    mode: str
    reason: str
    actor: str
    incident_id: int | None
    set_at: datetime
    cleared_at: datetime | None

    @property
    def active(self) -> bool:
        """True until cleared."""
        return self.cleared_at is None


def _opt(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def _action(row: ResponderActionRow) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        service=row.service,
        incident_id=row.incident_id,
        incident_type=row.incident_type,
        action=row.action,
        status=row.status,
        event_id=row.event_id,
        started_at=utc(row.started_at),
        finished_at=_opt(row.finished_at),
        claimed_at=_opt(row.claimed_at),
        attempts=row.attempts,
        actor=row.actor,
        cooldown_key=row.cooldown_key,
        evidence=dict(row.evidence),
        result=dict(row.result),
    )


def _mode(row: ServiceModeRow) -> ServiceMode:
    return ServiceMode(
        id=row.id,
        service=row.service,
        mode=row.mode,
        reason=row.reason,
        actor=row.actor,
        incident_id=row.incident_id,
        set_at=utc(row.set_at),
        cleared_at=_opt(row.cleared_at),
    )


class ResponseStore:
    """Responder records in the metadata store.

    Parameters
    ----------
    store
        An open store (its engine is shared).
    clock
        Stamps what is written when no time is given.
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._read = sessionmaker(store.engine, expire_on_commit=False)
        self._write = sessionmaker(
            store.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    # -- the event cursor ------------------------------------------------------------

    def cursor(self, consumer: str, service: str) -> int:
        """The id of the last incident event ``consumer`` handled for ``service`` (0: none)."""
        statement = select(ConsumerCursorRow.last_event_id).where(
            ConsumerCursorRow.consumer == consumer, ConsumerCursorRow.service == service
        )
        with _guard(self.store.url), self._read() as session:
            found = session.scalars(statement).first()
        return 0 if found is None else int(found)

    def claim(
        self,
        consumer: str,
        service: str,
        *,
        expected: int,
        last_event_id: int,
        requests: Sequence[ActionRequest],
        at: datetime | None = None,
    ) -> list[ActionRecord] | None:
        """Store ``requests`` and move the cursor to ``last_event_id``, in one transaction.

        Returns the new action rows (``requested``, or ``skipped`` inside a cooldown;
        an action already stored for the incident is not repeated), or None when the
        cursor is no longer at ``expected`` (another responder handled these events).
        """
        if last_event_id < expected:
            raise ConfigError("last_event_id", last_event_id, f"give an id >= {expected}")
        now = self.clock.now() if at is None else utc(at)
        try:
            with _guard(self.store.url), self._write.begin() as session:
                row = session.scalars(
                    select(ConsumerCursorRow)
                    .where(
                        ConsumerCursorRow.consumer == consumer,
                        ConsumerCursorRow.service == service,
                    )
                    .with_for_update()
                ).first()
                stored = 0 if row is None else int(row.last_event_id)
                if stored != expected:
                    return None
                added = [self._add(session, request, now) for request in requests]
                if row is None:
                    row = ConsumerCursorRow(consumer=consumer, service=service)
                    session.add(row)
                row.last_event_id, row.updated_at = last_event_id, now
                session.flush()
                return [_action(item) for item in added if item is not None]
        except IntegrityError:  # another responder created the cursor or the action first
            return None

    def _add(
        self, session: Session, request: ActionRequest, now: datetime
    ) -> ResponderActionRow | None:
        existing = session.scalars(
            select(ResponderActionRow.id).where(
                ResponderActionRow.incident_id == request.incident_id,
                ResponderActionRow.action == request.action,
            )
        ).first()
        if existing is not None:
            return None
        status, result = "requested", {}
        latest = session.scalars(
            select(ResponderActionRow.started_at)
            .where(
                ResponderActionRow.cooldown_key == request.cooldown_key,
                ResponderActionRow.status.in_(_COOLING),
            )
            .order_by(ResponderActionRow.started_at.desc())
            .limit(1)
        ).first()
        if latest is not None and now - utc(latest) < request.cooldown:
            until = utc(latest) + request.cooldown
            status = "skipped"
            result = {"reason": "cooldown", "last": utc(latest), "until": until}
        row = ResponderActionRow(
            service=request.service,
            incident_id=request.incident_id,
            incident_type=request.incident_type,
            action=request.action,
            status=status,
            event_id=request.event_id,
            started_at=now,
            finished_at=now if status == "skipped" else None,
            claimed_at=now if request.claim and status == "requested" else None,
            attempts=1 if request.claim and status == "requested" else 0,
            actor=request.actor,
            cooldown_key=request.cooldown_key,
            evidence=json_safe(dict(request.evidence)),
            result=json_safe(result),
        )
        session.add(row)
        session.flush()
        return row

    # -- actions -----------------------------------------------------------------------

    def claim_pending(
        self, service: str, actions: Iterable[str], lease: timedelta, at: datetime | None = None
    ) -> list[ActionRecord]:
        """Take over ``requested`` actions nobody runs (never claimed, or lease expired).

        Each row is taken with a compare-and-set on ``claimed_at``, so two responders
        never take the same one.
        """
        now = self.clock.now() if at is None else utc(at)
        wanted = set(actions)
        statement = select(ResponderActionRow).where(
            ResponderActionRow.service == service,
            ResponderActionRow.status == "requested",
            ResponderActionRow.action.in_(wanted),
        )
        taken: list[ActionRecord] = []
        with _guard(self.store.url):
            with self._read() as session:
                rows = list(session.scalars(statement.order_by(ResponderActionRow.id)))
            for row in rows:
                claimed = _opt(row.claimed_at)
                if claimed is not None and now - claimed < lease:
                    continue
                with self._write.begin() as session:
                    column = ResponderActionRow.claimed_at
                    same = column.is_(None) if claimed is None else column == claimed
                    changed = session.execute(
                        update(ResponderActionRow)
                        .where(
                            ResponderActionRow.id == row.id,
                            ResponderActionRow.status == "requested",
                            same,
                        )
                        .values(claimed_at=now, attempts=ResponderActionRow.attempts + 1)
                    )
                    if getattr(changed, "rowcount", 0) == 1:
                        fresh = session.get(ResponderActionRow, row.id)
                        if fresh is not None:
                            session.refresh(fresh)
                            taken.append(_action(fresh))
        return taken

    def finish(
        self,
        action_id: int,
        status: str,
        result: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> ActionRecord:
        """Record how an action ended (``done``, ``failed`` or ``undone``), with its result."""
        if status not in ("done", "failed", "undone"):
            raise ConfigError("status", status, "use done, failed or undone")
        now = self.clock.now() if at is None else utc(at)
        with _guard(self.store.url), self._write.begin() as session:
            row = session.get(ResponderActionRow, action_id)
            if row is None:
                raise ConfigError("action_id", action_id, "no such responder action")
            row.status = status
            row.finished_at = now
            row.result = json_safe({**dict(row.result), **dict(result or {})})
            session.flush()
            return _action(row)

    def actions(
        self,
        service: str | None = None,
        *,
        incident_id: int | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[ActionRecord]:
        """Stored actions, oldest first."""
        statement = select(ResponderActionRow)
        if service is not None:
            statement = statement.where(ResponderActionRow.service == service)
        if incident_id is not None:
            statement = statement.where(ResponderActionRow.incident_id == incident_id)
        if status is not None:
            statement = statement.where(ResponderActionRow.status == status)
        statement = statement.order_by(ResponderActionRow.id).limit(limit)
        with _guard(self.store.url), self._read() as session:
            return [_action(row) for row in session.scalars(statement)]

    # -- service modes -----------------------------------------------------------------

    def set_mode(
        self,
        service: str,
        mode: str,
        *,
        reason: str,
        actor: str,
        incident_id: int | None = None,
        at: datetime | None = None,
    ) -> ServiceMode:
        """Switch ``service`` into ``mode`` (kept if already set for the same incident)."""
        now = self.clock.now() if at is None else utc(at)
        with _guard(self.store.url), self._write.begin() as session:
            statement = select(ServiceModeRow).where(
                ServiceModeRow.service == service,
                ServiceModeRow.mode == mode,
                ServiceModeRow.cleared_at.is_(None),
            )
            for row in session.scalars(statement):
                if row.incident_id == incident_id:
                    return _mode(row)
            row = ServiceModeRow(
                service=service,
                mode=mode,
                reason=str(reason),
                actor=actor,
                incident_id=incident_id,
                set_at=now,
            )
            session.add(row)
            session.flush()
            return _mode(row)

    def clear_modes(
        self,
        service: str,
        *,
        mode: str | None = None,
        incident_id: int | None = None,
        at: datetime | None = None,
    ) -> list[ServiceMode]:
        """Clear the active modes of ``service`` (of one mode, of one incident); returns them."""
        now = self.clock.now() if at is None else utc(at)
        statement = select(ServiceModeRow).where(
            ServiceModeRow.service == service, ServiceModeRow.cleared_at.is_(None)
        )
        if mode is not None:
            statement = statement.where(ServiceModeRow.mode == mode)
        if incident_id is not None:
            statement = statement.where(ServiceModeRow.incident_id == incident_id)
        with _guard(self.store.url), self._write.begin() as session:
            rows = list(session.scalars(statement))
            for row in rows:
                row.cleared_at = now
            session.flush()
            return [_mode(row) for row in rows]

    def active_modes(self, service: str) -> list[ServiceMode]:
        """The modes ``service`` is in now, oldest first."""
        statement = (
            select(ServiceModeRow)
            .where(ServiceModeRow.service == service, ServiceModeRow.cleared_at.is_(None))
            .order_by(ServiceModeRow.id)
        )
        with _guard(self.store.url), self._read() as session:
            return [_mode(row) for row in session.scalars(statement)]
