"""Adapters: steadyml's connections to the outside world (MLflow, stores, logs, sinks)."""

__all__: list[str] = []
