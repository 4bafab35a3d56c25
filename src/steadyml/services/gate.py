"""The promotion gate: may the candidate replace the champion?

Both versions are scored on the *same* held-out rows (the candidate's test split, the most
recent data). Checks: the primary metric with a paired bootstrap (non-inferiority within
``max_regression``; superiority when ``min_effect`` > 0), per-slice regression floors,
calibration, measured p99 single-row latency against the deployment budget, and contract
compatibility. The report is written as markdown and JSON and recorded in the store.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.performance import (
    compute_metrics,
    expected_calibration_error,
    higher_is_better,
    paired_bootstrap,
)
from steadyml.core.violations import ViolationPolicy
from steadyml.errors import PromotionError
from steadyml.services.bundles import ModelBundle, load_bundle
from steadyml.services.evaluation import target_array
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, Task

__all__ = ["GateCheck", "GateReport", "measure_latency", "run_gate"]


@dataclass(frozen=True)
class GateCheck:
    """One criterion of the gate."""

    name: str
    passed: bool
    value: float | str | None
    threshold: float | str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class GateReport:
    """The gate's verdict with its evidence."""

    service: str
    candidate_version: int
    champion_version: int | None
    primary_metric: str
    rows: int
    checks: tuple[GateCheck, ...]
    comparison: dict[str, Any] | None
    at: datetime
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "service": self.service,
            "candidate_version": self.candidate_version,
            "champion_version": self.champion_version,
            "passed": self.passed,
            "primary_metric": self.primary_metric,
            "rows": self.rows,
            "checks": [c.to_dict() for c in self.checks],
            "comparison": self.comparison,
            "at": self.at.isoformat(),
        }

    def to_markdown(self) -> str:
        """Human-readable report."""
        verdict = "PASSED" if self.passed else "FAILED"
        against = (
            f"champion v{self.champion_version}"
            if self.champion_version is not None
            else "no champion (first model)"
        )
        lines = [
            f"# Gate report: {self.service} v{self.candidate_version} — {verdict}",
            "",
            f"Candidate v{self.candidate_version} against {against}, on {self.rows:,} "
            f"held-out rows, {self.at:%Y-%m-%d %H:%M:%S} UTC.",
            "",
            "| check | result | value | threshold | detail |",
            "|---|---|---|---|---|",
        ]
        for c in self.checks:
            mark = "pass" if c.passed else "**FAIL**"
            lines.append(
                f"| {c.name} | {mark} | {_fmt(c.value)} | {_fmt(c.threshold)} | {c.detail} |"
            )
        return "\n".join(lines) + "\n"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def measure_latency(bundle: ModelBundle, rows: pl.DataFrame, samples: int) -> np.ndarray[Any, Any]:
    """Single-row latency (ms) of the serving path: validate a JSON record, transform, predict."""
    features = list(bundle.contract.names)
    records = rows.select(features).head(max(samples, 1)).to_dicts()
    policy = ViolationPolicy()
    timings = []
    for i in range(samples + 10):
        record = records[i % len(records)]
        start = time.perf_counter()
        result = bundle.contract.validate_records([record], policy)
        if result.frame.height:
            bundle.predictor.score(result.frame)
        if i >= 10:
            timings.append((time.perf_counter() - start) * 1000.0)
    return np.asarray(timings)


def _primary_check(
    spec: ServiceSpec, task: Task, y: Any, cand: Any, champ: Any
) -> tuple[GateCheck, dict[str, Any]]:
    gate = spec.gate
    metric = spec.primary_metric
    result = paired_bootstrap(
        task,
        metric,
        y,
        cand,
        champ,
        rounds=gate.bootstrap_rounds,
        level=1 - 2 * gate.alpha,
        seed=spec.model.seed,
        min_effect=gate.min_effect,
    )
    non_inferior = result.low > -gate.max_regression
    superior = gate.min_effect <= 0 or result.p_value < gate.alpha
    passed = non_inferior and superior
    detail = (
        f"candidate {result.candidate:.4f} vs champion {result.champion:.4f}; delta "
        f"{result.delta:+.4f} [{result.low:+.4f}, {result.high:+.4f}] (positive = better); "
        f"P(better) {result.prob_better:.2f}"
    )
    if not non_inferior:
        detail += f"; may be worse by more than {gate.max_regression}"
    if not superior:
        detail += f"; not better by {gate.min_effect} (p = {result.p_value:.3f})"
    check = GateCheck(f"primary metric ({metric})", passed, result.delta, gate.min_effect, detail)
    return check, result.to_dict()


