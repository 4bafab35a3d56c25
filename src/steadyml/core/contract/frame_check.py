"""Validate a whole DataFrame against the contract, vectorized.

Every rule of every column becomes one boolean Polars expression that marks the rows
breaking it. One ``select`` counts them all; a second one, only over the rules that
are broken, collects a few example values. Nothing loops over rows in Python.

For ``null`` violations the examples are row numbers (a null value says nothing);
for every other kind they are the offending values, distinct, in order of appearance.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from steadyml.core.contract.rules import ColumnRule, safe_repr
from steadyml.core.violations import ViolationKind
from steadyml.errors import ContractViolation, DataError

__all__ = ["FrameReport", "Violation", "check_frame"]

_INT_FOR_CATEGORIES = "integer codes are read as their string form"


def jsonable(value: object) -> object:
    """A JSON-safe form of an example value (NaN and infinity become strings)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return safe_repr(value, 200)


@dataclass(frozen=True)
class Violation:
    """One contract rule broken by some rows of a frame.

    Attributes
    ----------
    column
        The column.
    kind
        Which rule.
    count
        How many rows break it (all rows for a missing or unknown column).
    examples
        Up to ``max_examples`` offending values (row numbers for ``null``).
    message
        One sentence naming the column, what is wrong and the fix.
    """

    column: str
    kind: ViolationKind
    count: int
    examples: tuple[object, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The violation as a JSON-ready dict."""
        return {
            "column": self.column,
            "kind": self.kind.value,
            "count": self.count,
            "examples": [jsonable(v) for v in self.examples],
            "message": self.message,
        }


@dataclass(frozen=True)
class FrameReport:
    """Result of validating a frame: the row count and every violation found."""

    rows: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    def summary(self) -> str:
        """One line: how many rules are broken, by which columns, in how many rows."""
        if self.ok:
            return f"{self.rows} rows satisfy the contract"
        parts = [f"{v.column} {v.kind.value} ({v.count} rows)" for v in self.violations[:6]]
        more = len(self.violations) - 6
        tail = f", and {more} more" if more > 0 else ""
        return (
            f"{len(self.violations)} contract rules broken in {self.rows} rows: "
            + ", ".join(parts)
            + tail
        )

    def raise_for_violations(self) -> None:
        """Raise :class:`~steadyml.errors.ContractViolation` when a rule is broken.

        The error's field is the first offending column; ``details['violations']``
        lists every violation.
        """
        if self.ok:
            return
        raise ContractViolation(
            self.violations[0].column,
            fix=self.summary()
            + "; fix the data upstream, or edit the contract if the new values are valid",
            details={"violations": [v.to_dict() for v in self.violations]},
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "rows": self.rows,
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
        }

    def to_markdown(self) -> str:
        """The report as a markdown section with one table row per violation."""
        if self.ok:
            return f"**Contract check passed**: {self.rows} rows, no violation.\n"
        lines = [
            f"**Contract check failed**: {len(self.violations)} violations in {self.rows} rows.",
            "",
            "| column | violation | rows | examples |",
            "|---|---|---:|---|",
        ]
        for v in self.violations:
            examples = ", ".join(safe_repr(e, 40) for e in v.examples).replace("|", "\\|")
            column = v.column.replace("|", "\\|")
            lines.append(f"| {column} | {v.kind.value} | {v.count} | {examples} |")
        return "\n".join(lines) + "\n"


def _dtype_ok(rule: ColumnRule, dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Null):
        return True
    if rule.kind in ("numeric", "integer"):
        return dtype.is_float() or dtype.is_integer() or isinstance(dtype, pl.Decimal)
    if rule.kind == "categorical":
        return isinstance(dtype, pl.String | pl.Categorical | pl.Enum) or dtype.is_integer()
    return isinstance(dtype, pl.Boolean)


@dataclass(frozen=True)
class _Check:
    """One rule on one column: the rows breaking it, and what to show as examples."""

    column: str
    kind: ViolationKind
    rows: pl.Expr
    values: pl.Expr
    tail: str

    def count(self) -> pl.Expr:
        return self.rows.fill_null(value=False).sum()

    def examples(self, limit: int) -> pl.Expr:
        rows = self.rows.fill_null(value=False)
        if self.kind is ViolationKind.NULL:  # a null says nothing: show row numbers
            picked = pl.int_range(pl.len(), dtype=pl.Int64).filter(rows)
        else:
            picked = self.values.filter(rows).unique(maintain_order=True)
        return picked.head(limit).implode()


def _number_checks(rule: ColumnRule, dtype: pl.DataType) -> list[_Check]:
    col = pl.col(rule.name)
    if isinstance(dtype, pl.Decimal):
        col = col.cast(pl.Float64)
    found: list[_Check] = []
    finite = col.is_finite() if dtype.is_float() else col.is_not_null()
    if dtype.is_float():
        found.append(
            _Check(
                rule.name,
                ViolationKind.NOT_FINITE,
                col.is_nan() | col.is_infinite(),
                col,
                "NaN or infinite values; turn NaN into null (fill_nan(None)) or drop them",
            )
        )
        if rule.kind == "integer":
            found.append(
                _Check(
                    rule.name,
                    ViolationKind.WRONG_TYPE,
                    finite & (col != col.floor()),
                    col,
                    "non-integral values in an integer column; round them, or make the "
                    "column numeric in the contract",
                )
            )
    if rule.minimum is None and rule.maximum is None:
        return found
    outside = pl.lit(value=False)
    if rule.minimum is not None:
        outside = outside | (col < rule.minimum)
    if rule.maximum is not None:
        outside = outside | (col > rule.maximum)
    found.append(
        _Check(
            rule.name,
            ViolationKind.OUT_OF_RANGE,
            finite & outside,
            col,
            f"values outside {rule.range_text()}; check them, or widen the range",
        )
    )
    return found


def _checks(rule: ColumnRule, dtype: pl.DataType) -> list[_Check]:
    """Every check of one present column whose dtype fits the rule."""
    col = pl.col(rule.name)
    found: list[_Check] = []
    if not rule.nullable:
        found.append(
            _Check(
                rule.name, ViolationKind.NULL, col.is_null(), col, "null values; fill them upstream"
            )
        )
    if isinstance(dtype, pl.Null):
        return found
    if rule.kind in ("numeric", "integer"):
        found += _number_checks(rule, dtype)
    if rule.kind == "categorical" and rule.categories is not None:
        text = col.cast(pl.String)
        known = pl.Series(values=list(rule.categories), dtype=pl.String).implode()
        note = f" ({_INT_FOR_CATEGORIES})" if dtype.is_integer() else ""
        found.append(
            _Check(
                rule.name,
                ViolationKind.UNSEEN_CATEGORY,
                text.is_not_null() & ~text.is_in(known),
                text,
                f"categories not in the contract{note}; map them upstream, or add them",
            )
        )
    return found


def _column_checks(
    rules: Sequence[ColumnRule], frame: pl.DataFrame, ignore: Collection[str]
) -> tuple[list[Violation], list[_Check]]:
    """Missing columns (known at once), and the checks to run on the frame."""
    rows = frame.height
    schema = frame.schema
    missing: list[Violation] = []
    checks: list[_Check] = []
    for rule in rules:
        if rule.name not in schema:
            if rule.required:
                missing.append(
                    Violation(
                        rule.name,
                        ViolationKind.MISSING,
                        rows,
                        (),
                        f"{rule.name}: required column is missing; add it to the data",
                    )
                )
            continue
        dtype = schema[rule.name]
        if _dtype_ok(rule, dtype):
            checks += _checks(rule, dtype)
        else:
            col = pl.col(rule.name)
            checks.append(
                _Check(
                    rule.name,
                    ViolationKind.WRONG_TYPE,
                    col.is_not_null(),
                    col,
                    f"dtype {dtype} where the contract expects {rule.expected_text()}; "
                    "cast the column upstream or in the feature transform",
                )
            )
    known = {rule.name for rule in rules}
    for name in frame.columns:
        if name not in known and name not in ignore:
            checks.append(
                _Check(
                    name,
                    ViolationKind.UNKNOWN_COLUMN,
                    pl.lit(value=True),
                    pl.col(name),
                    "column not in the contract; drop it, or add it to the contract",
                )
            )
    return missing, checks


def check_frame(
    rules: Sequence[ColumnRule],
    frame: pl.DataFrame,
    *,
    max_examples: int = 5,
    ignore: Collection[str] = (),
) -> FrameReport:
    """Check every rule against ``frame``; see :meth:`Contract.validate_frame`."""
    if not isinstance(frame, pl.DataFrame):
        raise DataError("frame", type(frame).__name__, "pass a polars DataFrame")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise DataError("max_examples", max_examples, "use an integer >= 0")
    rows = frame.height
    violations, checks = _column_checks(rules, frame, ignore)
    if not checks:
        return FrameReport(rows=rows, violations=tuple(violations))
    counts = frame.select([check.count().alias(str(i)) for i, check in enumerate(checks)]).row(0)
    failing = [i for i, n in enumerate(counts) if n]
    samples: tuple[Any, ...] = ()
    if failing and max_examples > 0:
        samples = frame.select(
            [checks[i].examples(max_examples).alias(str(i)) for i in failing]
        ).row(0)
    for j, i in enumerate(failing):
        check = checks[i]
        examples = tuple(samples[j]) if samples else ()
        if check.kind is ViolationKind.UNKNOWN_COLUMN:
            violation = Violation(
                check.column, check.kind, rows, examples, f"{check.column}: {check.tail}"
            )
        else:
            count = int(counts[i])
            message = f"{check.column}: {count} of {rows} rows have {check.tail}"
            violation = Violation(check.column, check.kind, count, examples, message)
        violations.append(violation)
    return FrameReport(rows=rows, violations=tuple(violations))
