"""Store schema revisions, applied in order; Alembic skips this file."""

__all__: list[str] = []
