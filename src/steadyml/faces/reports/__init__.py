"""Self-contained HTML and markdown reports."""

__all__: list[str] = []
