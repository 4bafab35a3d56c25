"""A model card in markdown: intended use, data, metrics by slice, limitations, constraints."""

from __future__ import annotations

from typing import Any

from steadyml.services.evaluation import Evaluation
from steadyml.spec import ServiceSpec

__all__ = ["render_model_card"]


def _interval(values: dict[str, float]) -> str:
    return f"{values['estimate']:.4f} [{values['low']:.4f}, {values['high']:.4f}]"


def render_model_card(spec: ServiceSpec, evaluation: Evaluation, meta: dict[str, Any]) -> str:
    """Render the card logged with every trained version."""
    deployment = spec.deployment
    lines = [
        f"# Model card: {spec.service}",
        "",
        "## Intended use",
        "",
        spec.description or f"{spec.task.value.replace('_', ' ')} of `{spec.data.target}`.",
        "",
        f"- Owner: {spec.owner or 'not stated'}",
        f"- Task: `{spec.task.value}`; target `{spec.data.target}`",
        f"- Estimator: `{meta['estimator']}` (seed {spec.model.seed})",
        "",
        "## Data",
        "",
        f"- Training rows: {meta['train_rows']:,}; held-out rows (latest in time): "
        f"{meta['test_rows']:,}",
        f"- Features ({len(meta['features'])}): {', '.join(f'`{f}`' for f in meta['features'])}",
        f"- Data fingerprint: `{meta['data_fingerprint']}`",
        f"- Code commit: `{meta['git_commit'] or 'not a git checkout'}`",
        f"- Feature transform: `{meta['transform']['name']}`",
        "",
        "## Metrics on the held-out rows",
        "",
        f"Point estimate and {round(100 * next(iter(evaluation.metrics.values()))['level'])}% "
        "bootstrap interval.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for name, values in evaluation.metrics.items():
        marker = " (primary)" if name == evaluation.primary_metric else ""
        lines.append(f"| {name}{marker} | {_interval(values)} |")
    if evaluation.calibration is not None:
        lines += ["", f"Expected calibration error: {evaluation.calibration['ece']:.4f}"]
    for column, results in evaluation.slices.items():
        lines += [
            "",
            f"### {evaluation.primary_metric} by `{column}`",
            "",
            "| value | rows | metric |",
            "|---|---|---|",
        ]
        lines += [f"| {r['value']} | {r['rows']:,} | {_interval(r)} |" for r in results]
    lines += [
        "",
        "## Deployment constraints (written before training)",
        "",
        f"- p99 latency budget: {deployment.latency_budget_ms:g} ms per request",
        f"- Expected throughput: {deployment.expected_throughput_rps:g} requests/s",
        f"- Fallback: {deployment.fallback.strategy}"
        + (f" ({deployment.fallback.value})" if deployment.fallback.value is not None else ""),
        "",
        "## Limitations",
        "",
        "- Metrics describe the held-out period only; monitoring tracks drift and realised "
        "performance after deployment.",
        "- Slices with few rows have wide intervals; read them with their interval.",
        "- Inputs outside the data contract are rejected, flagged or imputed as the spec says.",
        "",
    ]
    return "\n".join(lines)
