"""A plain scipy baseline: two-sample KS per numeric column, chi-squared per categorical.

Both files are read whole with Polars; a column drifts when its p-value is below 0.05,
the textbook test most drift tools default to on small data.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy
from bench_common import Stopwatch, emit, parse_job
from scipy import stats

ALPHA = 0.05


def _numeric(reference: pl.Series, current: pl.Series) -> float:
    a = reference.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
    b = current.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
    return float(stats.ks_2samp(a, b).pvalue)


def _categorical(reference: pl.Series, current: pl.Series) -> float:
    counts = (
        pl.concat(
            [
                reference.value_counts().with_columns(pl.lit(0).alias("window")),
                current.value_counts().with_columns(pl.lit(1).alias("window")),
            ]
        )
        .pivot(on="window", index=reference.name, values="count")
        .fill_null(0)
    )
    table = np.stack([counts["0"].to_numpy(), counts["1"].to_numpy()])
    return float(stats.chi2_contingency(table).pvalue)


def main() -> None:
    """Run one comparison and print its JSON line."""
    job = parse_job()
    watch = Stopwatch()
    reference = pl.read_parquet(job.reference)
    current = pl.read_parquet(job.current)
    p_values: dict[str, float] = {}
    for name, dtype in reference.schema.items():
        if dtype.is_numeric():
            p_values[name] = _numeric(reference[name], current[name])
        else:
            p_values[name] = _categorical(reference[name], current[name])
    emit(
        "scipy",
        scipy.__version__,
        job,
        watch,
        decisions={name: "drift" if p < ALPHA else "ok" for name, p in p_values.items()},
        scores={name: {"p_value": p} for name, p in p_values.items()},
    )


if __name__ == "__main__":
    main()
