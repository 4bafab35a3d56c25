"""The monitor runner: from the prediction log to window metrics, alerts and incidents.

:class:`Monitor` reads new sealed log segments after the stored cursor, builds window
summaries and profiles per model version, stores them, runs the checks, evaluates the
alert rules and opens, updates and resolves incidents - one transaction per pass. See
``docs/monitoring.md``.
"""

from steadyml.services.monitoring.references import (
    BundleReferences,
    ReferenceProvider,
    StaticReferences,
    reference_of_bundle,
)
from steadyml.services.monitoring.runner import Monitor, PassReport, log_root

__all__ = [
    "BundleReferences",
    "Monitor",
    "PassReport",
    "ReferenceProvider",
    "StaticReferences",
    "log_root",
    "reference_of_bundle",
]
