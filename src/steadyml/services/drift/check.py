"""The drift use case: profile a reference and a current table, optionally per time window,
and compare them feature by feature.

Both tables are read in batches (memory flat in rows). The reference is a file or frame
(profiled in two passes: bin edges, then counts), a :class:`ProfileView`, or - with a
spec - a model version's stored reference profile (``champion``, ``candidate``, ``3``),
in which case the current rows are scored by that version for prediction drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from steadyml.core.drift import CompareSettings, DatasetDriftResult, Tolerance, compare
from steadyml.core.profiles import ColumnKind, Profile, ProfileView, reference_from_batches
from steadyml.errors import ConfigError, DataError
from steadyml.services.drift.columns import ColumnChoice, choose_columns, spec_contract
from steadyml.services.drift.reference import (
    PREDICTION_COLUMN,
    BatchScorer,
    ModelReference,
    load_model_reference,
    model_reference_name,
)
from steadyml.services.drift.result import DriftCheck, WindowDrift
from steadyml.services.drift.sources import DEFAULT_BATCH_ROWS, TableSource, open_table
from steadyml.services.drift.windows import TimeWindows, WindowView, parse_window
from steadyml.spec import ServiceSpec

if TYPE_CHECKING:  # the registry (MLflow) is imported only when a model is the reference
    from steadyml.services.workspace import Workspace

__all__ = ["IN_MEMORY_REFERENCE_CELLS", "DriftProgress", "ProgressCallback", "check_drift"]

IN_MEMORY_REFERENCE_CELLS = 20_000_000
"""A reference of at most this many rows x columns is profiled in memory, with exact
quantile bin edges (reproducible); a larger one in two passes, with edges from a quantile
sketch (memory flat in rows, edges within the sketch's error)."""


@dataclass(frozen=True)
class DriftProgress:
    """Where a drift check is: ``rows`` of ``total`` read (``total`` None if unknown)."""

    stage: str
    rows: int
    total: int | None


ProgressCallback = Callable[[DriftProgress], None]


class _Meter:
    def __init__(self, callback: ProgressCallback | None, total: int | None) -> None:
        self.callback = callback
        self.total = total
        self.rows = 0

    def stage(self, name: str) -> None:
        if self.callback is not None:
            self.callback(DriftProgress(name, self.rows, self.total))

    def track(self, batches: Iterator[pa.Table], stage: str) -> Iterator[pa.Table]:
        self.stage(stage)
        for batch in batches:
            yield batch
            self.rows += batch.num_rows
            self.stage(stage)


def _decision_settings(
    spec: ServiceSpec | None, tolerance: Tolerance | None, settings: CompareSettings | None
) -> tuple[Tolerance, CompareSettings]:
    if spec is None:
        return tolerance or Tolerance(), settings or CompareSettings()
    monitors = spec.monitors
    return (
        tolerance or Tolerance(monitors.drift_warn, monitors.drift_alarm, monitors.drift_metric),
        settings or CompareSettings(false_alarm_rate=monitors.false_alarm_rate),
    )


def _windowing(
    spec: ServiceSpec | None, time_column: str | None, window: str | timedelta | None
) -> tuple[str | None, timedelta | None]:
    if window is None:
        if time_column is not None:
            raise ConfigError("--window", None, "--time-column needs a window width, e.g. 1h")
        return None, None
    width = parse_window(window)
    column = time_column or (spec.data.time_column if spec is not None else None)
    if column is None:
        raise ConfigError(
            "--time-column", None, "--window needs the time column (or data.time_column)"
        )
    return column, width


def _model(
    reference: object, spec: ServiceSpec | None, workspace: Workspace | None, stack: ExitStack
) -> ModelReference | None:
    if isinstance(reference, bool) or not isinstance(reference, str | int):
        return None
    if isinstance(reference, str) and Path(reference).expanduser().exists():
        return None
    which = reference if isinstance(reference, int) else model_reference_name(reference)
    if which is None:
        return None
    if workspace is None:
        from steadyml.services.workspace import Workspace

        if spec is None:
            raise ConfigError(
                "REFERENCE",
                reference,
                "a model version as reference needs the service spec (--spec steadyml.yaml)",
            )
        workspace = stack.enter_context(Workspace.open(spec))
    return load_model_reference(workspace, which)


def check_drift(
    reference: object,
    current: object,
    *,
    spec: ServiceSpec | None = None,
    workspace: Workspace | None = None,
    columns: Sequence[str] | None = None,
    time_column: str | None = None,
    window: str | timedelta | None = None,
    tolerance: Tolerance | None = None,
    settings: CompareSettings | None = None,
    progress: ProgressCallback | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    seed: int = 0,
) -> DriftCheck:
    """Compare ``current`` with ``reference``, over the whole period and per window.

    Parameters
    ----------
    reference
        A Parquet/CSV path or Parquet folder, a Polars or Arrow table, a
        :class:`ProfileView`, or with ``spec`` a model alias (``"champion"``,
        ``"candidate"``, ...) or version (``3``, ``"v3"``).
    current
        A Parquet/CSV path or Parquet folder, or a Polars or Arrow table.
    spec
        The service spec: its features are compared (target, id and time columns never
        are), its ``monitors`` give the tolerances and false-alarm rate.
    workspace
        An open workspace (for model references); default: opened from ``spec``.
    columns
        Compare exactly these columns.
    time_column, window
        Also compare each tumbling window (``"1h"``) of event time.
    tolerance, settings
        Decision tolerances and settings (default: the spec's, else the documented ones).
    progress
        Called with a :class:`DriftProgress` after each batch read.
    batch_rows
        Rows per batch; memory is proportional to it, not to the tables.
    seed
        Seed of row samples and calibration (same inputs and seed, same result).

    Returns
    -------
    DriftCheck
        Bad data (empty tables, missing columns, wrong types, all-null columns, unseen
        categories, infinities, a tiny reference) ends in a status with a message.

    Raises
    ------
    SteadyError
        For what the user must fix: a missing file, an unknown column or alias, a bad
        window width.
    """
    started = time.perf_counter()
    time_column, width = _windowing(spec, time_column, window)
    tolerance, settings = _decision_settings(spec, tolerance, settings)
    with ExitStack() as stack:
        model = _model(reference, spec, workspace, stack)
        ref = _open_reference(reference, model, spec)
        cur_source = open_table(current, field_name="current", text_columns=ref.text_columns)
        choice = choose_columns(
            ref.schema,
            cur_source.names,
            columns=columns,
            spec=spec if ref.source is not None else None,
            time_column=time_column,
            categorical=ref.text_columns,
            expected=None if ref.view is None else ref.view.schema.names,
        )
        meter = _Meter(progress, _total(ref.source, cur_source, len(choice.columns)))
        ref_view = ref.view or _profile_reference(ref.source, choice, meter, batch_rows, seed)
        scorer = None
        if model is not None and PREDICTION_COLUMN in ref_view.schema:
            scorer = BatchScorer(model)
        wanted = [*choice.columns, *(scorer.features if scorer else ())]
        wanted += [c for c in (time_column, PREDICTION_COLUMN) if c is not None]
        batches = meter.track(
            cur_source.batches(list(dict.fromkeys(wanted)), batch_rows), "current"
        )
        if scorer is not None:
            batches = (scorer(b) for b in batches)
        if time_column is not None and width is not None:
            cur_view, views, notes = _profile_windows(ref_view, batches, time_column, width, seed)
        else:
            profile = ref_view.new_profile(seed=seed + 1)
            for batch in batches:
                profile.update(batch)
            cur_view, views, notes = profile.view(), [], []
        compared, skipped = list(choice.columns), list(choice.skipped)
        if scorer is not None and scorer.problem is not None and PREDICTION_COLUMN in compared:
            compared.remove(PREDICTION_COLUMN)
            skipped.append((PREDICTION_COLUMN, scorer.problem))
        meter.stage("comparing")

        def decide(view: ProfileView) -> DatasetDriftResult:
            return compare(
                ref_view, view, columns=compared, default_tolerance=tolerance, settings=settings
            )

        overall = decide(cur_view)
        window_results = tuple(WindowDrift(w.start, w.end, decide(w.view)) for w in views)
    return DriftCheck(
        reference=ref.label,
        current=cur_source.label,
        result=overall,
        windows=window_results,
        time_column=time_column,
        window=width,
        skipped=tuple(skipped),
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class _Reference:
    label: str
    schema: pa.Schema
    text_columns: tuple[str, ...]
    view: ProfileView | None = None
    source: TableSource | None = None


def _open_reference(
    reference: object, model: ModelReference | None, spec: ServiceSpec | None
) -> _Reference:
    if model is not None or isinstance(reference, ProfileView):
        view = model.view if model is not None else reference
        if not isinstance(view, ProfileView):  # pragma: no cover - one of the two above
            raise ConfigError("reference", type(reference).__name__, "give a ProfileView")
        label = f"model {model.label}" if model is not None else "reference profile"
        text = tuple(c.name for c in view.schema.columns if c.kind is ColumnKind.CATEGORICAL)
        return _Reference(label, _view_schema(view), text, view=view)
    contract = spec_contract(spec) if spec is not None else None
    text = (
        ()
        if contract is None
        else tuple(r.name for r in contract.columns if r.kind == "categorical")
    )
    source = open_table(reference, field_name="reference", text_columns=text)
    if not source.names:
        raise DataError(
            "reference", source.label, "the file is empty (no columns); give the reference data"
        )
    return _Reference(source.label, source.schema, text, source=source)


def _view_schema(view: ProfileView) -> pa.Schema:
    types = {"numeric": pa.float64(), "categorical": pa.string()}
    return pa.schema([(c.name, types[c.kind.value]) for c in view.schema.columns])


def _in_memory(source: TableSource, columns: int) -> bool:
    return source.rows is not None and source.rows * max(columns, 1) <= IN_MEMORY_REFERENCE_CELLS


def _total(reference: TableSource | None, current: TableSource, columns: int) -> int | None:
    if reference is None:
        return current.rows
    if current.rows is None or reference.rows is None:
        return None
    return current.rows + reference.rows * (1 if _in_memory(reference, columns) else 2)


def _profile_reference(
    source: TableSource | None,
    choice: ColumnChoice,
    meter: _Meter,
    batch_rows: int,
    seed: int,
) -> ProfileView:
    if source is None:  # pragma: no cover - a reference is a view or a source
        raise ConfigError("reference", None, "give a reference table or profile")
    if _in_memory(source, len(choice.columns)):
        # exact quantile edges: the same reference file always gets the same bins
        parts = list(meter.track(source.batches(choice.columns, batch_rows), "reference"))
        table = pa.concat_tables(parts, promote_options="default")
        profile = Profile.for_reference(
            table, choice.columns, categorical=choice.categorical, seed=seed
        )
        return profile.view()
    passes = iter(("reference: bin edges", "reference: profile"))

    def batches() -> Iterator[pa.Table]:
        return meter.track(source.batches(choice.columns, batch_rows), next(passes, "reference"))

    return reference_from_batches(
        batches, choice.columns, categorical=choice.categorical, seed=seed
    )


def _profile_windows(
    reference: ProfileView,
    batches: Iterator[pa.Table],
    time_column: str,
    width: timedelta,
    seed: int,
) -> tuple[ProfileView, list[WindowView], list[str]]:
    windows = TimeWindows(reference, time_column, width, seed=seed + 1)
    for batch in batches:
        windows.update(batch)
    views = windows.windows()
    whole = windows.untimed.view()
    for part in views:
        whole = whole.merge(part.view)
    notes = []
    if windows.untimed.rows:
        notes.append(
            f"{windows.untimed.rows:,} current rows have no usable time in {time_column!r}; "
            "they count in the whole-period comparison only"
        )
    return whole, views, notes
