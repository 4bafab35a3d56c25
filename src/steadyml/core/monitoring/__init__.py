"""Monitoring, pure: windows, window summaries, checks, alert rules and incidents.

Nothing here reads files or databases. The monitor runner
(:mod:`steadyml.services.monitoring`) reads the prediction log, builds per-pane
summaries with these types, stores them, merges them into windows, runs
:func:`~steadyml.core.monitoring.checks.run_checks`, evaluates the
:class:`AlertRule` set with hysteresis and lets the :class:`IncidentBook` group alerts
into incidents. ``docs/monitoring.md`` describes every metric and default rule.
"""

from steadyml.core.monitoring.catalog import METRICS, SYMPTOMS, TRIAGE, MetricInfo, triage_of
from steadyml.core.monitoring.checks import run_checks
from steadyml.core.monitoring.codec import pack, unpack
from steadyml.core.monitoring.context import (
    ALL_VERSIONS,
    PREDICTION_COLUMN,
    Reference,
    WindowData,
    WindowKey,
)
from steadyml.core.monitoring.incidents import (
    Alert,
    Incident,
    IncidentBook,
    IncidentEvent,
    root_cause_hint,
)
from steadyml.core.monitoring.labelled import (
    LabelSummary,
    OutcomeSummary,
    label_summary,
    label_targets,
)
from steadyml.core.monitoring.measurements import (
    Measurement,
    rate_measurement,
    status_rank,
    wilson_interval,
)
from steadyml.core.monitoring.rules import (
    AlertRule,
    RuleState,
    compile_rules,
    default_rules,
    evaluate,
)
from steadyml.core.monitoring.scores import ErrorSums, ScoreHistogram
from steadyml.core.monitoring.summary import WindowSummary, summarize
from steadyml.core.monitoring.windows import WindowSpec, pane_start_expr, parse_windows

__all__ = [
    "ALL_VERSIONS",
    "METRICS",
    "PREDICTION_COLUMN",
    "SYMPTOMS",
    "TRIAGE",
    "Alert",
    "AlertRule",
    "ErrorSums",
    "Incident",
    "IncidentBook",
    "IncidentEvent",
    "LabelSummary",
    "Measurement",
    "MetricInfo",
    "OutcomeSummary",
    "Reference",
    "RuleState",
    "ScoreHistogram",
    "WindowData",
    "WindowKey",
    "WindowSpec",
    "WindowSummary",
    "compile_rules",
    "default_rules",
    "evaluate",
    "label_summary",
    "label_targets",
    "pack",
    "pane_start_expr",
    "parse_windows",
    "rate_measurement",
    "root_cause_hint",
    "run_checks",
    "status_rank",
    "summarize",
    "triage_of",
    "unpack",
    "wilson_interval",
]
