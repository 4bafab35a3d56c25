"""Gate, promote, rollback and lineage against a real MLflow registry and store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from steadyml.errors import PromotionError
from steadyml.services.gate import run_gate
from steadyml.services.lineage import lineage
from steadyml.services.promotion import promote, rollback
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from tests.services.conftest import edit_spec, make_project


def test_the_whole_lifecycle(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p")
    with Workspace.open(spec, environ={"STEADYML_ACTOR": "alice"}) as ws:
        with pytest.raises(PromotionError, match="no candidate"):
            promote(ws)
        v1 = train(spec, ws).version
        with pytest.raises(PromotionError, match="not been gated"):
            promote(ws)
        first = run_gate(ws)
        assert first.passed and first.champion_version is None
        assert {c.name for c in first.checks} >= {
            "calibration (ECE)",
            "p99 single-row latency (ms)",
        }
        assert Path(first.paths["markdown"]).read_text(encoding="utf-8").startswith("# Gate report")
        assert json.loads(Path(first.paths["json"]).read_text(encoding="utf-8"))["passed"] is True
        before_promotion = datetime.now(UTC)
        promote(ws, reason="first")
        assert ws.registry.aliases() == {"champion": v1}

    # v2: the same config and seed is not worse: non-inferiority passes
    with Workspace.open(spec, environ={"STEADYML_ACTOR": "bob"}) as ws:
        v2 = train(spec, ws).version
        report = run_gate(ws)
        primary = report.checks[0]
        assert report.passed, report.to_markdown()
        assert report.champion_version == v1
        assert primary.value == pytest.approx(0.0, abs=1e-12)
        assert {c.name for c in report.checks} >= {
            "slice floor (SEX)", "slice floor (RAC1P)", "contract compatibility"
        }  # fmt: skip
        promote(ws, reason="same model, new run")
        assert ws.registry.aliases() == {"champion": v2, "previous": v1}

    # v3: a much weaker model fails the gate and cannot be promoted without --force
    weak = edit_spec(spec, "model", params={"n_estimators": 3, "num_leaves": 2})
    with Workspace.open(weak, environ={}) as ws:
        v3 = train(weak, ws).version
        report = run_gate(ws)
        assert not report.passed
        primary = report.checks[0]
        assert not primary.passed
        assert isinstance(primary.value, float)
        assert primary.value < -0.005
        with pytest.raises(PromotionError, match="gate failed"):
            promote(ws)
        with pytest.raises(PromotionError, match="needs --reason"):
            promote(ws, force=True)
        change = promote(ws, force=True, reason="incident drill")
        assert change.gate_passed is False
        assert ws.registry.aliases() == {"champion": v3, "previous": v2}
        back = rollback(ws, reason="drill over")
        assert back.champion == v2
        assert ws.registry.aliases() == {"champion": v2}
        with pytest.raises(PromotionError, match="no previous"):
            rollback(ws)
        store = ws.store
        assert store.version_at("employment", before_promotion) is None
        assert store.version_at("employment", datetime.now(UTC)) == v2
        history = store.alias_history("employment", "champion")
        assert [(m.version, m.action) for m in history] == [
            (v1, "promote"), (v2, "promote"), (v3, "force-promote"), (v2, "rollback"),
        ]  # fmt: skip
        assert history[0].actor == "alice" and history[1].actor == "bob"
        assert history[2].gate_passed is False and history[2].reason == "incident drill"
        actions = [e.action for e in store.audit_log("employment")]
        assert actions[:3] == ["rollback", "force-promote", "train"]

        found = lineage(ws, v3)
        assert found.data_fingerprint.startswith("sha256:")
        assert found.gate is not None and found.gate["passed"] is False
        assert found.spec["model"]["params"]["n_estimators"] == 3
        assert [m["action"] for m in found.alias_history] == [
            "train", "force-promote", "force-promote", "rollback"
        ]  # fmt: skip


def test_latency_budget_is_enforced(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p", deployment={"latency_budget_ms": 0.001})
    with Workspace.open(spec, environ={}) as ws:
        train(spec, ws)
        report = run_gate(ws)
    latency = next(c for c in report.checks if c.name.startswith("p99"))
    assert not latency.passed and not report.passed
    assert isinstance(latency.value, float) and latency.value > 0.001


def test_gate_refuses_an_incompatible_contract(tmp_path: Path) -> None:
    spec = make_project(tmp_path / "p")
    with Workspace.open(spec, environ={}) as ws:
        train(spec, ws)
        run_gate(ws)
        promote(ws)
        contract_path = spec.base_dir / "contract.json"
        contract = json.loads(contract_path.read_text(encoding="utf-8"))
        for column in contract["columns"]:
            if column["name"] == "SEX":
                column["categories"] = ["1"]  # narrower than what the champion accepted
        contract_path.write_text(json.dumps(contract), encoding="utf-8")
        frame = __import__("polars").read_parquet(spec.resolve("data/employment_2015.parquet"))
        train(spec, ws, frame=frame.filter(frame["SEX"] == "1"))
        report = run_gate(ws)
    compat = next(c for c in report.checks if c.name == "contract compatibility")
    assert not compat.passed and "SEX" in compat.detail
