"""One module per page family: overview, service and feature, incidents, models, reports."""

__all__: list[str] = []
