"""NannyML: ``UnivariateDriftCalculator`` with its defaults, on pandas frames.

Both files are read with ``pandas.read_parquet``; text columns are treated as
categorical. With the defaults the current data are cut into 10 chunks, each compared
by Jensen-Shannon distance with a threshold learned from the reference's own chunks; a
column drifts when any current chunk raises an alert (the share of alerting chunks is
kept in the scores).
"""

from __future__ import annotations

import nannyml  # type: ignore[import-not-found]
import pandas as pd  # type: ignore[import-untyped]
from bench_common import Stopwatch, emit, parse_job


def main() -> None:
    """Run one comparison and print its JSON line."""
    job = parse_job()
    watch = Stopwatch()
    reference = pd.read_parquet(job.reference)
    current = pd.read_parquet(job.current)
    columns = list(reference.columns)
    categorical = [c for c in columns if not pd.api.types.is_numeric_dtype(reference[c])]
    calculator = nannyml.UnivariateDriftCalculator(
        column_names=columns, treat_as_categorical=categorical
    )
    calculator.fit(reference)
    table = calculator.calculate(current).filter(period="analysis").to_df()
    decisions: dict[str, str] = {}
    scores: dict[str, dict[str, float]] = {}
    for column in columns:
        method = next(m for (c, m, _) in table.columns if c == column)
        alerts = table[(column, method, "alert")].astype(bool)
        decisions[column] = "drift" if bool(alerts.any()) else "ok"
        scores[column] = {
            "method": method,
            "alerting_chunks": int(alerts.sum()),
            "chunks": len(alerts),
            "max_value": float(table[(column, method, "value")].max()),
        }
    emit("nannyml", nannyml.__version__, job, watch, decisions=decisions, scores=scores)


if __name__ == "__main__":
    main()
