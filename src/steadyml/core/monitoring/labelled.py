"""Mergeable summaries of labels and business outcomes joined to one window's predictions.

Labels arrive late and a few at a time, so each batch joined to its predictions (by
request id) becomes a :class:`LabelSummary` of the *prediction's* window, merged into
what earlier batches left: label count, label delay, and per slice either score
histograms per class (binary) or error sums (regression; hits for multiclass). Outcome
events (a conversion) become an :class:`OutcomeSummary`: event count and value sums.

Examples
--------
>>> import polars as pl
>>> rows = pl.DataFrame({"prediction": [0.9, 0.2, 0.7], "value": [1.0, 0.0, 0.0],
...                      "delay_s": [60.0, 60.0, 120.0]})
>>> s = label_summary(rows, "binary_classification", classes=("0", "1"))
>>> s.labelled, s.groups[""]["pos"].total
(3, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.monitoring.scores import EDGES, N_BINS, ErrorSums, ScoreHistogram
from steadyml.core.monitoring.summary import LAG_EDGES, numeric_summary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.spec import Task

__all__ = ["MAX_SLICE_VALUES", "LabelSummary", "OutcomeSummary", "label_summary", "label_targets"]

MAX_SLICE_VALUES = 50
OVERALL = ""
Group = dict[str, Any]


def _merge_group(a: Group, b: Group) -> Group:
    return {key: a[key].merge(b[key]) if key in a else b[key] for key in {*a, *b}}


@dataclass(frozen=True, eq=False)
class LabelSummary:
    """Labels joined to one window's predictions.

    Attributes
    ----------
    labelled
        Predictions with a valid label.
    invalid
        Labels of the wrong type or an unknown class (skipped and counted).
    delay
        Seconds from the prediction's event time to the label's arrival.
    groups
        ``""`` (all rows) and ``"<slice column>=<value>"`` to ``{"neg", "pos"}``
        score histograms (binary) or ``{"errors"}`` sums (regression, multiclass).
    """

    labelled: int
    invalid: int
    delay: NumericSummary
    groups: Mapping[str, Group]

    def merge(self, other: LabelSummary) -> LabelSummary:
        """Both batches together."""
        groups = dict(self.groups)
        for key, group in other.groups.items():
            groups[key] = _merge_group(groups[key], group) if key in groups else group
        return LabelSummary(
            self.labelled + other.labelled,
            self.invalid + other.invalid,
            self.delay.merge(other.delay),
            groups,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping."""
        return {
            "labelled": self.labelled,
            "invalid": self.invalid,
            "delay": self.delay.to_dict(),
            "groups": {k: {n: p.to_dict() for n, p in g.items()} for k, g in self.groups.items()},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LabelSummary:
        """Inverse of :meth:`to_dict`."""
        groups: dict[str, Group] = {}
        for key, parts in raw["groups"].items():
            groups[str(key)] = {
                name: ErrorSums.from_dict(body)
                if name == "errors"
                else ScoreHistogram.from_dict(body)
                for name, body in parts.items()
            }
        return cls(
            int(raw["labelled"]),
            int(raw["invalid"]),
            NumericSummary.from_dict(raw["delay"]),
            groups,
        )


@dataclass(frozen=True)
class OutcomeSummary:
    """Outcome events (one business KPI) joined to one window's predictions."""

    events: int = 0
    value_sum: float = 0.0
    value_sq_sum: float = 0.0

    @classmethod
    def of(cls, values: object) -> OutcomeSummary:
        """Summary of the finite event values."""
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        array = array[np.isfinite(array)]
        return cls(int(array.size), float(array.sum()), float((array * array).sum()))

    def merge(self, other: OutcomeSummary) -> OutcomeSummary:
        """Both together."""
        return OutcomeSummary(
            self.events + other.events,
            self.value_sum + other.value_sum,
            self.value_sq_sum + other.value_sq_sum,
        )

    def to_dict(self) -> dict[str, float]:
        """A JSON-safe mapping."""
        return {
            "events": self.events,
            "value_sum": self.value_sum,
            "value_sq_sum": self.value_sq_sum,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> OutcomeSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(int(raw["events"]), float(raw["value_sum"]), float(raw["value_sq_sum"]))


def _binary_labels(frame: pl.DataFrame, classes: Sequence[str]) -> pl.Series:
    value = frame.get_column("value") if "value" in frame.columns else None
    text = frame.get_column("value_str").cast(pl.String) if "value_str" in frame.columns else None
    label = pl.Series("y", [None] * frame.height, dtype=pl.Float64)
    if text is not None and len(classes) == 2:
        from_text = (
            pl.when(text == classes[1]).then(1.0).when(text == classes[0]).then(0.0).otherwise(None)
        )
        label = frame.select(from_text.alias("y")).get_column("y")
    if value is not None:
        valid = value.is_in([0.0, 1.0]).fill_null(False)
        label = pl.select(pl.when(valid).then(value).otherwise(label).alias("y")).get_column("y")
    return label


def _class_names(frame: pl.DataFrame) -> pl.Series:
    text = frame.get_column("value_str").cast(pl.String) if "value_str" in frame.columns else None
    number = frame.get_column("value") if "value" in frame.columns else None
    # a class sent as a number (2 for class "2") counts where no name was sent
    from_number = None
    if number is not None:
        whole = number.cast(pl.Float64).round(0) == number.cast(pl.Float64)
        as_int = number.cast(pl.Float64).cast(pl.Int64, strict=False).cast(pl.String)
        from_number = pl.select(pl.when(whole).then(as_int).otherwise(None)).to_series()
    if text is None:
        text = from_number
    elif from_number is not None:
        text = text.fill_null(from_number)
    return text if text is not None else pl.Series("y", [None] * frame.height, dtype=pl.String)


def label_targets(frame: pl.DataFrame, task: Task | str, classes: Sequence[str]) -> pl.Series:
    """The training target of each feedback label, read as monitoring reads it.

    Parameters
    ----------
    frame
        Feedback rows with ``value`` (number) and/or ``value_str`` (class name).
    task
        The model's task.
    classes
        Class names in the model's order (binary: negative, positive).

    Returns
    -------
    polars.Series
        Named ``target``: the class name (a string) for classifiers, the value for
        regression; null where the label is not one of the classes or not a number.

    Examples
    --------
    >>> rows = pl.DataFrame({"value": [1.0, 0.0, 7.0], "value_str": [None, None, None]})
    >>> label_targets(rows, "binary_classification", ("no", "yes")).to_list()
    ['yes', 'no', None]
    """
    task = Task(task)
    if task is Task.REGRESSION:
        if "value" not in frame.columns:
            return pl.Series("target", [None] * frame.height, dtype=pl.Float64)
        value = frame.get_column("value").cast(pl.Float64)
        return pl.select(
            pl.when(value.is_finite()).then(value).otherwise(None).alias("target")
        ).to_series()
    if task is Task.BINARY:
        y = _binary_labels(frame, classes)
        negative, positive = classes
        names = pl.when(y == 1.0).then(pl.lit(positive)).when(y == 0.0).then(pl.lit(negative))
        return pl.select(names.otherwise(None).cast(pl.String).alias("target")).to_series()
    text = _class_names(frame)
    known = text.is_in(list(classes)).fill_null(False)
    return pl.select(pl.when(known).then(text).otherwise(None).alias("target")).to_series()


def _slice_keys(frame: pl.DataFrame, column: str) -> pl.Series:
    values = frame.get_column(column).cast(pl.String).fill_null("null")
    top = values.value_counts(sort=True).head(MAX_SLICE_VALUES).get_column(column).to_list()
    kept = values.is_in(top)
    return pl.select(
        pl.when(kept).then(pl.lit(f"{column}=") + values).otherwise(pl.lit(f"{column}=(other)"))
    ).to_series()


def _binary_groups(score: np.ndarray, y: np.ndarray, keys: np.ndarray) -> dict[str, Group]:
    names, codes = np.unique(keys, return_inverse=True)
    index = np.searchsorted(EDGES, score, side="right")
    cell = (codes * 2 + y.astype(np.int64)) * N_BINS + index
    size = names.size * 2 * N_BINS
    counts = np.bincount(cell, minlength=size).reshape(names.size, 2, N_BINS)
    sums = np.bincount(cell, weights=score, minlength=size).reshape(names.size, 2, N_BINS)
    return {
        str(name): {
            "neg": ScoreHistogram(counts[i, 0].astype(np.int64), sums[i, 0]),
            "pos": ScoreHistogram(counts[i, 1].astype(np.int64), sums[i, 1]),
        }
        for i, name in enumerate(names.tolist())
    }


def label_summary(
    frame: pl.DataFrame,
    task: Task | str,
    *,
    classes: Sequence[str] = (),
    slices: Sequence[str] = (),
) -> LabelSummary:
    """Summarise labelled predictions of one window.

    Parameters
    ----------
    frame
        One row per labelled prediction: ``prediction`` (and ``label_class`` for
        multiclass), the label as ``value`` (number) and/or ``value_str`` (class name),
        ``delay_s``, and the slice columns.
    task
        The model's task.
    classes
        Class names in the model's order (binary: negative, positive).
    slices
        Columns whose values define slices.
    """
    task = Task(task)
    if task is Task.BINARY:
        y = _binary_labels(frame, classes)
        score = frame.get_column("prediction").cast(pl.Float64)
        valid = y.is_not_null() & score.is_finite().fill_null(False) & score.is_between(0, 1)
    elif task is Task.REGRESSION:
        y = (
            frame.get_column("value").cast(pl.Float64)
            if "value" in frame.columns
            else pl.Series("y", [None] * frame.height, dtype=pl.Float64)
        )
        score = frame.get_column("prediction").cast(pl.Float64)
        valid = y.is_finite().fill_null(False) & score.is_finite().fill_null(False)
    else:
        y = _class_names(frame)
        score = frame.get_column("label_class").cast(pl.String)
        valid = y.is_in(list(classes)).fill_null(False) & score.is_not_null()
    keep = frame.filter(valid)
    y_kept, score_kept = y.filter(valid), score.filter(valid)
    delays = (
        keep.get_column("delay_s") if "delay_s" in keep.columns else pl.Series([], dtype=pl.Float64)
    )
    delay = numeric_summary(delays, LAG_EDGES)
    key_columns = [np.full(keep.height, OVERALL, dtype=object)]
    key_columns += [_slice_keys(keep, c).to_numpy() for c in slices if c in keep.columns]
    groups: dict[str, Group] = {}
    for keys in key_columns:
        if task is Task.BINARY:
            found = _binary_groups(score_kept.to_numpy(), y_kept.to_numpy(), keys.astype(str))
        else:
            found = _error_groups(task, score_kept, y_kept, keys.astype(str))
        groups.update(found)
    return LabelSummary(keep.height, frame.height - keep.height, delay, groups)


def _error_groups(task: Task, score: pl.Series, y: pl.Series, keys: np.ndarray) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    if task is Task.MULTICLASS:
        miss = (score != y).cast(pl.Float64).to_numpy()
        pred, true = miss, np.zeros(miss.size)
    else:
        pred, true = score.to_numpy(), y.to_numpy()
    for name in np.unique(keys).tolist():
        rows = keys == name
        groups[str(name)] = {"errors": ErrorSums.of(pred[rows], true[rows])}
    return groups
