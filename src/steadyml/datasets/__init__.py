"""Bundled real data: US Census ACS employment, Massachusetts, 2015–2018.

Provenance: US Census Bureau American Community Survey (ACS) Public Use Microdata
Sample (PUMS), person records for Massachusetts, with the ``ACSEmployment`` task
definition of the folktables project (Ding, Hardt, Miller and Schmidt, "Retiring
Adult", NeurIPS 2021). Target ``employed`` (1 when ``ESR`` is 1, employed civilian);
features: age ``AGEP`` and the categorical codes ``SCHL`` (schooling), ``MAR``
(marital status), ``RELP`` (relationship), ``DIS`` (disability), ``ESP`` (parents'
employment), ``CIT`` (citizenship), ``MIG`` (mobility), ``MIL`` (military service),
``ANC`` (ancestry), ``NATIVITY``, ``DEAR``/``DEYE``/``DREM`` (hearing, vision,
cognitive difficulty), ``SEX`` and ``RAC1P`` (race). Codes are kept as strings as in
the PUMS data dictionary. The scores of a third-party model that came with the
files were removed.

* reference: 2015, 68,785 rows, with the target;
* analysis: 2016–2018, 208,892 rows, features only; labels in a separate frame
  joinable by ``id``, as labels arrive separately in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from steadyml.errors import NotFoundError

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "TARGET",
    "Employment",
    "dataset_path",
    "load_employment",
]

TARGET = "employed"
NUMERIC_FEATURES = ("AGEP",)
CATEGORICAL_FEATURES = (
    "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC",
    "NATIVITY", "DEAR", "DEYE", "DREM", "SEX", "RAC1P",
)  # fmt: skip
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

_FILES = {
    "reference": "employment_reference.parquet",
    "analysis": "employment_analysis.parquet",
    "analysis_labels": "employment_analysis_labels.parquet",
}


@dataclass(frozen=True)
class Employment:
    """The census employment data as Polars frames.

    Attributes
    ----------
    reference
        2015 rows: ``id``, the 16 features, ``employed`` and ``year``.
    analysis
        2016–2018 rows: ``id``, the 16 features and ``year`` (no target).
    analysis_labels
        ``id`` and ``employed`` for every analysis row.
    """

    reference: pl.DataFrame
    analysis: pl.DataFrame
    analysis_labels: pl.DataFrame

    def analysis_with_labels(self) -> pl.DataFrame:
        """The analysis rows joined with their labels on ``id``."""
        return self.analysis.join(self.analysis_labels, on="id", how="left")


def dataset_path(part: str) -> Path:
    """Path of a bundled Parquet file: ``reference``, ``analysis`` or ``analysis_labels``."""
    if part not in _FILES:
        raise NotFoundError("dataset part", part, f"use one of {sorted(_FILES)}")
    return Path(str(resources.files(__name__).joinpath(_FILES[part])))


def load_employment() -> Employment:
    """Load the bundled census employment data.

    Examples
    --------
    >>> data = load_employment()
    >>> data.reference.height, data.analysis.height
    (68785, 208892)
    """
    return Employment(
        reference=pl.read_parquet(dataset_path("reference")),
        analysis=pl.read_parquet(dataset_path("analysis")),
        analysis_labels=pl.read_parquet(dataset_path("analysis_labels")),
    )