def _slice_checks(
    spec: ServiceSpec, task: Task, holdout: pl.DataFrame, *, y: Any, cand: Any, champ: Any
) -> list[GateCheck]:
    checks = []
    metric = spec.primary_metric
    sign = 1.0 if higher_is_better(metric) else -1.0
    for slice_spec in spec.data.slices:
        if slice_spec.column not in holdout.columns:
            continue
        values = holdout.get_column(slice_spec.column).cast(pl.String).fill_null("(null)")
        worst: tuple[float, str] | None = None
        for value in values.unique().sort().to_list():
            mask = (values == value).to_numpy()
            if mask.sum() < slice_spec.min_rows:
                continue
            a = compute_metrics(task, y[mask], cand[mask])[metric]
            b = compute_metrics(task, y[mask], champ[mask])[metric]
            delta = sign * (a - b)
            if np.isfinite(delta) and (worst is None or delta < worst[0]):
                worst = (delta, str(value))
        if worst is None:
            continue
        passed = worst[0] >= -spec.gate.slice_max_regression
        checks.append(
            GateCheck(
                f"slice floor ({slice_spec.column})",
                passed,
                worst[0],
                -spec.gate.slice_max_regression,
                f"worst slice {slice_spec.column}={worst[1]}: {metric} change {worst[0]:+.4f}",
            )
        )
    return checks


def run_gate(workspace: Workspace, *, candidate: int | None = None) -> GateReport:
    """Compare the candidate (alias ``candidate`` unless given) with the champion."""
    spec = workspace.spec
    registry = workspace.registry
    registry.ping()
    candidate_version = candidate if candidate is not None else registry.alias_version("candidate")
    if candidate_version is None:
        raise PromotionError(
            "candidate", fix="there is no candidate version; run 'steadyml train' first"
        )
    champion_version = registry.alias_version("champion")
    if champion_version == candidate_version:
        champion_version = None
    cand = load_bundle(registry, workspace.model_cache, candidate_version)
    holdout = cand.holdout()
    task = cand.task
    y = target_array(holdout.get_column(spec.data.target), task, cand.predictor.classes)
    inputs = holdout.select(cand.contract.names)
    cand_scores = cand.predictor.score(inputs)
    checks: list[GateCheck] = []
    comparison = None
    if champion_version is not None:
        champ = load_bundle(registry, workspace.model_cache, champion_version)
        champ_scores = champ.predictor.score(holdout.select(champ.contract.names))
        primary, comparison = _primary_check(spec, task, y, cand_scores, champ_scores)
        checks.append(primary)
        checks.extend(_slice_checks(spec, task, holdout, y=y, cand=cand_scores, champ=champ_scores))
        problems = champ.contract.compare(cand.contract)
        checks.append(
            GateCheck(
                "contract compatibility",
                not problems,
                len(problems),
                0,
                "; ".join(problems) or "the candidate accepts what the champion accepted",
            )
        )
    else:
        value = compute_metrics(task, y, cand_scores)[spec.primary_metric]
        checks.append(
            GateCheck(
                f"primary metric ({spec.primary_metric})",
                bool(np.isfinite(value)),
                float(value),
                None,
                "no champion yet: the candidate is measured, not compared",
            )
        )
    if task is Task.BINARY:
        ece = expected_calibration_error(y, cand_scores)
        checks.append(
            GateCheck(
                "calibration (ECE)",
                ece <= spec.gate.max_calibration_error,
                ece,
                spec.gate.max_calibration_error,
                "expected calibration error on the held-out rows",
            )
        )
    latency = measure_latency(cand, holdout, spec.gate.latency_samples)
    p99 = float(np.percentile(latency, 99))
    budget = spec.deployment.latency_budget_ms
    checks.append(
        GateCheck(
            "p99 single-row latency (ms)",
            p99 <= budget,
            p99,
            budget,
            f"validate + transform + predict, {len(latency)} requests; "
            f"p50 {np.percentile(latency, 50):.2f} ms",
        )
    )
    report = GateReport(
        service=spec.service,
        candidate_version=candidate_version,
        champion_version=champion_version,
        primary_metric=spec.primary_metric,
        rows=holdout.height,
        checks=tuple(checks),
        comparison=comparison,
        at=datetime.now(UTC),
    )
    return _save(workspace, report)


def _save(workspace: Workspace, report: GateReport) -> GateReport:
    stem = f"gate-v{report.candidate_version}"
    if report.champion_version is not None:
        stem += f"-vs-v{report.champion_version}"
    directory: Path = workspace.reports_dir
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(report.to_markdown(), encoding="utf-8")
    js.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    workspace.store.record_gate_result(
        service=report.service,
        candidate_version=report.candidate_version,
        champion_version=report.champion_version,
        passed=report.passed,
        report=report.to_dict(),
        at=report.at,
    )
    return GateReport(**{**report.__dict__, "paths": {"markdown": str(md), "json": str(js)}})
