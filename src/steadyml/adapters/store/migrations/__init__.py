"""Alembic migrations of the metadata store, shipped inside the package.

:meth:`steadyml.adapters.store.Store.open` applies them programmatically (no
``alembic.ini`` needed). To write a new revision after changing ``tables.py``::

    from alembic import command
    from steadyml.adapters.store import alembic_config

    command.revision(alembic_config("sqlite:///dev.db"), "add alerts", autogenerate=True)

then review the generated file in ``versions/`` (name it ``vNNNN_<what>.py``, revision id
``NNNN``), keep it self-contained (no imports from ``tables.py``), and test it on SQLite
and PostgreSQL.
"""

__all__: list[str] = []
