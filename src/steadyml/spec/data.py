"""What a service trains on and how: data source, split, slices, transforms, model."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from steadyml.spec.base import Frozen

__all__ = ["DataSpec", "ModelSpec", "SliceSpec", "SourceSpec", "SplitSpec", "TransformsSpec"]


class SourceSpec(Frozen):
    """Where training data comes from: a Parquet/CSV path, or a SQL query."""

    path: str | None = Field(None, description="Parquet or CSV file, relative to the spec file")
    sql: str | None = Field(None, description="SQL query whose result is the training table")
    url: str | None = Field(
        None, description="SQLAlchemy URL of the database the query runs on (with sql)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> SourceSpec:
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of 'path' (a Parquet or CSV file) or 'sql'")
        if self.sql is not None and self.url is None:
            raise ValueError("a 'sql' source needs 'url', the database to run it on")
        return self


class SplitSpec(Frozen):
    """Time-based hold-out: the latest ``test_fraction`` of rows is the test set."""

    test_fraction: float = Field(0.2, gt=0.0, lt=0.9)
    order_by: str | None = Field(
        None,
        description="column that orders rows in time; default: the time column, else the id",
    )


class SliceSpec(Frozen):
    """A column whose values define evaluation slices, with a floor for the gate."""

    column: str
    min_rows: int = Field(200, ge=1, description="slices with fewer test rows are not gated")


class DataSpec(Frozen):
    """The training table and its columns."""

    source: SourceSpec
    target: str
    id_column: str | None = None
    time_column: str | None = None
    features: tuple[str, ...] | None = Field(
        None, description="model inputs; default: every column but target, id and time"
    )
    contract: str = Field("contract.json", description="contract file, relative to the spec")
    split: SplitSpec = SplitSpec()
    slices: tuple[SliceSpec, ...] = ()

    @field_validator("slices", mode="before")
    @classmethod
    def _slices_from_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value


class TransformsSpec(Frozen):
    """Derived features as code: ``function(frame: pl.DataFrame) -> pl.DataFrame``."""

    module: str = Field(description="a .py file relative to the spec, or a dotted module name")
    function: str = "transform"


class ModelSpec(Frozen):
    """The estimator and its parameters."""

    estimator: str = Field(
        "lightgbm",
        description="'lightgbm', or a dotted path to any scikit-learn-compatible class",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = 42
    primary_metric: str | None = Field(
        None, description="default: roc_auc (binary), log_loss (multiclass), rmse (regression)"
    )
