"""Evidently: ``Report([DataDriftPreset()])`` with its defaults, on pandas frames.

Both files are read with ``pandas.read_parquet``; numeric columns are declared numerical
and text columns categorical (the same roles every tool gets). A column drifts when its
``Value Drift`` test fails: Evidently picks the method and threshold per column (K-S or
chi-squared p-values up to 1,000 rows, Wasserstein or Jensen-Shannon distances above).
"""

from __future__ import annotations

import evidently  # type: ignore[import-not-found]
import pandas as pd  # type: ignore[import-untyped]
from bench_common import Stopwatch, emit, parse_job
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]

TEST_PREFIX = "Value Drift for column "


def main() -> None:
    """Run one comparison and print its JSON line."""
    job = parse_job()
    watch = Stopwatch()
    reference = pd.read_parquet(job.reference)
    current = pd.read_parquet(job.current)
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    categorical = [c for c in reference.columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    raw = snapshot.dict()
    decisions = {
        str(t["name"])[len(TEST_PREFIX) :]: "drift" if str(t["status"].value) == "FAIL" else "ok"
        for t in raw["tests"]
        if str(t["name"]).startswith(TEST_PREFIX)
    }
    scores = {
        m["config"]["column"]: {
            "method": m["config"].get("method"),
            "threshold": m["config"].get("threshold"),
            "score": float(m["value"]),
        }
        for m in raw["metrics"]
        if m["config"].get("column") is not None
    }
    emit("evidently", evidently.__version__, job, watch, decisions=decisions, scores=scores)


if __name__ == "__main__":
    main()
