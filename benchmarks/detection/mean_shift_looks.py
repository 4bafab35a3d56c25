"""Every look the monitor takes at a 5-minute window's mean, on clean, trivial and ramping traffic.

The default rule ``feature_mean_shift`` warns when the lower bound of a numeric feature's
mean shift (in reference standard deviations) reaches ``monitors.mean_shift_warn``. The
monitor checks each 5-minute window once a simulated minute while it fills, so one window
is looked at on 1, 2, ... 5 minutes of rows. This script replays the census age column
as the simulator does (2016-2018 rows shuffled, 1,597 requests a minute at 2.3M a day)
and applies the rule's arithmetic to every such look:

* clean traffic for a week (several shuffles): windows whose bound ever reached the
  threshold, and the largest point estimate;
* the trivial shift (+-0.02 std) for a day: the same count;
* the gradual drift of ``covariate-shift-gradual.yaml`` (+0.5 std and x1.3 spread over two
  hours): the first minute a look breaches.

    uv run python benchmarks/detection/mean_shift_looks.py [--days 7] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from scipy.stats import norm

from steadyml.datasets import load_employment

PER_MINUTE = 1597  # 2.3M requests a day
WINDOW_MINUTES = 5
THRESHOLDS = (0.03, 0.04, 0.05)
FALSE_ALARM_RATE = 0.001


class Looks:
    """The rule's arithmetic on the age column, against the 2015 reference."""

    def __init__(self) -> None:
        data = load_employment()
        reference = data.reference.get_column("AGEP").cast(float).to_numpy()
        self.analysis = data.analysis.get_column("AGEP").cast(float).to_numpy()
        self.mean = reference.mean()
        self.spread = reference.std(ddof=1)
        self.reference_term = reference.var(ddof=1) / reference.size
        self.z = float(norm.isf(FALSE_ALARM_RATE / 2))

    def stream(self, minutes: int, seed: int) -> np.ndarray:
        """Ages in arrival order: the analysis rows shuffled once, repeated as needed."""
        order = np.random.default_rng(seed).permutation(self.analysis.size)
        rows = minutes * PER_MINUTE
        return np.resize(self.analysis[order], rows)

    def lower_bounds(self, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """|Mean shift| and its lower bound: a row per window, a column per look (minute)."""
        minutes = ages.size // PER_MINUTE
        windows = minutes // WINDOW_MINUTES
        per_minute = ages[: windows * WINDOW_MINUTES * PER_MINUTE].reshape(
            windows, WINDOW_MINUTES, PER_MINUTE
        )
        sums = per_minute.sum(axis=2).cumsum(axis=1)
        squares = (per_minute**2).sum(axis=2).cumsum(axis=1)
        n = np.arange(1, WINDOW_MINUTES + 1) * PER_MINUTE
        mean = sums / n
        variance = (squares - n * mean**2) / (n - 1)
        error = np.sqrt(variance / n + self.reference_term) / self.spread
        size = np.abs(mean - self.mean) / self.spread
        return size, size - self.z * error


def breaching_windows(bounds: np.ndarray) -> dict[float, int]:
    return {t: int((bounds >= t).any(axis=1).sum()) for t in THRESHOLDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    looks = Looks()
    print(f"z = {looks.z:.3f} (false-alarm rate {FALSE_ALARM_RATE}, one numeric feature)")
    for seed in range(args.seeds):
        size, bounds = looks.lower_bounds(looks.stream(args.days * 1440, seed))
        complete = size[:, -1]
        print(
            f"clean, {args.days} days, shuffle {seed}: {complete.size} windows, "
            f"{complete.size * WINDOW_MINUTES} looks; "
            f"windows breaching {breaching_windows(bounds)}; complete windows' |shift| "
            f"median {np.median(complete):.3f}, max {complete.max():.3f}"
        )
    for seed in range(args.seeds):
        for shift in (0.02, -0.02):
            ages = looks.stream(1440, seed) + shift * looks.spread
            _, bounds = looks.lower_bounds(ages)
            print(
                f"trivial {shift:+} std, 1 day, shuffle {seed}: "
                f"windows breaching {breaching_windows(bounds)}"
            )
    first: dict[float, list[int]] = {t: [] for t in THRESHOLDS}
    for seed in range(max(args.seeds, 5)):
        ages = looks.stream(60, seed)
        progress = np.minimum(np.arange(ages.size) / PER_MINUTE / 120, 1.0)
        moved = (ages - looks.mean) * (1 + 0.3 * progress) + looks.mean
        moved = np.round(moved + 0.5 * looks.spread * progress)
        _, bounds = looks.lower_bounds(moved)
        for threshold in THRESHOLDS:
            hits = np.argwhere(bounds >= threshold)
            minute = int(min(w * WINDOW_MINUTES + k + 1 for w, k in hits)) if hits.size else None
            if minute is not None:
                first[threshold].append(minute)
    for threshold, minutes in first.items():
        median = statistics.median(minutes) if minutes else None
        print(
            f"gradual drift, threshold {threshold}: first breaching look at {minutes} "
            f"minutes after the onset (median {median})"
        )


if __name__ == "__main__":
    main()
