"""Alembic environment of the metadata store.

Run by :func:`alembic.command.upgrade` from ``Store.open``, which hands over an open
connection (already inside a transaction that holds the schema lock) in
``config.attributes["connection"]``. With only ``sqlalchemy.url`` set (a developer
generating a revision), it connects itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from steadyml.adapters.store.tables import VERSION_TABLE, Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
    elif context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=Base.metadata,
            version_table=VERSION_TABLE,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=NullPool)
        try:
            with engine.connect() as own:
                _run(own)
                own.commit()
        finally:
            engine.dispose()


_main()
