"""steadyml: keep machine-learning models healthy in production.

Data contract, training on MLflow, gated promotion, a hardened prediction service with a
durable prediction log, monitoring of data quality, drift, performance and business KPI,
alerts grouped into incidents, and automatic responses.
"""

from importlib import metadata

try:
    __version__ = metadata.version("steadyml")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
