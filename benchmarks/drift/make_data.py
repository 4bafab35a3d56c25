"""Write the drift benchmark's data as Parquet under ``benchmarks/drift/data/`` (git-ignored).

Synthetic data: 10 numeric and 5 categorical columns of varied shapes; a 100k-row
reference and current windows of 100k, 1M, 5M and 20M rows in four cases that differ
only in two columns, ``num_0`` (normal, std 10) and ``cat_0`` (5 categories):

========  =====================  =====================================
case      ``num_0`` shift        ``cat_0``: points moved from a to b
========  =====================  =====================================
none      0                      0
trivial   0.02 std               1
moderate  0.2 std                5
major     0.5 std                15
========  =====================  =====================================

The other 13 columns are drawn from the reference's distributions in every case, so a
flag on any of them is a false alarm. Files are written in chunks of 1M rows (one row
group each; memory stays flat), and a file that already has the right number of rows is
kept. Census: the bundled ACS data, 2015 (the reference) and each of 2016, 2017, 2018.

Usage::

    uv run python benchmarks/drift/make_data.py                 # everything (about 4 GB)
    uv run python benchmarks/drift/make_data.py --sizes 100k 1M  # development
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent / "data"
REFERENCE_ROWS = 100_000
CHUNK_ROWS = 1_000_000
SIZES = {"100k": 100_000, "1M": 1_000_000, "5M": 5_000_000, "20M": 20_000_000}
CENSUS_YEARS = (2016, 2017, 2018)

NUMERIC = tuple(f"num_{i}" for i in range(10))
CATEGORICAL = tuple(f"cat_{i}" for i in range(5))
SHIFTED = ("num_0", "cat_0")
NUM_0_STD = 10.0


@dataclass(frozen=True)
class Case:
    """A drift case: a shift of ``num_0`` in its std and points moved between categories."""

    name: str
    std_shift: float
    points: float


CASES = (
    Case("none", 0.0, 0.0),
    Case("trivial", 0.02, 1.0),
    Case("moderate", 0.2, 5.0),
    Case("major", 0.5, 15.0),
)


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return np.asarray(weights / weights.sum())


CAT_0 = np.array([0.35, 0.25, 0.20, 0.12, 0.08])
CATEGORIES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "cat_0": (np.array(["a", "b", "c", "d", "e"]), CAT_0),
    "cat_1": (np.array(["yes", "no"]), np.array([0.7, 0.3])),
    "cat_2": (np.array([f"m{i:02d}" for i in range(12)]), np.full(12, 1 / 12)),
    "cat_3": (np.array([f"region_{i}" for i in range(50)]), _zipf(50, 1.0)),
    "cat_4": (np.array([f"sku_{i:04d}" for i in range(300)]), _zipf(300, 1.1)),
}


def _categorical(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    labels, probs = CATEGORIES[name]
    return np.searchsorted(np.cumsum(probs), rng.random(n), side="right").clip(0, labels.size - 1)


def base_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Unshifted columns: numeric values, and categorical codes into ``CATEGORIES``."""
    zero = rng.random(n) < 0.4
    mode = rng.random(n) < 0.3
    with_nulls = rng.normal(0.0, 1.0, n)
    with_nulls[rng.random(n) < 0.02] = np.nan
    columns: dict[str, np.ndarray] = {
        "num_0": rng.normal(50.0, NUM_0_STD, n),
        "num_1": rng.lognormal(3.0, 0.6, n),
        "num_2": rng.exponential(2.0, n),
        "num_3": rng.uniform(0.0, 100.0, n),
        "num_4": rng.poisson(4.0, n).astype(np.int64),
        "num_5": np.where(zero, 0.0, rng.gamma(2.0, 3.0, n)),
        "num_6": np.where(mode, rng.normal(-2.0, 0.5, n), rng.normal(3.0, 1.0, n)),
        "num_7": rng.standard_t(3.0, n),
        "num_8": rng.beta(2.0, 5.0, n),
        "num_9": with_nulls,
    }
    for name in CATEGORICAL:
        columns[name] = _categorical(rng, name, n)
    return columns


def shifted(
    columns: dict[str, np.ndarray], case: Case, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``columns`` with the case's shift applied to ``num_0`` and ``cat_0``."""
    out = dict(columns)
    if case.std_shift:
        out["num_0"] = columns["num_0"] + case.std_shift * NUM_0_STD
    if case.points:
        codes = columns["cat_0"]
        # a share points/p_a of the rows in "a" move to "b": `points` points in expectation
        move = (codes == 0) & (rng.random(codes.size) < case.points / 100.0 / CAT_0[0])
        out["cat_0"] = np.where(move, 1, codes)
    return out


def to_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """An Arrow table: numeric columns as they are, categorical codes as plain strings."""
    arrays: dict[str, pa.Array] = {name: pa.array(columns[name]) for name in NUMERIC}
    for name in CATEGORICAL:
        labels = pa.array(CATEGORIES[name][0])
        codes = pa.array(columns[name].astype(np.int32))
        arrays[name] = pa.DictionaryArray.from_arrays(codes, labels).cast(pa.string())
    return pa.table(arrays)


def _chunks(rows: int) -> Iterator[int]:
    for start in range(0, rows, CHUNK_ROWS):
        yield min(CHUNK_ROWS, rows - start)


def _complete(path: Path, rows: int) -> bool:
    return path.exists() and pq.ParquetFile(path).metadata.num_rows == rows


def current_path(out: Path, case: str, label: str) -> Path:
    """Where a current window is written."""
    return out / f"current_{case}_{label}.parquet"


def write_reference(out: Path, seed: int) -> Path:
    """The 100k-row reference."""
    path = out / "reference.parquet"
    if not _complete(path, REFERENCE_ROWS):
        rng = np.random.default_rng([seed, 0])
        pq.write_table(to_table(base_columns(rng, REFERENCE_ROWS)), path)
    return path


def write_current(out: Path, label: str, seed: int, cases: Sequence[Case] = CASES) -> list[Path]:
    """The current windows of one size, all cases from the same base draw."""
    rows = SIZES[label]
    todo = [c for c in cases if not _complete(current_path(out, c.name, label), rows)]
    if not todo:
        return [current_path(out, c.name, label) for c in cases]
    schema = to_table(base_columns(np.random.default_rng(0), 1)).schema
    writers = {c.name: pq.ParquetWriter(current_path(out, c.name, label), schema) for c in todo}
    try:
        for index, n in enumerate(_chunks(rows)):
            rng = np.random.default_rng([seed, 1, rows, index])
            base = base_columns(rng, n)
            for case in todo:
                table = to_table(shifted(base, case, np.random.default_rng([seed, 2, index])))
                writers[case.name].write_table(table, row_group_size=CHUNK_ROWS)
    finally:
        for writer in writers.values():
            writer.close()
    return [current_path(out, c.name, label) for c in cases]


def write_census(out: Path) -> list[Path]:
    """The census features: 2015 (reference) and each later year, one file per year."""
    import polars as pl

    from steadyml.datasets import FEATURES, load_employment

    data = load_employment()
    paths = [out / "census_2015.parquet"]
    data.reference.select(FEATURES).write_parquet(paths[0])
    for year in CENSUS_YEARS:
        path = out / f"census_{year}.parquet"
        data.analysis.filter(pl.col("year") == year).select(FEATURES).write_parquet(path)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=20_150)
    parser.add_argument("--no-census", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(write_reference(args.out, args.seed))
    for label in args.sizes:
        for path in write_current(args.out, label, args.seed):
            print(path)
    if not args.no_census:
        for path in write_census(args.out):
            print(path)


if __name__ == "__main__":
    main()
