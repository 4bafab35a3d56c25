"""The metadata store: alias history, audit log and gate results (later: monitoring).

SQLAlchemy + Alembic; a SQLite file under the state directory by default, PostgreSQL
in production. :meth:`Store.open` brings the schema to the newest revision.
"""

from steadyml.adapters.store.records import AliasMove, AuditEntry, GateRecord
from steadyml.adapters.store.store import Store, StoreUnavailable, alembic_config

__all__ = ["AliasMove", "AuditEntry", "GateRecord", "Store", "StoreUnavailable", "alembic_config"]
