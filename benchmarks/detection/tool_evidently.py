"""Evidently on every window: ``Report([DataDriftPreset()])`` with its defaults.

The reference is 2015 with the champion's scores; each window is compared with it as a
pandas frame. The model's 16 inputs and its output (``prediction``, the probability of
the positive class) are the columns: ``AGEP`` and ``prediction`` numerical, the codes
categorical (the same roles as in the drift benchmark). A column alarms when its
``Value Drift`` test fails (above 1,000 rows Evidently uses Wasserstein distance for
numerical columns and Jensen-Shannon for categorical ones, threshold 0.1); the
prediction column's test is Evidently's prediction drift. The preset's dataset-level
``Drifted Columns`` test (share of drifted columns >= 0.5) is kept apart
(``dataset_drift``). Labels are not used: DataDriftPreset is label-free. Each window is
given the reference's columns (``reindex``): a field renamed upstream arrives empty, an
unknown new field is dropped.
"""

from __future__ import annotations

import evidently  # type: ignore[import-not-found]
import pandas as pd  # type: ignore[import-untyped]
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]
from peer_common import emit, parse_job, windows

TEST_PREFIX = "Value Drift for column "
COUNT_PREFIX = "Share of Drifted Columns"


def main() -> None:
    """Evaluate every window of one scenario; one JSON line per window."""
    job = parse_job()
    prediction = str(job.manifest["prediction"])
    columns = [*job.features, prediction]
    reference = pd.read_parquet(job.reference, columns=columns)
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(reference[c])]
    categorical = [c for c in columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference_set = Dataset.from_pandas(reference, data_definition=definition)
    for window, started in windows(job):
        try:
            # the pipeline keeps the reference's columns: a missing one arrives empty
            current = pd.read_parquet(window.path).reindex(columns=columns)
            snapshot = Report([DataDriftPreset()], include_tests=True).run(
                Dataset.from_pandas(current, data_definition=definition), reference_set
            )
            raw = snapshot.dict()
        except Exception as exc:  # a failing window is a result
            emit(
                "evidently", evidently.__version__, job, window, started, errors={"data_drift": exc}
            )
            continue
        failed = [
            str(t["name"]) for t in raw["tests"] if str(t["status"].value) in {"FAIL", "ERROR"}
        ]
        drifted = [n[len(TEST_PREFIX) :] for n in failed if n.startswith(TEST_PREFIX)]
        dataset = [n for n in failed if not n.startswith(TEST_PREFIX)]
        emit(
            "evidently",
            evidently.__version__,
            job,
            window,
            started,
            alarms={"data_drift": drifted, "dataset_drift": dataset},
        )


if __name__ == "__main__":
    main()
