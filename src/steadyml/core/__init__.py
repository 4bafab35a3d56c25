"""Pure core of steadyml: contracts, transforms, profiles, drift and performance statistics.

Nothing here does I/O, talks to the web or to MLflow; adapters and services build on it.
"""

__all__: list[str] = []
