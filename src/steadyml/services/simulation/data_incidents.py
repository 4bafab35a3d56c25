"""Incidents in the input data: covariate drift, schema breaks, unseen categories, skew."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from steadyml.services.simulation.incident import Incident, Params, Rng

__all__ = [
    "CategoryShift",
    "CovariateShift",
    "NullFeature",
    "RenamedFeature",
    "TrainingServingSkew",
    "TypeChange",
    "UnitChange",
    "UnseenCategories",
]

_DATA = frozenset({"feature_drift", "data_quality", "prediction_drift", "schema_break"})
_BREAK = frozenset({"schema_break", "data_quality", "feature_drift"})


def _hits(height: int, share: float, rng: Rng) -> pl.Series:
    return pl.Series(rng.random(height) < share)


class _FeatureIncident(Incident):
    by_feature = True

    @property
    def column(self) -> str:
        if self.feature is None:  # pragma: no cover - refused when the scenario is read
            raise RuntimeError(f"{self.type} needs a feature")
        return self.feature


class CovariateShiftParams(Params):
    shift_std: float = Field(0.5, description="mean shift in reference standard deviations")
    scale: float = Field(1.0, gt=0, description="spread multiplier around the mean")


class CovariateShift(_FeatureIncident):
    """A numeric feature moves (shift in std units) and/or spreads (scale change)."""

    type = "covariate_shift"
    summary = "numeric feature shifted by shift_std standard deviations, spread x scale"
    feature_kind = "numeric"
    expects = _DATA
    Parameters = CovariateShiftParams

    def bind(self, data: pl.DataFrame) -> None:
        values = data.get_column(self.column).cast(pl.Float64)
        self.mean = float(values.mean() or 0.0)  # type: ignore[arg-type]
        self.std = float(values.std() or 1.0)  # type: ignore[arg-type]

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        scale = 1.0 + (p.scale - 1.0) * progress
        shift = p.shift_std * self.std * progress
        column = pl.col(self.column).cast(pl.Float64)
        moved = (column - self.mean) * scale + self.mean + shift
        return frame.with_columns(moved.alias(self.column))


class CategoryShiftParams(Params):
    category: str | None = Field(None, description="the category that gains; default: a rare one")
    points: float = Field(15.0, gt=0, le=100, description="percentage points it gains")


class CategoryShift(_FeatureIncident):
    """One category's frequency rises by ``points`` percentage points."""

    type = "category_shift"
    summary = "a category gains `points` percentage points of frequency"
    feature_kind = "categorical"
    expects = _DATA
    Parameters = CategoryShiftParams

    def bind(self, data: pl.DataFrame) -> None:
        p: Any = self.params
        counts = data.get_column(self.column).drop_nulls().value_counts(sort=True)
        names = counts.get_column(self.column).to_list()
        shares = (counts.get_column("count") / data.height).to_list()
        self.category = p.category if p.category is not None else str(names[len(names) // 2])
        found = dict(zip(names, shares, strict=True))
        self.share = float(found.get(self.category, 0.0))

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        gain = min(1.0, p.points / 100.0 * progress / max(1e-9, 1.0 - self.share))
        hit = _hits(frame.height, gain, rng)
        value = pl.when(hit).then(pl.lit(self.category)).otherwise(pl.col(self.column))
        return frame.with_columns(value.alias(self.column))


class ShareParams(Params):
    share: float = Field(1.0, gt=0, le=1, description="share of records affected")


class NullFeature(_FeatureIncident):
    """An upstream column goes null (schema break)."""

    type = "null_feature"
    summary = "the feature arrives null in `share` of the records"
    feature_kind = "any"
    expects = _BREAK
    Parameters = ShareParams

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        hit = _hits(frame.height, self.params.share * progress, rng)  # type: ignore[attr-defined]
        value = pl.when(hit).then(None).otherwise(pl.col(self.column))
        return frame.with_columns(value.alias(self.column))


class RenamedParams(ShareParams):
    new_name: str | None = Field(None, description="the new field name; default: <feature>_v2")


class RenamedFeature(_FeatureIncident):
    """An upstream column is renamed: the field is missing, an unknown one appears."""

    type = "renamed_feature"
    summary = "the field is sent under another name"
    feature_kind = "any"
    expects = _BREAK
    Parameters = RenamedParams

    def edit_records(
        self, records: list[dict[str, Any]], progress: float, rng: Rng
    ) -> list[dict[str, Any]]:
        p: Any = self.params
        new_name = p.new_name or f"{self.column}_v2"
        hits = rng.random(len(records)) < p.share * progress
        for record, hit in zip(records, hits, strict=True):
            if hit and self.column in record:
                record[new_name] = record.pop(self.column)
        return records


class TypeChange(_FeatureIncident):
    """An upstream column changes type: numbers arrive as text with a unit, codes as lists."""

    type = "type_change"
    summary = "the field arrives with another JSON type"
    feature_kind = "any"
    expects = _BREAK
    Parameters = ShareParams

    def edit_records(
        self, records: list[dict[str, Any]], progress: float, rng: Rng
    ) -> list[dict[str, Any]]:
        hits = rng.random(len(records)) < self.params.share * progress  # type: ignore[attr-defined]
        for record, hit in zip(records, hits, strict=True):
            value = record.get(self.column)
            if hit and value is not None:
                record[self.column] = f"{value} units" if isinstance(value, float) else [value]
        return records


class UnitParams(ShareParams):
    factor: float = Field(100.0, description="the unit change, e.g. 100 for metres to cm")


class UnitChange(_FeatureIncident):
    """An upstream column changes unit (x100 by default)."""

    type = "unit_change"
    summary = "the numeric feature is multiplied by `factor`"
    feature_kind = "numeric"
    expects = _DATA
    Parameters = UnitParams

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        hit = _hits(frame.height, p.share * progress, rng)
        column = pl.col(self.column).cast(pl.Float64)
        value = pl.when(hit).then(column * p.factor).otherwise(column)
        return frame.with_columns(value.alias(self.column))


class UnseenParams(Params):
    share: float = Field(0.1, gt=0, le=1, description="share of records with a new category")
    distinct: int = Field(50, ge=1, description="how many new categories appear")


class UnseenCategories(_FeatureIncident):
    """Categories never seen in training appear (a category explosion)."""

    type = "unseen_categories"
    summary = "`share` of the records carry one of `distinct` new categories"
    feature_kind = "categorical"
    expects = _DATA
    Parameters = UnseenParams

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        hit = _hits(frame.height, p.share * progress, rng)
        codes = pl.Series([f"NEW{i}" for i in rng.integers(0, p.distinct, frame.height)])
        value = pl.when(hit).then(codes).otherwise(pl.col(self.column))
        return frame.with_columns(value.alias(self.column))


class SkewParams(Params):
    add: float = Field(10.0, description="numeric: online value = value * scale + add")
    scale: float = Field(1.0, description="numeric: online value = value * scale + add")


class TrainingServingSkew(_FeatureIncident):
    """The feature is computed differently online than in training.

    Numeric: ``value * scale + add`` online; categorical: the two most frequent codes
    are swapped online (a mapping table that differs).
    """

    type = "training_serving_skew"
    summary = "the online feature pipeline computes the feature differently"
    feature_kind = "any"
    expects = _DATA
    Parameters = SkewParams

    def bind(self, data: pl.DataFrame) -> None:
        column = data.get_column(self.column)
        self.numeric = column.dtype.is_numeric()
        top = column.drop_nulls().value_counts(sort=True).get_column(self.column).to_list()
        self.swap = (str(top[0]), str(top[1] if len(top) > 1 else top[0]))

    def apply(self, frame: pl.DataFrame, progress: float, rng: Rng) -> pl.DataFrame:
        p: Any = self.params
        if progress <= 0:
            return frame
        if self.numeric:
            value = pl.col(self.column).cast(pl.Float64) * p.scale + p.add
            return frame.with_columns(value.alias(self.column))
        a, b = self.swap
        column = pl.col(self.column)
        value = pl.when(column == a).then(pl.lit(b)).when(column == b).then(pl.lit(a))
        return frame.with_columns(value.otherwise(column).alias(self.column))
