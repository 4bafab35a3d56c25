"""steadyml init: a commented spec and a contract inferred from the data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from steadyml.core.contract import Contract
from steadyml.errors import ConfigError, DataError
from steadyml.services.scaffold import guess_task, write_scaffold
from steadyml.spec import Task, load_spec


def test_init_writes_a_spec_that_parses_and_a_contract(tmp_path: Path) -> None:
    data = tmp_path / "churn.parquet"
    pl.DataFrame(
        {"id": [1, 2, 3, 4], "tenure": [1.0, 5.0, 3.0, 8.0], "plan": ["a", "b", "a", "c"],
         "churned": [0, 1, 0, 1]}
    ).write_parquet(data)  # fmt: skip
    result = write_scaffold(data, "churned", tmp_path)
    spec = load_spec(result.spec_path)
    assert spec.task is Task.BINARY
    assert spec.data.id_column == "id"
    assert spec.data.features == ("tenure", "plan")
    assert spec.resolve(spec.data.source.path or "") == data.resolve()
    assert "# Production constraints" in result.spec_path.read_text(encoding="utf-8")
    contract = Contract.from_json(result.contract_path.read_text(encoding="utf-8"))
    assert contract.names == ("tenure", "plan")
    with pytest.raises(ConfigError, match="--force"):
        write_scaffold(data, "churned", tmp_path)
    assert write_scaffold(data, "churned", tmp_path, force=True).task is Task.BINARY


def test_init_names_a_missing_target(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pl.DataFrame({"a": [1, 2]}).write_csv(data)
    with pytest.raises(DataError, match="--target"):
        write_scaffold(data, "y", tmp_path)


@pytest.mark.parametrize(
    ("values", "task"),
    [([0, 1, 1], Task.BINARY), (["a", "b", "c"], Task.MULTICLASS),
     ([0.5, 1.5, 2.5], Task.REGRESSION), (list(range(50)), Task.REGRESSION)],
)  # fmt: skip
def test_guess_task(values: list[object], task: Task) -> None:
    assert guess_task(pl.Series(values)) is task
