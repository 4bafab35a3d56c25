"""Faces: what people touch (CLI, reports, dashboard)."""

__all__: list[str] = []
