"""steadyml: profile both Parquet files in chunks, then compare the profiles.

As a user would from files: ``profile_parquet`` on the reference (two passes: bin
edges, then profile), ``profile_parquet`` on the current file on the reference's bins,
and ``compare`` with the default tolerances. Decisions are the statuses ``ok``,
``warn``, ``drift`` (or ``insufficient_data`` / ``schema_mismatch``).

steadyml imports ``scipy.stats`` on first use (for the KS distribution); it is imported
here with the other libraries, as the scipy runner does, so that ``wall_s`` measures the
work in a process that has its libraries loaded (a monitor, a server) and ``startup_s``
the loading. The whole process is timed from outside as well.
"""

from __future__ import annotations

import scipy.stats  # noqa: F401  # see the module docstring
from bench_common import Stopwatch, emit, parse_job

import steadyml
from steadyml.adapters.profile_files import profile_parquet
from steadyml.core.drift import compare


def main() -> None:
    """Run one comparison and print its JSON line."""
    job = parse_job()
    watch = Stopwatch()
    reference = profile_parquet(job.reference, seed=0)
    profiled_reference = watch.elapsed()
    current = profile_parquet(job.current, reference, seed=1)
    profiled_current = watch.elapsed()
    result = compare(reference, current)
    emit(
        "steadyml",
        steadyml.__version__,
        job,
        watch,
        decisions={r.feature: r.status.value for r in result.features},
        scores={
            r.feature: {
                "tvd": r.effect,
                "psi": r.statistics.get("psi"),
                "min_detectable_shift": r.min_detectable_shift,
            }
            for r in result.features
        },
        phases_s={
            "profile_reference": round(profiled_reference, 4),
            "profile_current": round(profiled_current - profiled_reference, 4),
            "compare": round(watch.elapsed() - profiled_current, 4),
        },
    )


if __name__ == "__main__":
    main()
