"""whylogs: profile both frames with ``why.log``, then ``calculate_drift_scores`` defaults.

Both files are read with ``pandas.read_parquet``. whylogs tests numeric columns with KS
on its KLL sketches and categorical ones with chi-squared on its frequent-items sketch;
its categories are ``NO_DRIFT`` (p >= 0.15), ``POSSIBLE_DRIFT`` (0.05 <= p < 0.15) and
``DRIFT`` (p < 0.05), reported here as ``ok``, ``warn`` and ``drift``.
"""

from __future__ import annotations

import os

from bench_common import Stopwatch, emit, parse_job

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")  # no network calls from the run

import pandas as pd  # type: ignore[import-untyped]
import whylogs  # type: ignore[import-not-found]
from whylogs.viz.drift.column_drift_algorithms import (  # type: ignore[import-not-found]
    calculate_drift_scores,
)

LABELS = {"NO_DRIFT": "ok", "POSSIBLE_DRIFT": "warn", "DRIFT": "drift"}


def main() -> None:
    """Run one comparison and print its JSON line."""
    job = parse_job()
    watch = Stopwatch()
    reference = whylogs.log(pandas=pd.read_parquet(job.reference)).view()
    current = whylogs.log(pandas=pd.read_parquet(job.current)).view()
    scores = calculate_drift_scores(
        target_view=current, reference_view=reference, with_thresholds=True
    )
    decisions = {
        column: "insufficient_data" if score is None else LABELS[score["drift_category"]]
        for column, score in scores.items()
    }
    emit(
        "whylogs",
        whylogs.__version__,
        job,
        watch,
        decisions=decisions,
        scores={
            column: None
            if score is None
            else {k: score[k] for k in ("algorithm", "pvalue", "statistic")}
            for column, score in scores.items()
        },
    )


if __name__ == "__main__":
    main()
