"""The ``steadyml`` command line."""

__all__: list[str] = []
